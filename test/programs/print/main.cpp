// SPDX-License-Identifier: BSL-1.0
// A child that prints: its output must reach the parent's stdout and stderr.
#include <mpdecor/mpdecor.hpp>

#include <iostream>
#include <string>

void say(std::string text) {
  std::cout << "child stdout: " << text << std::endl;
  std::cerr << "child stderr: " << text << std::endl;
}
MPDECOR_REGISTER(say);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  mpdecor::proc_wait(say)("hello");
  std::cout << "parent done" << std::endl;
  return 0;
}
