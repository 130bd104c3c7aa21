// SPDX-License-Identifier: BSL-1.0
// Proves that mpdecor built from its sources works in another project: a call in a child
// under a name of our choosing, and an exception from a child caught by its type and by
// the base class. With FetchContent the library is a shared one with hidden symbols, so
// the catches show that its exception types cross the library's boundary.
#include <mpdecor/mpdecor.hpp>

#include <iostream>
#include <stdexcept>
#include <vector>

long sum(std::vector<long> values) {
  long total = 0;
  for (long value : values)
    total += value;
  return total;
}
MPDECOR_REGISTER_AS(sum, "consumer_sum");

int refuse(int value) { throw std::invalid_argument("refused " + std::to_string(value)); }
MPDECOR_REGISTER(refuse);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const long total = mpdecor::proc_wait(sum)(std::vector<long>{1, 2, 3, 4});
  std::cout << "child returned: " << total << "\n";
  if (total != 10)
    return 1;
  try {
    mpdecor::proc_wait(refuse)(7);
    std::cout << "refuse returned\n";
    return 1;
  } catch (const mpdecor::remote_error& error) {
    std::cout << "caught remote_error: " << error.type() << ": " << error.what() << "\n";
  }
  try {
    mpdecor::proc_wait(refuse)(8);
    return 1;
  } catch (const mpdecor::error& error) {
    std::cout << "caught error from " << error.function() << "\n";
  }
  return 0;
}
