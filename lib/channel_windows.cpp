// SPDX-License-Identifier: BSL-1.0
// mpdecor: the child's channel on Windows.
#include "config.hpp"

#if defined(MPDECOR_WINDOWS)

#include "channel.hpp"
#include "protocol.hpp"
#include "stack_trace.hpp"

#include <boost/config.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <windows.h>
#include <shellapi.h>

namespace mpdecor::detail {
namespace {

// The values of the handles the child inherited (lib/launch_windows.cpp), in decimal.
bool parse_handle(std::string_view text, native_channel& handle) {
  std::uintptr_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0)
    return false;
  handle = static_cast<native_channel>(value);
  return true;
}

HANDLE as_handle(native_channel handle) { return reinterpret_cast<HANDLE>(handle); }

// An open handle of a file, pipe or console: a pseudo-handle (of this process or thread)
// or the handle of a process, thread or event is none of them.
bool is_open(native_channel handle) {
  DWORD flags = 0;
  if (!::GetHandleInformation(as_handle(handle), &flags))
    return false;
  ::SetLastError(NO_ERROR);
  return ::GetFileType(as_handle(handle)) != FILE_TYPE_UNKNOWN || ::GetLastError() == NO_ERROR;
}

// The handle was inherited on purpose; nothing this child starts may inherit it in turn,
// or the parent would not see the channel close when the child ends.
void keep_private(native_channel handle) {
  ::SetHandleInformation(as_handle(handle), HANDLE_FLAG_INHERIT, 0);
}

std::system_error last_error(const char* what) {
  return std::system_error(static_cast<int>(::GetLastError()), std::system_category(), what);
}

// The crash report (report_crashes_to): where it goes, whether a frame is being sent (a
// report then would land inside it), and room for the report, reserved before any crash.
std::atomic<native_channel> crash_channel{};
std::atomic<bool> crash_channel_set{false};
std::atomic<bool> sending{false};
char crash_frame[frame_header_size + sizeof(std::int32_t) + 4096];
// A worker's replies held back (hold_replies): a whole frame.
std::atomic<const char*> held_data{nullptr};
std::atomic<std::size_t> held_size{0};

bool send_raw(const char* data, std::size_t size) noexcept {
  while (size > 0) {
    DWORD written = 0;
    const auto chunk = static_cast<DWORD>(std::min<std::size_t>(size, 1U << 30));
    if (!::WriteFile(as_handle(crash_channel.load()), data, chunk, &written, nullptr))
      return false;
    data += written;
    size -= written;
  }
  return true;
}

// Sends the replies held, if any; true when there were.
bool send_held() noexcept {
  const char* data = held_data.exchange(nullptr);
  if (data != nullptr)
    send_raw(data, held_size.load());
  return data != nullptr;
}

// Sends the parent a crash_signal frame: `number`, then the stack (of `context`, the
// exception's, or else the caller's). One write of a few kilobytes, which the channel's
// pipe takes whole while the parent reads. Not inlined: the trace skips its frame.
BOOST_NOINLINE void report_crash(std::int32_t number, const void* context) noexcept {
  if (!crash_channel_set.load() || sending.exchange(true))
    return;
  // The replies of the chunk's tasks that finished first, then the crash.
  send_held();
  std::memcpy(crash_frame + frame_header_size, &number, sizeof number);
  const std::size_t body =
      sizeof number + encode_crash_trace(crash_frame + frame_header_size + sizeof number,
                                         sizeof crash_frame - frame_header_size - sizeof number,
                                         context);
  write_frame_header(crash_frame, frame_kind::crash_signal, body);
  DWORD written = 0;
  ::WriteFile(as_handle(crash_channel.load()), crash_frame,
              static_cast<DWORD>(frame_header_size + body), &written, nullptr);
}

void end_on_abort(int) {
  report_crash(SIGABRT, nullptr);
  // 0xC0000409 (STATUS_STACK_BUFFER_OVERRUN) is how Microsoft's C runtime ends a program
  // that calls abort() (through __fastfail); the parent reports it as a crash.
  ::TerminateProcess(::GetCurrentProcess(), 0xC0000409U);
}

LPTOP_LEVEL_EXCEPTION_FILTER runtime_filter = nullptr;

// Last in line for an exception nothing handled: ends the child with the exception code
// as its exit status, before Windows Error Reporting or a debugger (Wine starts winedbg)
// can hold it up; Wine ends a process whose stack overflowed with exit code 0 otherwise.
LONG WINAPI end_on_crash(EXCEPTION_POINTERS* exception) {
  // MinGW's C runtime installed its filter first: it calls the program's signal()
  // handlers (SIGSEGV, SIGFPE, SIGILL) for the exceptions they stand for.
  if (runtime_filter != nullptr) {
    const LONG verdict = runtime_filter(exception);
    if (verdict != EXCEPTION_CONTINUE_SEARCH)
      return verdict;
  }
  // A stack that overflowed has no room left to walk it on.
  if (exception->ExceptionRecord->ExceptionCode != EXCEPTION_STACK_OVERFLOW)
    report_crash(static_cast<std::int32_t>(exception->ExceptionRecord->ExceptionCode),
                 exception->ContextRecord);
  ::TerminateProcess(::GetCurrentProcess(), exception->ExceptionRecord->ExceptionCode);
  return EXCEPTION_EXECUTE_HANDLER;
}

} // namespace

