// SPDX-License-Identifier: BSL-1.0
// Windows: the counterparts of the POSIX-only tests (crash codes instead of signals, a
// parent ended with TerminateProcess instead of a signal, calls made by hand with real
// handles), and what only Windows needs: children in a job object, children that inherit
// nothing but their own channel, and paths and names beyond ASCII.
#if defined(_WIN32)

#include "functions.hpp"
#include "helpers.hpp"
#include "windows_handles.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cwchar>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <windows.h>
#include <winternl.h>
#include <shellapi.h>
#include <tlhelp32.h>

using namespace std::chrono_literals;

namespace windows_fixtures {

void write_through_null() {
  // Volatile, so that the compiler cannot see the null and emit a trap instead.
  volatile int* volatile pointer = nullptr;
  *pointer = 1;
}

int divide_by_zero(int value) {
  volatile int zero = 0;
  return value / zero;
}

void illegal_instruction() { __builtin_trap(); }

/// Whether a handle value of the parent names an open handle in this child.
bool handle_is_open(std::uint64_t value) {
  DWORD flags = 0;
  return ::GetHandleInformation(reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(value)),
                                &flags) != 0;
}

/// This child's channel ends, from its command line (--mp-channel IN,OUT).
std::vector<std::uintptr_t> own_channel_handles() {
  int count = 0;
  LPWSTR* arguments = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  std::wstring channel;
  for (int i = 1; arguments != nullptr && i < count; ++i)
    if (std::wstring(arguments[i - 1]) == L"--mp-channel")
      channel = arguments[i];
  ::LocalFree(arguments);
  std::vector<std::uintptr_t> handles;
  for (const auto& part :
       {channel.substr(0, channel.find(L',')), channel.substr(channel.find(L',') + 1)})
    handles.push_back(static_cast<std::uintptr_t>(std::stoull(part)));
  return handles;
}

/// The inheritable flag of this child's channel ends.
std::vector<bool> channel_is_inheritable() {
  std::vector<bool> result;
  for (const auto value : own_channel_handles()) {
    DWORD flags = 0;
    result.push_back(::GetHandleInformation(reinterpret_cast<HANDLE>(value), &flags) &&
                     (flags & HANDLE_FLAG_INHERIT) != 0);
  }
  return result;
}

/// The channel pipes of mpdecor (named \\.\pipe\mpdecor-...) that this child holds: how
/// many of its own channel ends it found among them (2, unless the names cannot be read),
/// and the names of the others, which belong to other children.
std::pair<int, std::vector<std::string>> channel_pipes_held() {
  const auto own = own_channel_handles();
  std::pair<int, std::vector<std::string>> held{0, {}};
  const auto handles = windows_handles::list(true);
  if (!handles)
    return {-1, {}};
  for (const auto& handle : *handles) {
    if (handle.name.find(L"\\mpdecor-") == std::wstring::npos)
      continue;
    if (std::find(own.begin(), own.end(), handle.value) != own.end())
      ++held.first;
    else
      held.second.push_back(std::filesystem::path(handle.name).string());
  }
  return held;
}

/// A variable as UTF-8, read through the wide environment (getenv's narrow one is in the
/// ANSI code page).
std::string wide_environment_variable(std::string name) {
  const wchar_t* value = ::_wgetenv(std::filesystem::u8path(name).c_str());
  return value == nullptr ? "<unset>" : std::filesystem::path(value).string();
}

int twice(int value) { return 2 * value; }

/// Starts `program 0` (the parent helper with no children: it sleeps for five minutes) as a
/// grandchild, and returns its process id (`then` 0), or ends this child with exit code 3
/// (1), or sleeps for a minute (2). The id goes to `pid_file` first, whole.
long leave_grandchild(std::string program, std::string pid_file, int then) {
  std::wstring command = L"\"" + std::filesystem::u8path(program).wstring() + L"\" 0";
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION created{};
  if (!::CreateProcessW(nullptr, command.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr,
                        &startup, &created))
    return -1;
  ::CloseHandle(created.hThread);
  ::CloseHandle(created.hProcess);
  {
    std::ofstream out(pid_file + ".part");
    out << created.dwProcessId << std::endl;
  }
  std::filesystem::rename(pid_file + ".part", pid_file);
  if (then == 1)
    std::exit(3);
  if (then == 2)
    std::this_thread::sleep_for(std::chrono::minutes(1));
  return static_cast<long>(created.dwProcessId);
}

