// SPDX-License-Identifier: BSL-1.0
// Proves that an installed mpdecor works from another project: one call in a child.
#include <mpdecor/mpdecor.hpp>

#include <iostream>
#include <string>

std::string greet(std::string name, int times) {
  std::string text;
  for (int i = 0; i < times; ++i)
    text += "hello " + name + "! ";
  return text;
}
MPDECOR_REGISTER(greet);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
#if defined(MPDECOR_EXPECTED_VERSION)
  // The version header and the package's version are one.
  if (std::string(MPDECOR_VERSION_STRING) != MPDECOR_EXPECTED_VERSION) {
    std::cout << "version.hpp says " << MPDECOR_VERSION_STRING << ", the package "
              << MPDECOR_EXPECTED_VERSION << "\n";
    return 2;
  }
#endif
  static_assert(MPDECOR_VERSION == MPDECOR_VERSION_MAJOR * 10000 + MPDECOR_VERSION_MINOR * 100 +
                                       MPDECOR_VERSION_PATCH);
  const std::string text = mpdecor::proc_wait(greet)("package", 2);
  std::cout << "child returned: " << text << "\n";
  return text == "hello package! hello package! " ? 0 : 1;
}