// The Job Object ends a Windows child with its parent; nothing else records it.
// The Job Object with kill-on-close ends the child with its parent.
void watch_parent(native_channel) noexcept {}
void mark_dies_with_parent() noexcept {}

bool end_tree_with_parent(long) noexcept { return false; }

void report_crashes_to(native_channel out) noexcept {
  crash_channel = out;
  crash_channel_set = true;
}

void prepare_child_process(bool) noexcept {
  // No dialog for a crash or a missing drive: nobody is there to answer it.
  ::SetErrorMode(::GetErrorMode() | SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
  runtime_filter = ::SetUnhandledExceptionFilter(end_on_crash);
  // MinGW's C runtime (msvcrt) ends a program that calls abort(), and std::terminate with
  // it, with exit code 3, which the parent could not tell from exit(3).
  std::signal(SIGABRT, end_on_abort);
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  int count = 0;
  LPWSTR* wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (wide == nullptr || count != argc) { // not what main was given: keep argv
    ::LocalFree(wide);
    return {argv, argv + argc};
  }
  std::vector<std::string> arguments;
  for (int i = 0; i < count; ++i) {
    const int size = ::WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, nullptr, 0, nullptr, nullptr);
    std::string text(static_cast<std::size_t>(size > 0 ? size : 1), '\0');
    ::WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, text.data(), size, nullptr, nullptr);
    text.pop_back(); // the terminating null
    arguments.push_back(std::move(text));
  }
  ::LocalFree(wide);
  return arguments;
}

bool open_child_channel(std::string_view argument, child_channel& channel) noexcept {
  const auto comma = argument.find(',');
  if (comma == std::string_view::npos)
    return false;
  if (!parse_handle(argument.substr(0, comma), channel.in) ||
      !parse_handle(argument.substr(comma + 1), channel.out))
    return false;
  if (!is_open(channel.in) || !is_open(channel.out))
    return false;
  keep_private(channel.in);
  keep_private(channel.out);
  return true;
}

std::size_t read_some(native_channel in, char* data, std::size_t size) {
  DWORD got = 0;
  const auto want = static_cast<DWORD>(std::min<std::size_t>(size, 1U << 30));
  if (::ReadFile(as_handle(in), data, want, &got, nullptr))
    return got;
  // The parent closed its end (or ended): the end of the channel, as read() returns 0.
  if (::GetLastError() == ERROR_BROKEN_PIPE)
    return 0;
  throw last_error("reading the call");
}

void connect_back(const std::string&, const std::string&, child_channel&) noexcept {}

std::string take_environment_variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr)
    return {};
  std::string result = value;
  // Gone from the C runtime's copy (getenv) and from the process's environment, which
  // whatever this child starts inherits.
  const std::string removal = std::string(name) + "=";
  ::_putenv(removal.c_str());
  ::SetEnvironmentVariableA(name, nullptr);
  return result;
}

void hold_replies(const char* data, std::size_t size) noexcept {
  held_data.store(nullptr);
  held_size.store(size);
  held_data.store(data);
}

void send_held_replies() noexcept {
  if (!crash_channel_set.load() || sending.load() || !send_held())
    return;
  // Number 0: an exit, not a crash; the replies before it came.
  const std::int32_t none = 0;
  char frame[frame_header_size + sizeof none];
  write_frame_header(frame, frame_kind::crash_signal, sizeof none);
  std::memcpy(frame + frame_header_size, &none, sizeof none);
  send_raw(frame, sizeof frame);
}

void write_all(native_channel out, std::string_view data) {
  sending = true;
  struct sent_all {
    ~sent_all() { sending = false; }
  } done;
  while (!data.empty()) {
    DWORD sent = 0;
    const auto chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1U << 30));
    if (!::WriteFile(as_handle(out), data.data(), chunk, &sent, nullptr))
      throw last_error("sending the result");
    data.remove_prefix(sent);
  }
}

} // namespace mpdecor::detail

#endif