/// How many times `name=` appears in this process's environment block as the system keeps
/// it (the PEB's, which another process of the user can read), over its whole size: the
/// bytes left past its end after a removal included.
int raw_environment_mentions(std::string name) {
  using query_type = LONG(WINAPI*)(HANDLE, int, void*, ULONG, ULONG*);
  const auto query = reinterpret_cast<query_type>(reinterpret_cast<void*>(
      ::GetProcAddress(::GetModuleHandleW(L"ntdll.dll"), "NtQueryInformationProcess")));
  PROCESS_BASIC_INFORMATION basic{};
  if (query == nullptr || query(::GetCurrentProcess(), 0 /* ProcessBasicInformation */, &basic,
                                sizeof basic, nullptr) != 0)
    return -1;
  // x64 offsets: PEB.ProcessParameters, and in it Environment and EnvironmentSize.
  const auto* peb = reinterpret_cast<const char*>(basic.PebBaseAddress);
  const char* parameters = *reinterpret_cast<const char* const*>(peb + 0x20);
  const auto* block = *reinterpret_cast<const wchar_t* const*>(parameters + 0x80);
  const auto size = *reinterpret_cast<const std::size_t*>(parameters + 0x3F0);
  const std::wstring wanted = std::filesystem::u8path(name + "=").wstring();
  const std::wstring_view region(block, size / sizeof(wchar_t));
  int found = 0;
  for (auto at = region.find(wanted); at != std::wstring_view::npos;
       at = region.find(wanted, at + 1))
    ++found;
  return found;
}

} // namespace windows_fixtures

MPDECOR_REGISTER(windows_fixtures::write_through_null);
MPDECOR_REGISTER(windows_fixtures::divide_by_zero);
MPDECOR_REGISTER(windows_fixtures::illegal_instruction);
MPDECOR_REGISTER(windows_fixtures::handle_is_open);
MPDECOR_REGISTER(windows_fixtures::channel_is_inheritable);
MPDECOR_REGISTER(windows_fixtures::channel_pipes_held);
MPDECOR_REGISTER(windows_fixtures::wide_environment_variable);
MPDECOR_REGISTER_AS(windows_fixtures::twice, u8"doppelt größer ☃");
MPDECOR_REGISTER(windows_fixtures::leave_grandchild);
MPDECOR_REGISTER(windows_fixtures::raw_environment_mentions);

