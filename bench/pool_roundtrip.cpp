// SPDX-License-Identifier: BSL-1.0
// Median round trip of one small call: through a warm pool, through proc_wait (a fresh child
// per call), and through Python's ProcessPoolExecutor for comparison.
//
//     pool_roundtrip [calls] [python script]
#include <mpdecor/mpdecor.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

int increment(int x) { return x + 1; }
MPDECOR_REGISTER(increment);

#if defined(_WIN32)
#define popen _popen
#define pclose _pclose
#endif

namespace {

using clock_type = std::chrono::steady_clock;

template <class Call>
double median_microseconds(int calls, Call&& call) {
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto start = clock_type::now();
    if (call(i) != i + 1) {
      std::fprintf(stderr, "wrong result for %d\n", i);
      std::exit(1);
    }
    samples.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
  }
  std::nth_element(samples.begin(), samples.begin() + calls / 2, samples.end());
  return samples[static_cast<std::size_t>(calls / 2)];
}

// The median that the Python script prints, or a negative number if it could not run.
double python_median(const std::string& script, int calls) {
  const std::string command = "python3 \"" + script + "\" " + std::to_string(calls);
  std::unique_ptr<FILE, int (*)(FILE*)> output(::popen(command.c_str(), "r"), ::pclose);
  double median = -1;
  if (output && std::fscanf(output.get(), "%lf", &median) != 1)
    median = -1;
  return median;
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  const std::string script = argc > 2 ? argv[2] : MPDECOR_PYTHON_POOL_SCRIPT;

  mpdecor::pool_options settings;
  settings.workers = 2;
  mpdecor::pool workers(settings);
  const auto call = workers.submit(increment);
  for (int i = 0; i < 50; ++i) // starts the workers before timing
    call(i).get();
  const double pool_median = median_microseconds(calls, [&](int i) { return call(i).get(); });
  const double proc_median =
      median_microseconds(calls, [](int i) { return mpdecor::proc_wait(increment)(i); });
  const double python = python_median(script, calls);

  std::printf("median round trip over %d calls of int f(int):\n", calls);
  std::printf("  mpdecor::pool (2 workers)           %9.1f us\n", pool_median);
  std::printf("  mpdecor::proc_wait (fresh child)    %9.1f us\n", proc_median);
  if (python >= 0)
    std::printf("  Python ProcessPoolExecutor(2)       %9.1f us\n", python);
  else
    std::printf("  Python ProcessPoolExecutor(2)       (python3 could not run %s)\n",
                script.c_str());
  return 0;
}
