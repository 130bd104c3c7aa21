// SPDX-License-Identifier: BSL-1.0
// A terminal progress bar, with rate and time left, over a set of calls: fresh children
// and pool tasks mixed, some of which fail. wait_with_progress works for any set of
// handles, not only a pool's map.
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

// Stands in for real work: a simulation that takes 20-200 ms, and fails for multiples of 13.
int simulate(int seed) {
  std::this_thread::sleep_for(std::chrono::milliseconds(20 + (seed * 37) % 180));
  if (seed % 13 == 0)
    throw std::runtime_error("seed " + std::to_string(seed) + " diverged");
  return seed * seed;
}
MPDECOR_REGISTER(simulate);

// Draws one line, `[#######.............]  17/60  23.4/s  ETA 1.8 s  (1 failed)`, over the
// previous one (a carriage return, no newline until the end).
void draw(const mpdecor::progress& now) {
  constexpr int width = 30;
  const int filled = static_cast<int>(now.fraction() * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, '.');
  std::string eta = "ETA  ?   ";
  if (const auto left = now.remaining()) {
    char text[32];
    std::snprintf(text, sizeof text, "ETA %4.1f s", std::chrono::duration<double>(*left).count());
    eta = text;
  }
  std::fprintf(stderr, "\r[%s] %3zu/%zu  %5.1f/s  %s  (%zu failed)", bar.c_str(), now.done,
               now.total, now.rate(), eta.c_str(), now.failed);
  if (now.done == now.total)
    std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  mpdecor::pool_options settings;
  settings.workers = 4;
  mpdecor::pool workers(settings);

  std::vector<mpdecor::handle<int>> runs;
  for (int seed = 1; seed <= 60; ++seed)
    runs.push_back(seed % 4 == 0 ? mpdecor::proc(simulate)(seed)     // a fresh child
                                 : workers.submit(simulate)(seed));  // a warm worker

  // Redrawn as each run finishes, and every 100 ms meanwhile so that the clock moves.
  const auto last = mpdecor::wait_with_progress(runs, draw, 100ms);

  long long sum = 0;
  for (const auto& run : runs)
    if (!run.exception())
      sum += run.get();
  std::printf("%zu runs, %zu failed, sum of the others' results: %lld, in %.2f s\n", last.total,
              last.failed, sum, std::chrono::duration<double>(last.elapsed).count());
  // Seeds 13, 26, 39 and 52 fail; the squares of the other 56 add up to 68740.
  return last.done == 60 && last.failed == 4 && sum == 68740 ? 0 : 1;
}