namespace {

using namespace windows_fixtures;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class scoped_handle {
public:
  explicit scoped_handle(HANDLE handle = nullptr) : handle_(handle) {}
  scoped_handle(const scoped_handle&) = delete;
  scoped_handle& operator=(const scoped_handle&) = delete;
  ~scoped_handle() { reset(); }
  HANDLE get() const { return handle_; }
  void reset(HANDLE handle = nullptr) {
    if (handle_ != nullptr && handle_ != INVALID_HANDLE_VALUE)
      ::CloseHandle(handle_);
    handle_ = handle;
  }

private:
  HANDLE handle_;
};

std::string handle_value(HANDLE handle) {
  return std::to_string(reinterpret_cast<std::uintptr_t>(handle));
}

std::wstring quoted(const std::wstring& argument) { return L"\"" + argument + L"\""; }

// Starts this test program with `arguments`, where "CHANNEL" stands for a channel made of
// the child's standard input and output (as "--mp-channel 0,1" on POSIX), optionally with
// a launch key in its environment; writes `input` to it, and collects what it writes on
// its channel, standard output and standard error together.
helpers::program_result run_by_hand(const std::vector<std::string>& arguments,
                                    const std::string& input, const std::string& key) {
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE handles[4];
  BOOST_REQUIRE(::CreatePipe(&handles[0], &handles[1], &inheritable, 0));
  scoped_handle child_input(handles[0]);
  scoped_handle input_writer(handles[1]);
  BOOST_REQUIRE(::CreatePipe(&handles[2], &handles[3], &inheritable, 0));
  scoped_handle output_reader(handles[2]);
  scoped_handle child_output(handles[3]);
  ::SetHandleInformation(input_writer.get(), HANDLE_FLAG_INHERIT, 0);
  ::SetHandleInformation(output_reader.get(), HANDLE_FLAG_INHERIT, 0);

  std::wstring command_line = quoted(std::filesystem::u8path(helpers::self()).native());
  for (const auto& argument : arguments) {
    const std::string text = argument == "CHANNEL" ? handle_value(child_input.get()) + "," +
                                                         handle_value(child_output.get())
                                                   : argument;
    command_line += L" " + quoted(std::filesystem::u8path(text).native());
  }
  std::vector<wchar_t> environment;
  if (!key.empty()) {
    wchar_t* current = ::GetEnvironmentStringsW();
    for (const wchar_t* entry = current; *entry != L'\0'; entry += std::wcslen(entry) + 1)
      environment.insert(environment.end(), entry, entry + std::wcslen(entry) + 1);
    ::FreeEnvironmentStringsW(current);
    const std::wstring added = L"MPDECOR_LAUNCH_KEY=" + std::filesystem::u8path(key).native();
    environment.insert(environment.end(), added.c_str(), added.c_str() + added.size() + 1);
    environment.push_back(L'\0');
  }

  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = child_input.get();
  startup.hStdOutput = child_output.get();
  startup.hStdError = child_output.get();
  PROCESS_INFORMATION created{};
  BOOST_REQUIRE(::CreateProcessW(
      nullptr, command_line.data(), nullptr, nullptr, TRUE, CREATE_UNICODE_ENVIRONMENT,
      environment.empty() ? nullptr : environment.data(), nullptr, &startup, &created));
  scoped_handle process(created.hProcess);
  scoped_handle thread(created.hThread);
  child_input.reset();
  child_output.reset();

  DWORD written = 0;
  if (!input.empty())
    ::WriteFile(input_writer.get(), input.data(), static_cast<DWORD>(input.size()), &written,
                nullptr);
  input_writer.reset();
  helpers::program_result result;
  char buffer[4096];
  DWORD got = 0;
  while (::ReadFile(output_reader.get(), buffer, sizeof buffer, &got, nullptr) && got > 0)
    result.output.append(buffer, got);
  BOOST_REQUIRE(::WaitForSingleObject(process.get(), 30'000) == WAIT_OBJECT_0);
  DWORD code = 0;
  ::GetExitCodeProcess(process.get(), &code);
  result.exit_code = static_cast<int>(code);
  return result;
}

std::string launch_key_frame(const std::string& key) {
  std::string frame(mpdecor::detail::frame_header_size, '\0');
  mpdecor::detail::output_archive archive(frame);
  archive(key);
  mpdecor::detail::write_frame_header(frame.data(), mpdecor::detail::frame_kind::hello,
                                      frame.size() - mpdecor::detail::frame_header_size);
  return frame;
}

// Suspends every thread of a process: it can run no code of its own until it is killed.
void suspend_process(DWORD pid) {
  const HANDLE snapshot = ::CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
  BOOST_REQUIRE(snapshot != INVALID_HANDLE_VALUE);
  THREADENTRY32 entry{};
  entry.dwSize = sizeof entry;
  int suspended = 0;
  for (BOOL more = ::Thread32First(snapshot, &entry); more;
       more = ::Thread32Next(snapshot, &entry)) {
    if (entry.th32OwnerProcessID != pid)
      continue;
    scoped_handle thread(::OpenThread(THREAD_SUSPEND_RESUME, FALSE, entry.th32ThreadID));
    if (thread.get() != nullptr && ::SuspendThread(thread.get()) != static_cast<DWORD>(-1))
      ++suspended;
  }
  ::CloseHandle(snapshot);
  BOOST_REQUIRE_MESSAGE(suspended > 0, "no thread of process " << pid << " was suspended");
}

std::filesystem::path fresh_directory(const std::string& utf8_name) {
  const auto directory =
      std::filesystem::canonical(std::filesystem::temp_directory_path()) /
      std::filesystem::u8path(utf8_name + " " + std::to_string(::GetCurrentProcessId()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory;
}

} // namespace

BOOST_AUTO_TEST_SUITE(windows)

// --- crashes: NTSTATUS codes where POSIX has signals ---

BOOST_AUTO_TEST_CASE(an_access_violation_becomes_child_crashed_with_its_status_name) {
  try {
    mpdecor::proc_wait(write_through_null)();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(static_cast<std::uint32_t>(e.signal().value_or(0)) == 0xC0000005U);
    BOOST_TEST(e.signal_name() == "STATUS_ACCESS_VIOLATION");
    BOOST_TEST(!e.exit_code().has_value());
    BOOST_TEST(contains(e.what(), "killed by STATUS_ACCESS_VIOLATION"));
    BOOST_TEST(contains(e.what(), "windows_fixtures::write_through_null"));
  }
}

BOOST_AUTO_TEST_CASE(abort_becomes_child_crashed_with_the_status_of_abort) {
  // As Microsoft's C runtime ends a program that calls abort(): a crash, not exit code 3.
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(fixtures::call_abort)(), mpdecor::child_crashed,
                        [](const mpdecor::child_crashed& e) {
                          return e.signal_name() == "STATUS_STACK_BUFFER_OVERRUN" &&
                                 !e.exit_code().has_value();
                        });
}

BOOST_AUTO_TEST_CASE(std_terminate_becomes_child_crashed) {
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(fixtures::call_terminate)(), mpdecor::child_crashed,
                        [](const mpdecor::child_crashed& e) {
                          return e.signal_name() == "STATUS_STACK_BUFFER_OVERRUN";
                        });
}

BOOST_AUTO_TEST_CASE(stack_overflow_becomes_child_crashed) {
  try {
    mpdecor::proc_wait(fixtures::overflow_stack)(0);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.signal_name() == "STATUS_STACK_OVERFLOW");
    BOOST_TEST(contains(e.what(), "before it sent a result"));
  }
}

BOOST_AUTO_TEST_CASE(other_crashes_are_named_by_their_status) {
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(divide_by_zero)(1), mpdecor::child_crashed,
                        [](const mpdecor::child_crashed& e) {
                          return e.signal_name() == "STATUS_INTEGER_DIVIDE_BY_ZERO";
                        });
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(illegal_instruction)(), mpdecor::child_crashed,
                        [](const mpdecor::child_crashed& e) {
                          return e.signal_name() == "STATUS_ILLEGAL_INSTRUCTION";
                        });
}

