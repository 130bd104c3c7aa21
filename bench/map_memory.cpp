// SPDX-License-Identifier: BSL-1.0
// What a large pool::map holds in the parent: maps `items` ints (default 10 million) with
// two workers and prints the parent's peak resident memory during the map against the
// input and output vectors' bytes. Linux (it reads VmHWM and VmRSS from /proc/self/status).
//
//   map_memory [items] [in_flight]     (in_flight 0: the default bound)
#include <mpdecor/mpdecor.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

int increment(int x) { return x + 1; }
MPDECOR_REGISTER(increment);

// A field of /proc/self/status in kB; -1 where there is none.
long status_kb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  return -1;
}

// Resets the peak to the current size (Linux: writing 5 to clear_refs), so that VmHWM then
// measures the peak of what follows.
bool reset_peak() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  return static_cast<bool>(clear.flush());
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  mpdecor::map_options settings;
  settings.in_flight = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;

  std::vector<int> items(count);
  for (std::size_t i = 0; i < count; ++i)
    items[i] = static_cast<int>(i);
  mpdecor::pool_options options;
  options.workers = 2;
  mpdecor::pool workers(options);
  workers.submit(increment)(0).get();

  const long before_kb = status_kb("VmRSS");
  if (!reset_peak() || before_kb < 0) {
    std::printf("map_memory: needs Linux's /proc/self/status and clear_refs\n");
    return 1;
  }
  const std::vector<int> results = workers.map(increment, items, settings);
  const long peak_kb = status_kb("VmHWM");
  if (results.size() != count || (count > 0 && results.back() != items.back() + 1)) {
    std::printf("map_memory: wrong results\n");
    return 1;
  }
  const double vectors_mb = 2.0 * static_cast<double>(count * sizeof(int)) / 1e6;
  const double grew_mb = static_cast<double>(peak_kb - before_kb) * 1024 / 1e6;
  std::printf("items %zu, in_flight %s: input+output vectors %.1f MB; the parent's peak grew "
              "by %.1f MB during the map (%.2fx the vectors; the output vector is %.1f MB of "
              "it)\n",
              count, settings.in_flight ? std::to_string(settings.in_flight).c_str() : "default",
              vectors_mb, grew_mb, grew_mb / vectors_mb, vectors_mb / 2);
  return 0;
}
