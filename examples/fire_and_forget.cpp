// SPDX-License-Identifier: BSL-1.0
// Fire and forget: start many calls without waiting for any of them, then wait for all of
// them once, at the end.
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

// Stands in for real work: a file to convert, a job to run, a report to write.
void process_item(int item) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Children share the parent's stdout; one printf per line keeps lines whole.
  std::printf("  item %2d done in its own process\n", item);
  std::fflush(stdout);
}
// Registered in the executable's own sources, so the child finds it by name.
MPDECOR_REGISTER(process_item);

int main(int argc, char** argv) {
  // First line of main: in a child this runs the requested call and never returns.
  mpdecor::init(argc, argv);

  // At most 4 children at a time; the other calls wait in a queue.
  mpdecor::set_max_running(4);

  const auto start = std::chrono::steady_clock::now();
  for (int item = 1; item <= 16; ++item)
    mpdecor::proc(process_item)(item); // returns at once; the handle is dropped

  const auto started = std::chrono::steady_clock::now() - start;
  std::printf("16 calls submitted in %lld ms: %zu running, %zu queued\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(started).count()),
              mpdecor::running_count(), mpdecor::queued_count());
  std::fflush(stdout);

  // Dropped handles do not lose calls: wait_all() waits for every one, queued ones included.
  // (Returning from main would wait too; at_exit_policy::wait is the default.)
  mpdecor::wait_all();

  const auto total = std::chrono::steady_clock::now() - start;
  std::printf("all done after %lld ms: %zu running, %zu queued\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(total).count()),
              mpdecor::running_count(), mpdecor::queued_count());
  return mpdecor::running_count() == 0 && mpdecor::queued_count() == 0 ? 0 : 1;
}