BOOST_AUTO_TEST_CASE(an_exit_code_that_looks_like_no_status_stays_an_exit_code) {
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(fixtures::exit_with)(-1), mpdecor::child_crashed,
                        [](const mpdecor::child_crashed& e) {
                          return e.exit_code().value_or(0) == -1 && !e.signal().has_value();
                        });
}

// --- killing ---

BOOST_AUTO_TEST_CASE(kill_through_the_handle_ends_the_child_with_child_crashed) {
  auto handle = mpdecor::proc(fixtures::sleep_ms)(60'000);
  const auto pid = handle.pid();
  handle.kill();
  try {
    handle.get();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    // TerminateProcess with exit code 1, as Task Manager and taskkill /f end a program.
    BOOST_TEST(e.exit_code().value_or(-1) == 1);
    BOOST_TEST(contains(e.what(), "killed through its handle"));
  }
  BOOST_TEST(!helpers::process_exists(static_cast<long>(pid)));
  handle.kill(); // killing a finished call does nothing
}

BOOST_AUTO_TEST_CASE(a_child_killed_from_outside_becomes_child_crashed) {
  auto handle = mpdecor::proc(fixtures::sleep_ms)(60'000);
  scoped_handle child(::OpenProcess(PROCESS_TERMINATE, FALSE, static_cast<DWORD>(handle.pid())));
  BOOST_REQUIRE(child.get() != nullptr);
  BOOST_REQUIRE(::TerminateProcess(child.get(), 7));
  try {
    handle.get();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == 7);
    BOOST_TEST(!contains(e.what(), "through its handle"));
  }
}

// --- a parent that ends takes its children with it ---

BOOST_AUTO_TEST_CASE(every_child_runs_in_a_job_object) {
  auto handle = mpdecor::proc(fixtures::sleep_ms)(5'000);
  scoped_handle child(
      ::OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, static_cast<DWORD>(handle.pid())));
  BOOST_REQUIRE(child.get() != nullptr);
  BOOL in_job = FALSE;
  BOOST_REQUIRE(::IsProcessInJob(child.get(), nullptr, &in_job));
  BOOST_TEST(in_job == TRUE);
  handle.kill();
  BOOST_CHECK_THROW(handle.get(), mpdecor::child_crashed);
}

// The end of a call ends its whole process tree: each child has a job object of its own,
// which holds what it starts and is closed (killing the rest) when the child ends. (Before,
// grandchildren broke away from the one job of every child and ran on.)
BOOST_AUTO_TEST_CASE(a_calls_whole_process_tree_ends_with_it) {
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("mpdecor-test-grandchild-" + std::to_string(::GetCurrentProcessId())))
                               .string();
  const std::string program = helpers::program("parent");
  const auto grandchild = [&file] {
    long pid = 0;
    for (int i = 0; i < 2000 && !(std::ifstream(file) >> pid); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::filesystem::remove(file);
    return pid;
  };
  const auto ends_soon = [](long pid) {
    for (int i = 0; i < 1000 && helpers::process_exists(pid); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return !helpers::process_exists(pid);
  };
  using windows_fixtures::leave_grandchild;
  BOOST_TEST_CONTEXT("a result") {
    const long returned = mpdecor::proc_wait(leave_grandchild)(program, file, 0);
    BOOST_TEST(grandchild() == returned);
    BOOST_TEST(ends_soon(returned));
  }
  BOOST_TEST_CONTEXT("an exit without a result") {
    BOOST_CHECK_THROW(mpdecor::proc_wait(leave_grandchild)(program, file, 1),
                      mpdecor::child_crashed);
    const long pid = grandchild();
    BOOST_TEST_REQUIRE(pid > 0);
    BOOST_TEST(ends_soon(pid));
  }
  BOOST_TEST_CONTEXT("a timeout") {
    BOOST_CHECK_THROW(
        mpdecor::proc_wait(leave_grandchild).timeout(std::chrono::seconds(3))(program, file, 2),
        mpdecor::timeout_error);
    const long pid = grandchild();
    BOOST_TEST_REQUIRE(pid > 0);
    BOOST_TEST(ends_soon(pid));
  }
  BOOST_TEST_CONTEXT("kill()") {
    auto running = mpdecor::proc(leave_grandchild)(program, file, 2);
    const long pid = grandchild();
    BOOST_TEST_REQUIRE(pid > 0);
    running.kill();
    BOOST_CHECK_THROW(running.get(), mpdecor::child_crashed);
    BOOST_TEST(ends_soon(pid));
  }
}

// A program whose file an upgrade renamed away, putting another program at its path,
// still starts its children from its own file, found at its new path, or, where no path to
// it can be found, fails the call with a launch_error that says so: never the new file.
// (Before, the children ran the new file: here a program without the function.)
BOOST_AUTO_TEST_CASE(children_run_the_parents_own_binary_after_its_file_is_renamed_away) {
  const auto directory = std::filesystem::temp_directory_path() /
                         ("mpdecor-test-replaced-" + std::to_string(::GetCurrentProcessId()));
  std::filesystem::create_directories(directory);
  const auto copy = directory / "program.exe";
  std::filesystem::copy_file(helpers::program("replaced"), copy);
  const auto result =
      helpers::run("\"" + copy.string() + "\" \"" + helpers::program("print") + "\"");
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  BOOST_TEST(result.exit_code == 0, result.output);
  for (const std::string label : {"before", "spawn", "fork server", "pool"}) {
    const auto start = result.output.find(label + ": ");
    BOOST_TEST_REQUIRE(start != std::string::npos, result.output);
    std::string line = result.output.substr(start, result.output.find('\n', start) - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    const bool own = line == label + ": the original program";
    const bool refused = line.find("was replaced on disk") != std::string::npos;
    BOOST_TEST((own || (label != "before" && refused)), line);
  }
}

// The launch key and the parent's pid leave no trace in the environment block that other
// processes can read: the child overwrites them in place before removing them.
BOOST_AUTO_TEST_CASE(the_launch_key_leaves_no_trace_in_the_environment_block) {
  // The scan itself finds what is there.
  BOOST_TEST(mpdecor::proc_wait(windows_fixtures::raw_environment_mentions)("PATH") >= 1);
  for (const std::string name : {"MPDECOR_LAUNCH_KEY", "MPDECOR_PARENT_PID"}) {
    BOOST_TEST(mpdecor::proc_wait(windows_fixtures::raw_environment_mentions)(name) == 0, name);
    mpdecor::pool_options settings;
    settings.workers = 1;
    mpdecor::pool workers(settings);
    BOOST_TEST(workers.submit(windows_fixtures::raw_environment_mentions)(name).get() == 0,
               name << " in a pool's worker");
  }
}

BOOST_AUTO_TEST_CASE(children_end_when_the_parent_is_terminated) {
  // The parent program prints its pid, one line per child, then "ready".
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE ends[2];
  BOOST_REQUIRE(::CreatePipe(&ends[0], &ends[1], &inheritable, 0));
  scoped_handle reader(ends[0]);
  scoped_handle writer(ends[1]);
  ::SetHandleInformation(reader.get(), HANDLE_FLAG_INHERIT, 0);
  std::wstring command_line =
      quoted(std::filesystem::u8path(helpers::program("parent")).native()) + L" 3";
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = ::GetStdHandle(STD_INPUT_HANDLE);
  startup.hStdOutput = writer.get();
  startup.hStdError = ::GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION created{};
  BOOST_REQUIRE(::CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, TRUE, 0, nullptr,
                                 nullptr, &startup, &created));
  scoped_handle parent(created.hProcess);
  scoped_handle parent_thread(created.hThread);
  writer.reset();

  std::string output;
  std::vector<DWORD> pids;
  char buffer[256];
  DWORD got = 0;
  while (!contains(output, "ready") &&
         ::ReadFile(reader.get(), buffer, sizeof buffer, &got, nullptr) && got > 0)
    output.append(buffer, got);
  for (std::size_t at = output.find("child "); at != std::string::npos;
       at = output.find("child ", at + 1))
    pids.push_back(static_cast<DWORD>(std::stoul(output.substr(at + 6))));
  BOOST_REQUIRE_MESSAGE(pids.size() == 3u, "the parent printed: " << output);

  // Opened before the parent ends, so that the ids cannot name other processes later.
  std::vector<std::unique_ptr<scoped_handle>> children;
  for (DWORD pid : pids) {
    children.push_back(std::make_unique<scoped_handle>(
        ::OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, pid)));
    BOOST_REQUIRE(children.back()->get() != nullptr);
    BOOST_REQUIRE(::WaitForSingleObject(children.back()->get(), 0) == WAIT_TIMEOUT);
    // A suspended child cannot notice on its own that its channel closed: only the job
    // object, which the system closes with the parent, can end it.
    suspend_process(pid);
  }
  BOOST_REQUIRE(::TerminateProcess(parent.get(), 9));
  // A hang detector only: the job ends its processes as soon as its last handle closes.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const DWORD waited = ::WaitForSingleObject(
        children[i]->get(), static_cast<DWORD>(std::max<long long>(left.count(), 0)));
    BOOST_TEST(waited == WAIT_OBJECT_0,
               "child " << pids[i] << " still runs 30 s after its parent ended");
    if (waited != WAIT_OBJECT_0)
      ::TerminateProcess(children[i]->get(), 1);
  }
}

