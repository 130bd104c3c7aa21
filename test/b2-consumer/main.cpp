// SPDX-License-Identifier: BSL-1.0
// Proves that mpdecor works from another b2 project (Jamroot here): one call in a child,
// the version macros, and an exception from a child caught as mpdecor::remote_error. The
// library is b2's default shared one, whose symbols are hidden but for the API, so the
// catch shows that its exception types cross the library's boundary.
#include <mpdecor/mpdecor.hpp>

#include <iostream>
#include <stdexcept>
#include <string>

std::string greet(std::string name, int times) {
  std::string text;
  for (int i = 0; i < times; ++i)
    text += "hello " + name + "! ";
  return text;
}
MPDECOR_REGISTER(greet);

int refuse(int value) { throw std::invalid_argument("refused " + std::to_string(value)); }
MPDECOR_REGISTER(refuse);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  static_assert(MPDECOR_VERSION == MPDECOR_VERSION_MAJOR * 10000 + MPDECOR_VERSION_MINOR * 100 +
                                       MPDECOR_VERSION_PATCH);
  const std::string text = mpdecor::proc_wait(greet)("b2", 2);
  std::cout << "child returned: " << text << "\n";
  if (text != "hello b2! hello b2! ")
    return 1;
  try {
    mpdecor::proc_wait(refuse)(7);
    std::cout << "refuse returned\n";
    return 1;
  } catch (const mpdecor::remote_error& error) {
    std::cout << "caught remote_error: " << error.type() << ": " << error.message() << "\n";
    if (error.type() != "std::invalid_argument" || error.message() != "refused 7")
      return 1;
  }
  std::cout << "mpdecor " << MPDECOR_VERSION_STRING << " from another b2 project: passed\n";
  return 0;
}
