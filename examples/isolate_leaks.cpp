// SPDX-License-Identifier: BSL-1.0
// Isolating code that leaks memory or keeps global state: run it with proc_wait, and the
// operating system takes back everything the child held when the child exits. A memory
// limit keeps even an endless leak from taking the machine down.
#include <mpdecor/mpdecor.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

// Global state of the kind an old library keeps: a cache that only grows, and a counter.
std::vector<char*> g_cache;
int g_calls = 0;

constexpr std::size_t block_size = 64 << 20; // 64 MiB

// Leaks a large block on every call, and remembers how often it ran.
int leaky_compute(int seed) {
  char* block = new char[block_size];
  std::memset(block, seed, block_size); // touch the pages so they really count
  g_cache.push_back(block);             // never freed
  return ++g_calls;
}
MPDECOR_REGISTER(leaky_compute);

// A leak that never stops: only a limit on the child's memory ends it.
int leak_forever(int seed) {
  for (;;)
    leaky_compute(seed);
}
MPDECOR_REGISTER(leak_forever);

// Resident memory of this process in MiB, where the platform tells it simply.
long resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  long resident = -1;
  if (!(statm >> pages >> resident))
    return -1;
  return resident * 4096 / (1 << 20);
}

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);

  const long before = resident_mib();
  for (int run = 1; run <= 5; ++run) {
    // Each call gets a fresh process, so its globals start from zero every time.
    const int calls_seen_by_child = mpdecor::proc_wait(leaky_compute)(run);
    std::printf("run %d: the child leaked 64 MiB and counted %d call(s)\n", run,
                calls_seen_by_child);
  }
  const long after = resident_mib();

  std::printf("parent: g_calls = %d, g_cache holds %zu blocks\n", g_calls, g_cache.size());
  if (before >= 0)
    std::printf("parent: resident memory %ld MiB before, %ld MiB after 320 MiB of leaks\n",
                before, after);

  // The child's allocation fails at the limit; the parent gets a typed error, not an OOM kill.
  bool capped = false;
  try {
    mpdecor::proc_wait(leak_forever).memory_limit(std::size_t{512} << 20)(1);
  } catch (const mpdecor::memory_limit_exceeded& e) {
    std::printf("endless leak stopped: %s\n", e.message().c_str());
    capped = true;
  }

  // The leaks and the global state stayed in the children.
  const bool untouched = g_calls == 0 && g_cache.empty();
  const bool memory_back = before < 0 || after - before < 32;
  return untouched && memory_back && capped ? 0 : 1;
}