// --- handles: each child inherits its own channel and nothing else ---

BOOST_AUTO_TEST_CASE(a_child_inherits_no_handle_but_its_own_channel) {
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  scoped_handle event(::CreateEventW(&inheritable, TRUE, FALSE, nullptr));
  BOOST_REQUIRE(event.get() != nullptr);
  const auto value = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(event.get()));
  BOOST_TEST(!mpdecor::proc_wait(handle_is_open)(value),
             "an inheritable handle of the parent reached the child");
  // The child's channel ends are inherited, then made private to the child.
  const auto flags = mpdecor::proc_wait(channel_is_inheritable)();
  BOOST_REQUIRE_EQUAL(flags.size(), 2u);
  BOOST_TEST(!flags[0]);
  BOOST_TEST(!flags[1]);
}

BOOST_AUTO_TEST_CASE(no_child_holds_another_childs_channel_when_launches_run_at_once) {
  // Children are launched at the same moment from eight threads (through the supervisor's
  // thread) and from the threads of two pools that replace their workers after every task.
  // A child that inherited a copy of another child's channel end would keep that channel
  // open after its owner exits: each child lists the mpdecor pipes it holds.
  const auto saved_limit = mpdecor::max_running();
  mpdecor::set_max_running(0);
  mpdecor::pool_options settings;
  settings.workers = 2;
  settings.max_tasks_per_worker = 1;
  mpdecor::pool first_pool(settings);
  mpdecor::pool second_pool(settings);
  std::mutex mutex;
  std::vector<std::pair<int, std::vector<std::string>>> reports;
  std::vector<std::string> failures;
  std::exception_ptr launch_failure; // rethrown on this thread: Boost.Test reports it
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        try {
          auto pooled = (t % 2 == 0 ? first_pool : second_pool).submit(channel_pipes_held)();
          auto fresh = mpdecor::proc_wait(channel_pipes_held)();
          auto from_pool = pooled.get();
          std::lock_guard lock(mutex);
          reports.push_back(std::move(fresh));
          reports.push_back(std::move(from_pool));
        } catch (const mpdecor::launch_error&) {
          std::lock_guard lock(mutex);
          launch_failure = std::current_exception();
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          failures.emplace_back(e.what());
        }
      }
    });
  for (auto& thread : threads)
    thread.join();
  mpdecor::set_max_running(saved_limit);
  // A launch that Wine failed (system error 1359) is reported alone, so that the harness
  // can tell it from a failure of mpdecor's and run the test again.
  if (launch_failure)
    std::rethrow_exception(launch_failure);
  // Boost.Test's assertions are for the main thread only.
  BOOST_TEST(failures.empty(), failures.size() << " calls failed, the first: "
                                               << (failures.empty() ? "" : failures.front()));
  BOOST_TEST(reports.size() == 48U);
  for (const auto& [own, others] : reports) {
    BOOST_TEST(own == 2, "a child found " << own << " of its two channel ends by name");
    BOOST_TEST(others.empty(), "a child holds " << others.size() << " channel ends of others, "
                                                << (others.empty() ? "" : others.front()));
  }
}

