// SPDX-License-Identifier: BSL-1.0
// Soak: many sequential calls and many concurrent ones; prints what the parent holds
// before and after (resident memory, open descriptors, child processes) and fails if
// anything leaked. Not a timed test: it checks counts, and prints times for context.
// Usage: mpdecor_soak [SEQUENTIAL=10000] [CONCURRENT=1000] [MAX_RSS_GROWTH_KB=4096]
#include "../sanitized.hpp"
#include "../windows_handles.hpp"

#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <windows.h>
#include <psapi.h>
#include <tlhelp32.h>
#else
#include <unistd.h>
#endif

namespace {

// A sanitizer runtime keeps growing bookkeeping of its own (shadow memory, histories), so
// resident memory says nothing about mpdecor there; descriptors and children still do.
constexpr bool check_memory = !mpdecor_test::sanitized;

int add_one(int value) { return value + 1; }

struct snapshot {
  long rss_kb = 0;
  long descriptors = 0;
  long children = 0;
};

#if defined(_WIN32)
long resident_kb() {
  PROCESS_MEMORY_COUNTERS counters{};
  if (!::GetProcessMemoryInfo(::GetCurrentProcess(), &counters, sizeof counters))
    return -1;
  return static_cast<long>(counters.WorkingSetSize / 1024);
}

// Processes whose parent id is ours and that started after us (an older one names a
// process that had our id before us).
long count_children() {
  FILETIME created{};
  FILETIME ignored{};
  ::GetProcessTimes(::GetCurrentProcess(), &created, &ignored, &ignored, &ignored);
  long count = 0;
  const HANDLE snapshot = ::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = ::Process32FirstW(snapshot, &entry); more;
       more = ::Process32NextW(snapshot, &entry)) {
    if (entry.th32ParentProcessID != ::GetCurrentProcessId())
      continue;
    const HANDLE process =
        ::OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, entry.th32ProcessID);
    FILETIME child_created{};
    if (process != nullptr &&
        ::GetProcessTimes(process, &child_created, &ignored, &ignored, &ignored) &&
        ::CompareFileTime(&child_created, &created) >= 0)
      ++count;
    if (process != nullptr)
      ::CloseHandle(process);
  }
  ::CloseHandle(snapshot);
  return count;
}

long open_descriptors() { return windows_handles::count(); }
#else
long resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

long count_children() {
  long count = 0;
  const std::string me = std::to_string(::getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string text;
    if (!std::getline(stat, text))
      continue;
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 4 >= text.size())
      continue;
    const auto rest = text.substr(close + 4); // skip ") S "
    if (rest.substr(0, rest.find(' ')) == me)
      ++count;
  }
  return count;
}

long open_descriptors() {
  long count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}
#endif

snapshot take() {
  snapshot s;
  s.rss_kb = resident_kb();
  s.descriptors = open_descriptors();
  s.children = count_children();
  return s;
}

void print(const char* label, const snapshot& s, double seconds) {
  std::printf("%-28s rss %7ld KiB   descriptors %4ld   children %3ld   %8.2f s\n", label, s.rss_kb,
              s.descriptors, s.children, seconds);
}

// Wine fails a small share of process launches (CreateProcess error 1359); those come back
// as launch_error, which is mpdecor reporting them correctly, not a leak. The soak retries
// a call whose launch failed, up to three times, and reports how many it retried.
int launch_retries = 0;

int call_add_one(int value) {
  for (int attempt = 1;; ++attempt) {
    try {
      return mpdecor::proc_wait(add_one)(value);
    } catch (const mpdecor::launch_error& e) {
      if (attempt == 3)
        throw;
      ++launch_retries;
      std::fprintf(stderr, "launch failed, retrying: %s\n", e.what());
    }
  }
}

} // namespace

MPDECOR_REGISTER(add_one);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const int sequential = argc > 1 ? std::stoi(argv[1]) : 10000;
  const int concurrent = argc > 2 ? std::stoi(argv[2]) : 1000;
  const long max_growth_kb = argc > 3 ? std::stol(argv[3]) : 4096;
  using clock = std::chrono::steady_clock;

  // Warm up: the supervisor's thread, event loop and buffers exist from here on, and so
  // does its timer machinery (on Windows Asio starts a timer thread on first use).
  for (int i = 0; i < 20; ++i)
    call_add_one(i);
  mpdecor::proc_wait(add_one).timeout(std::chrono::minutes(1))(0);
  const snapshot before = take();
  print("before", before, 0);

  auto start = clock::now();
  for (int i = 0; i < sequential; ++i)
    if (call_add_one(i) != i + 1)
      return std::fprintf(stderr, "wrong result\n"), 1;
  const snapshot after_sequential = take();
  print((std::to_string(sequential) + " sequential proc_wait").c_str(), after_sequential,
        std::chrono::duration<double>(clock::now() - start).count());

  start = clock::now();
  std::vector<mpdecor::handle<int>> handles;
  handles.reserve(static_cast<std::size_t>(concurrent));
  for (int i = 0; i < concurrent; ++i)
    handles.push_back(mpdecor::proc(add_one)(i));
  mpdecor::wait_all();
  for (int i = 0; i < concurrent; ++i) {
    int result = 0;
    try {
      result = handles[static_cast<std::size_t>(i)].get();
    } catch (const mpdecor::launch_error& e) {
      ++launch_retries;
      std::fprintf(stderr, "launch failed, retrying: %s\n", e.what());
      result = call_add_one(i);
    }
    if (result != i + 1)
      return std::fprintf(stderr, "wrong result\n"), 1;
  }
  handles.clear();
  const snapshot after = take();
  print((std::to_string(concurrent) + " concurrent proc").c_str(), after,
        std::chrono::duration<double>(clock::now() - start).count());

  const long growth = after.rss_kb - before.rss_kb;
  std::printf("rss growth %ld KiB (limit %ld), descriptors %+ld, children left %ld\n", growth,
              max_growth_kb, after.descriptors - before.descriptors, after.children);
  std::printf("launch errors retried: %d\n", launch_retries);
  if (!check_memory)
    std::printf("resident memory not checked: built with a sanitizer\n");
  const bool leaked = (check_memory && growth > max_growth_kb) ||
                      after.descriptors != before.descriptors || after.children != 0;
  std::printf("%s\n", leaked ? "LEAK" : "no leak");
  return leaked ? 1 : 0;
}
