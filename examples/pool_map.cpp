// SPDX-License-Identifier: BSL-1.0
// A pool of warm workers maps a function over many inputs, with a progress bar on stderr.
// Each worker loads its "model" once (the initializer), then serves item after item.
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace {
// Set once per worker by the initializer; the parent never loads it.
std::vector<double> weights;
} // namespace

void load_model() { weights = {0.5, 1.5, 2.5}; }
MPDECOR_REGISTER(load_model);

double score(int item) {
  std::this_thread::sleep_for(std::chrono::milliseconds(5)); // stands in for real work
  double total = 0;
  for (double w : weights)
    total += w * item;
  return total;
}
MPDECOR_REGISTER(score);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);

  mpdecor::pool_options settings;
  settings.workers = 4;
  mpdecor::pool workers(settings, load_model);

  std::vector<int> items(200);
  std::iota(items.begin(), items.end(), 0);

  mpdecor::map_options progress;
  progress.chunk = 4; // short tasks: hand four at a time to a worker
  progress.progress = [](std::size_t done, std::size_t total) {
    const int width = 40;
    const int filled = static_cast<int>(done * width / total);
    std::fprintf(stderr, "\r[%-*s] %zu/%zu", width, std::string(filled, '#').c_str(), done, total);
    if (done == total)
      std::fputc('\n', stderr);
  };
  const std::vector<double> scores = workers.map(score, items, progress);

  const double sum = std::accumulate(scores.begin(), scores.end(), 0.0);
  std::printf("sum of %zu scores: %.1f (expected %.1f)\n", scores.size(), sum, 4.5 * 199 * 200 / 2);
  return sum == 4.5 * 199 * 200 / 2 ? 0 : 1;
}
