// SPDX-License-Identifier: BSL-1.0
// Proves that mpdecor built with add_subdirectory works in another project: one call in a
// child, under a name of our choosing.
#include <mpdecor/mpdecor.hpp>

#include <iostream>
#include <vector>

long sum(std::vector<long> values) {
  long total = 0;
  for (long value : values)
    total += value;
  return total;
}
MPDECOR_REGISTER_AS(sum, "consumer_sum");

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const long total = mpdecor::proc_wait(sum)(std::vector<long>{1, 2, 3, 4});
  std::cout << "child returned: " << total << "\n";
  return total == 10 ? 0 : 1;
}