BOOST_AUTO_TEST_CASE(concurrent_launches_from_many_threads_never_hang) {
  // A child that exits without a result is noticed when its channel closes (or 2 s after it
  // exited, if something still holds the channel). Long-running children are started while
  // short ones come and go from eight threads at once; every call ends with its own outcome.
  const auto saved_limit = mpdecor::max_running();
  mpdecor::set_max_running(0);
  std::vector<mpdecor::handle<int>> sleepers;
  for (int i = 0; i < 4; ++i)
    sleepers.push_back(mpdecor::proc(fixtures::sleep_ms)(6'000));
  std::atomic<int> hung{0};
  std::atomic<int> wrong{0};
  std::mutex mutex;
  std::exception_ptr launch_failure; // rethrown on this thread: Boost.Test reports it
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        try {
          const auto start = std::chrono::steady_clock::now();
          try {
            mpdecor::proc_wait(fixtures::exit_with)(3);
            ++wrong;
          } catch (const mpdecor::child_crashed& e) {
            if (e.exit_code().value_or(-1) != 3)
              ++wrong;
          }
          // A hang detector only: a call takes well under a second under Wine when the
          // machine is idle, a few seconds when it is busy.
          if (std::chrono::steady_clock::now() - start > 60s)
            ++hung;
          // Boost.Test's assertions are for the main thread only.
          if (mpdecor::proc_wait(fixtures::add)(t, i) != t + i)
            ++wrong;
        } catch (const mpdecor::launch_error&) {
          std::lock_guard lock(mutex);
          launch_failure = std::current_exception();
        } catch (const std::exception&) {
          ++wrong;
        }
      }
    });
  for (auto& thread : threads)
    thread.join();
  // The sleepers end and the limit comes back before anything is reported, so that a
  // launch Wine failed stays this test's alone (the harness reruns it) and leaves no child
  // or setting behind for the next tests.
  for (auto& sleeper : sleepers)
    sleeper.wait();
  mpdecor::set_max_running(saved_limit);
  if (launch_failure)
    std::rethrow_exception(launch_failure);
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(hung.load() == 0, hung.load() << " calls took more than a minute");
  for (auto& sleeper : sleepers)
    BOOST_TEST(sleeper.get() == 6'000);
}

