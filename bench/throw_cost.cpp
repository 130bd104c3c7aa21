// SPDX-License-Identifier: BSL-1.0
// What recording stack traces costs a child: each call runs in a fresh child a loop that
// throws and catches an exception `count` times at a given stack depth, and returns the time
// per throw measured inside the child; the same loops with traces on and off
// (set_stack_traces), alternated, in one run. Prints the medians and their ratio.
//
//   throw_cost [count] [rounds]
#include <mpdecor/mpdecor.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace {

[[gnu::noinline]] int thrower(int depth) {
  if (depth <= 0)
    throw std::runtime_error("bench");
  return thrower(depth - 1) + 1;
}

} // namespace

// Nanoseconds per throw and catch, `depth` frames below the catch.
double throw_and_catch(int count, int depth) {
  const auto start = std::chrono::steady_clock::now();
  int caught = 0;
  for (int i = 0; i < count; ++i) {
    try {
      thrower(depth);
    } catch (const std::runtime_error&) {
      ++caught;
    }
  }
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return caught == count ? took.count() / count : -1;
}

MPDECOR_REGISTER(throw_and_catch);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const int count = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  std::printf("%-8s %14s %14s %8s\n", "depth", "traces on", "traces off", "ratio");
  for (const int depth : {1, 10, 30}) {
    std::vector<double> on;
    std::vector<double> off;
    for (int round = 0; round < rounds; ++round) {
      for (const bool record : {true, false}) {
        mpdecor::set_stack_traces(record);
        (record ? on : off).push_back(mpdecor::proc_wait(throw_and_catch)(count, depth));
      }
    }
    std::sort(on.begin(), on.end());
    std::sort(off.begin(), off.end());
    const double median_on = on[on.size() / 2];
    const double median_off = off[off.size() / 2];
    std::printf("%-8d %11.0f ns %11.0f ns %7.2fx\n", depth, median_on, median_off,
                median_on / median_off);
  }
  mpdecor::set_stack_traces(true);
  return 0;
}
