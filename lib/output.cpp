// SPDX-License-Identifier: BSL-1.0
// mpdecor: where a child's standard output and standard error go (lib/output.hpp).
#include "output.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <utility>
#include <vector>

#if defined(MPDECOR_POSIX)
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

namespace mpdecor::detail {
namespace {

#if defined(MPDECOR_POSIX)
using native = int;
constexpr native none = -1;

void close_native(native fd) noexcept {
  if (fd != none)
    ::close(fd);
}

std::error_code last_error() { return {errno, std::system_category()}; }

// The null device, for a discarded stream.
native open_null(std::error_code& error) {
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd == -1)
    error = last_error();
  return fd;
}

native open_file(const std::filesystem::path& path, bool append, std::error_code& error) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
  if (fd == -1)
    error = last_error();
  return fd;
}

// A spool: the parent's end reads, the child's appends (so that it writes at the end
// whatever its offset), and the file has no name once both are open.
bool open_spool(native& parent_end, native& child_end, std::error_code& error) {
  std::error_code ignored;
  std::filesystem::path folder = std::filesystem::temp_directory_path(ignored);
  if (folder.empty())
    folder = "/tmp";
  std::string name = (folder / "mpdecor-output-XXXXXX").string();
  parent_end = ::mkostemp(name.data(), O_CLOEXEC);
  if (parent_end == -1) {
    error = last_error();
    return false;
  }
  child_end = ::open(name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (child_end == -1)
    error = last_error();
  ::unlink(name.c_str());
  return child_end != -1;
}

std::uint64_t file_size(native fd) {
  struct stat about {};
  return ::fstat(fd, &about) == 0 && S_ISREG(about.st_mode)
             ? static_cast<std::uint64_t>(about.st_size)
             : 0;
}

// Reads `length` bytes at `offset`; fewer if the file is shorter.
std::string read_at(native fd, std::uint64_t offset, std::size_t length) {
  std::string text(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n =
        ::pread(fd, text.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}
#else
using native = HANDLE;
const native none = nullptr;

void close_native(native handle) noexcept {
  if (handle != nullptr && handle != INVALID_HANDLE_VALUE)
    ::CloseHandle(handle);
}

std::error_code last_error() {
  return {static_cast<int>(::GetLastError()), std::system_category()};
}

SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};

native checked(HANDLE handle, std::error_code& error) {
  if (handle == INVALID_HANDLE_VALUE) {
    error = last_error();
    return none;
  }
  return handle;
}

native open_null(std::error_code& error) {
  return checked(::CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                               &inheritable, OPEN_EXISTING, 0, nullptr),
                 error);
}

// Appending: a handle with FILE_APPEND_DATA alone writes at the end of the file, whoever
// else writes to it.
native open_file(const std::filesystem::path& path, bool append, std::error_code& error) {
  return checked(
      ::CreateFileW(path.c_str(), append ? FILE_APPEND_DATA | SYNCHRONIZE : GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &inheritable,
                    append ? OPEN_ALWAYS : CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr),
      error);
}

// The parent's end deletes the file when the last handle to it closes: the child's
// appending end may outlive it.
bool open_spool(native& parent_end, native& child_end, std::error_code& error) {
  static std::atomic<unsigned long> counter{0};
  wchar_t folder[MAX_PATH + 1] = {};
  const DWORD length = ::GetTempPathW(MAX_PATH + 1, folder);
  if (length == 0 || length > MAX_PATH) {
    error = last_error();
    return false;
  }
  const std::wstring name =
      std::wstring(folder) + L"mpdecor-output-" + std::to_wstring(::GetCurrentProcessId()) + L"-" +
      std::to_wstring(++counter) + L"-" + std::to_wstring(::GetTickCount64()) + L".tmp";
  parent_end = checked(::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE | DELETE,
                                     FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                     nullptr, CREATE_NEW,
                                     FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, nullptr),
                       error);
  if (parent_end == none)
    return false;
  child_end = checked(::CreateFileW(name.c_str(), FILE_APPEND_DATA | SYNCHRONIZE,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                    &inheritable, OPEN_EXISTING, 0, nullptr),
                      error);
  return child_end != none;
}

std::uint64_t file_size(native handle) {
  LARGE_INTEGER size{};
  if (::GetFileType(handle) != FILE_TYPE_DISK || !::GetFileSizeEx(handle, &size))
    return 0;
  return static_cast<std::uint64_t>(size.QuadPart);
}

std::string read_at(native handle, std::uint64_t offset, std::size_t length) {
  std::string text(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    OVERLAPPED at{};
    at.Offset = static_cast<DWORD>((offset + got) & 0xFFFFFFFFU);
    at.OffsetHigh = static_cast<DWORD>((offset + got) >> 32);
    DWORD n = 0;
    const DWORD ask = static_cast<DWORD>(std::min<std::size_t>(length - got, 1U << 30));
    if (!::ReadFile(handle, text.data() + got, ask, &n, &at) || n == 0)
      break;
    got += n;
  }
  text.resize(got);
  return text;
}
#endif

} // namespace