// --- calls that mpdecor did not make ---

BOOST_AUTO_TEST_CASE(a_child_call_made_by_hand_is_refused) {
  const auto plain = run_by_hand({"--mp-child", "fixtures::add"}, "", "");
  BOOST_TEST(plain.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(contains(plain.output, "not by mpdecor"));
  BOOST_TEST(contains(plain.output, "refusing 'fixtures::add'"));
  const auto bad_channel =
      run_by_hand({"--mp-child", "fixtures::add", "--mp-channel", "999,999"}, "", "");
  BOOST_TEST(bad_channel.exit_code == mpdecor::exit_not_started_by_mpdecor);
  // A channel of its own, but no launch key.
  const auto no_key =
      run_by_hand({"--mp-child", "fixtures::add", "--mp-channel", "CHANNEL"}, "forged bytes\n", "");
  BOOST_TEST(no_key.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(contains(no_key.output, "no launch key"));
}

BOOST_AUTO_TEST_CASE(a_child_offered_the_wrong_launch_key_runs_nothing) {
  const auto result = run_by_hand({"--mp-child", "fixtures::add", "--mp-channel", "CHANNEL"},
                                  launch_key_frame(std::string(64, 'b')), std::string(64, 'a'));
  BOOST_TEST(result.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(contains(result.output, "did not come from the process that started this child"));
}

BOOST_AUTO_TEST_CASE(a_child_given_garbage_or_nothing_runs_nothing) {
  const std::string key(64, 'a');
  const auto empty =
      run_by_hand({"--mp-child", "fixtures::add", "--mp-channel", "CHANNEL"}, "", key);
  BOOST_TEST(empty.exit_code == mpdecor::exit_bad_call_message);
  BOOST_TEST(contains(empty.output, "closed the channel before sending the call"));
  const auto garbage = run_by_hand({"--mp-child", "fixtures::add", "--mp-channel", "CHANNEL"},
                                   "some forged bytes here\n", key);
  BOOST_TEST(garbage.exit_code == mpdecor::exit_bad_call_message);
  BOOST_TEST(contains(garbage.output, "not an mpdecor message"));
}

// --- beyond ASCII: Windows passes paths, arguments and the environment as UTF-16 ---

BOOST_AUTO_TEST_CASE(a_working_directory_with_spaces_and_any_letters_works) {
  const auto directory = fresh_directory(u8"mpdecor Arbeitsverzeichnis größer ☃ 日本");
  BOOST_TEST(mpdecor::proc_wait(fixtures::working_directory).working_directory(directory)() ==
             directory.string());
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(environment_values_with_any_letters_reach_the_child) {
  const std::string value = u8"grüße ☃ 日本 with spaces";
  BOOST_TEST(mpdecor::proc_wait(wide_environment_variable)
                 .env("MPDECOR_TEST_UNICODE", value)("MPDECOR_TEST_UNICODE") == value);
  // Windows compares names without regard to case: an override replaces the variable.
  BOOST_TEST(mpdecor::proc_wait(fixtures::environment_variable).env("path", "replaced")("PATH") ==
             "replaced");
}

BOOST_AUTO_TEST_CASE(a_function_registered_under_any_name_is_found_by_its_child) {
  BOOST_TEST(mpdecor::proc_wait<int(int)>(u8"doppelt größer ☃")(21) == 42);
}

BOOST_AUTO_TEST_CASE(a_program_in_a_folder_with_spaces_and_any_letters_starts_children) {
  const auto directory = fresh_directory(u8"mpdecor Programm größer ☃ 日本");
  const auto copy = directory / std::filesystem::u8path(u8"print ü ☃.exe");
  std::filesystem::copy_file(std::filesystem::u8path(helpers::program("print")), copy);
  const auto result = helpers::run("\"" + copy.string() + "\"");
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(contains(result.output, "child stdout: hello"));
  BOOST_TEST(contains(result.output, "parent done"));
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_SUITE_END()

#endif
