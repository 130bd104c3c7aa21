// SPDX-License-Identifier: BSL-1.0
#include "helpers.hpp"
#include "windows_handles.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sstream>

#if defined(_WIN32)
#include <windows.h>
#include <tlhelp32.h>
#else
#include <csignal>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>
#endif

namespace helpers {

#if defined(_WIN32)

program_result run(const std::string& command) {
  program_result result;
  // Wide, so that paths in any language pass; cmd /c takes the outermost quotes off again,
  // which it would otherwise take from around a quoted program path.
  const std::wstring line = std::filesystem::u8path("\"" + command + " 2>&1\"").native();
  FILE* pipe = ::_wpopen(line.c_str(), L"rb");
  BOOST_REQUIRE_MESSAGE(pipe != nullptr, "could not run " << command);
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), got);
  result.exit_code = ::_pclose(pipe);
  return result;
}

std::string self() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    const DWORD length =
        ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (length < path.size()) {
      path.resize(length);
      return std::filesystem::path(path).string();
    }
    path.resize(path.size() * 2);
  }
}

// The programs lie in programs/ beside this executable (test/CMakeLists.txt). The folder
// named at configure time is the build machine's path, which a program under Wine sees
// under another name.
std::string program(const std::string& name) {
  return (std::filesystem::path(self()).parent_path() / "programs" / ("mpdecor_" + name + ".exe"))
      .string();
}

std::vector<long> children() {
  // A pid is reused as soon as its process is gone, so a process whose parent id is ours
  // is our child only if it started after us.
  FILETIME created{};
  FILETIME ignored{};
  ::GetProcessTimes(::GetCurrentProcess(), &created, &ignored, &ignored, &ignored);
  std::vector<long> pids;
  const HANDLE snapshot = ::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  BOOST_REQUIRE(snapshot != INVALID_HANDLE_VALUE);
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = ::Process32FirstW(snapshot, &entry); more;
       more = ::Process32NextW(snapshot, &entry)) {
    if (entry.th32ParentProcessID != ::GetCurrentProcessId())
      continue;
    const HANDLE process =
        ::OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, entry.th32ProcessID);
    FILETIME child_created{};
    const bool ours = process != nullptr &&
                      ::GetProcessTimes(process, &child_created, &ignored, &ignored, &ignored) &&
                      ::CompareFileTime(&child_created, &created) >= 0;
    if (process != nullptr)
      ::CloseHandle(process);
    if (ours)
      pids.push_back(static_cast<long>(entry.th32ProcessID));
  }
  ::CloseHandle(snapshot);
  return pids;
}

std::vector<long> zombie_children() { return {}; }

int open_descriptors() {
  const long count = windows_handles::count();
  BOOST_REQUIRE(count > 0);
  return static_cast<int>(count);
}

bool process_exists(long pid) {
  const HANDLE process = ::OpenProcess(SYNCHRONIZE, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr)
    return false;
  const bool running = ::WaitForSingleObject(process, 0) == WAIT_TIMEOUT;
  ::CloseHandle(process);
  return running;
}

bool under_wine() {
  // Wine's ntdll exports its version; Windows' does not.
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

#else

program_result run(const std::string& command) {
  program_result result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  BOOST_REQUIRE_MESSAGE(pipe != nullptr, "could not run " << command);
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string program(const std::string& name) {
  return (std::filesystem::path(MPDECOR_TEST_PROGRAM_DIR) / ("mpdecor_" + name)).string();
}

std::string self() { return std::filesystem::canonical("/proc/self/exe").string(); }

namespace {

struct process_info {
  long pid = 0;
  char state = '?';
  long parent = 0;
};

// /proc/<pid>/stat: "pid (command) state ppid ..."; the command may hold spaces and
// parentheses, so parse from the last ')'.
bool read_stat(const std::filesystem::path& directory, process_info& info) {
  std::ifstream file(directory / "stat");
  std::string text;
  if (!std::getline(file, text))
    return false;
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream rest(text.substr(close + 1));
  info.pid = std::stol(text.substr(0, text.find(' ')));
  rest >> info.state >> info.parent;
  return static_cast<bool>(rest);
}

// True for mpdecor's fork server (`--mp-fork-server` in its command line), which lives as
// long as the program once a fork-server call has started it.
bool is_fork_server(long pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline");
  const std::string command_line((std::istreambuf_iterator<char>(file)),
                                 std::istreambuf_iterator<char>());
  return command_line.find(std::string("--mp-fork-server\0", 17)) != std::string::npos;
}

std::vector<process_info> my_children() {
  std::vector<process_info> result;
  const long me = ::getpid();
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    process_info info;
    if (read_stat(entry.path(), info) && info.parent == me)
      result.push_back(info);
  }
  return result;
}

} // namespace

std::vector<long> children() {
  std::vector<long> pids;
  for (const auto& child : my_children())
    if (child.state == 'Z' || !is_fork_server(child.pid))
      pids.push_back(child.pid);
  return pids;
}

bool has_ended(long pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(file, text))
    return true;
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

parent_program start_parent_program(const std::string& command, const std::string& label) {
  parent_program program;
  program.output = ::popen(command.c_str(), "r");
  if (program.output == nullptr)
    return program;
  const std::string prefix = label + " ";
  char line[256];
  while (std::fgets(line, sizeof line, program.output) != nullptr) {
    const std::string text(line);
    if (text.rfind("parent ", 0) == 0)
      program.parent = std::stol(text.substr(7));
    else if (text.rfind(prefix, 0) == 0)
      program.children.push_back(std::stol(text.substr(prefix.size())));
    else if (text.rfind("ready", 0) == 0)
      break;
  }
  return program;
}

std::vector<std::pair<long, bool>> kill_parent(parent_program& program, int signal,
                                               std::chrono::milliseconds limit) {
  std::vector<std::pair<long, bool>> ended;
  if (::kill(static_cast<pid_t>(program.parent), signal) != 0)
    return ended;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (long child : program.children) {
    while (!has_ended(child) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ended.emplace_back(child, has_ended(child));
  }
  // A parent that outlived the signal would keep pclose waiting for it: end it now.
  if (!has_ended(program.parent))
    ::kill(static_cast<pid_t>(program.parent), SIGKILL);
  ::pclose(program.output);
  program.output = nullptr;
  return ended;
}

std::vector<long> fork_servers() {
  std::vector<long> pids;
  for (const auto& child : my_children())
    if (child.state != 'Z' && is_fork_server(child.pid))
      pids.push_back(child.pid);
  return pids;
}

std::vector<long> zombie_children() {
  std::vector<long> pids;
  for (const auto& child : my_children())
    if (child.state == 'Z')
      pids.push_back(child.pid);
  return pids;
}

int open_descriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

bool process_exists(long pid) { return std::filesystem::exists("/proc/" + std::to_string(pid)); }

bool under_wine() { return false; }

#endif

} // namespace helpers