struct child_output::stream {
  output_target::kind what = output_target::kind::inherit;
  native parent_end = none; // a spool's reading end
  native child_end = none;  // what the child gets
  std::uint64_t taken = 0;  // how much of the spool was returned already

  ~stream() {
    close_native(parent_end);
    close_native(child_end);
  }

  // What was written from `taken` to `end`, cut to `limit` (its beginning and its end).
  std::string take(std::uint64_t end, std::size_t limit) {
    end = std::max(end, taken);
    const std::uint64_t length = end - taken;
    std::string text;
    if (length <= limit) {
      text = read_at(parent_end, taken, static_cast<std::size_t>(length));
    } else {
      const std::size_t head = limit / 2;
      const std::size_t tail = limit - head;
      text = read_at(parent_end, taken, head);
      text +=
          "\n[mpdecor: " + std::to_string(length - head - tail) + " bytes of output left out]\n";
      text += read_at(parent_end, end - tail, tail);
    }
    taken = end;
    return text;
  }
};

child_output::child_output() = default;
child_output::~child_output() = default;

bool child_output::open(const options& settings, std::error_code& error, std::string& what) {
  limit_ = std::max<std::size_t>(settings.capture_limit, 64);
  const output_target* targets[2] = {&settings.standard_output, &settings.standard_error};
  std::unique_ptr<stream>* streams[2] = {&out_, &err_};
  const char* names[2] = {"standard output", "standard error"};
  for (int i = 0; i < 2; ++i) {
    const output_target& target = *targets[i];
    if (target.what() == output_target::kind::inherit)
      continue;
    auto opened = std::make_unique<stream>();
    opened->what = target.what();
    switch (target.what()) {
    case output_target::kind::inherit:
      break;
    case output_target::kind::discard:
      opened->child_end = open_null(error);
      what = std::string("opening the null device for the child's ") + names[i];
      break;
    case output_target::kind::file:
      // One file for both streams is opened once: both write through one open file.
      if (i == 1 && out_ && out_->what == output_target::kind::file &&
          settings.standard_output.path() == target.path()) {
        same_file_ = true;
        continue;
      }
      opened->child_end = open_file(target.path(), target.append(), error);
      what = "opening " + target.path().string() + " for the child's " + names[i];
      break;
    case output_target::kind::capture:
      open_spool(opened->parent_end, opened->child_end, error);
      what = std::string("creating a temporary file to capture the child's ") + names[i];
      break;
    }
    if (error)
      return false;
    *streams[i] = std::move(opened);
  }
  what.clear();
  return true;
}

output_handle child_output::child_stream(int which) const noexcept {
  const stream* chosen = which == 1 ? out_.get() : same_file_ ? out_.get() : err_.get();
  if (chosen == nullptr || chosen->child_end == none)
    return no_output_handle;
  return chosen->child_end;
}

bool child_output::captures() const noexcept {
  return (out_ && out_->what == output_target::kind::capture) ||
         (err_ && err_->what == output_target::kind::capture);
}

void child_output::close_child_ends() noexcept {
  for (stream* each : {out_.get(), err_.get()})
    if (each != nullptr) {
      close_native(each->child_end);
      each->child_end = none;
    }
}

captured_output child_output::take(const std::optional<output_mark>& mark) noexcept {
  captured_output result;
  std::string* texts[2] = {&result.out, &result.err};
  stream* streams[2] = {out_.get(), err_.get()};
  for (int i = 0; i < 2; ++i) {
    stream* each = streams[i];
    if (each == nullptr || each->what != output_target::kind::capture)
      continue;
    try {
      std::uint64_t end = file_size(each->parent_end);
      if (mark)
        end = std::min(end, i == 0 ? mark->out : mark->err);
      *texts[i] = each->take(end, limit_);
    } catch (const std::exception& e) {
      *texts[i] = std::string("[mpdecor: the captured output could not be read: ") + e.what() + "]";
    }
  }
  return result;
}

output_mark current_output_mark() noexcept {
  try {
    std::cout.flush();
    std::cerr.flush();
  } catch (...) {
    // A stream set to throw: its state tells the program; the mark is still wanted.
  }
  std::fflush(nullptr);
  output_mark mark;
#if defined(MPDECOR_POSIX)
  mark.out = file_size(STDOUT_FILENO);
  mark.err = file_size(STDERR_FILENO);
#else
  mark.out = file_size(::GetStdHandle(STD_OUTPUT_HANDLE));
  mark.err = file_size(::GetStdHandle(STD_ERROR_HANDLE));
#endif
  return mark;
}

} // namespace mpdecor::detail
