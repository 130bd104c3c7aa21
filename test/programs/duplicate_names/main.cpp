// SPDX-License-Identifier: BSL-1.0
// A program with two registrations under one name: init() must refuse to start.
#include <mpdecor/mpdecor.hpp>

#include <iostream>

int main(int argc, char** argv) {
  try {
    mpdecor::init(argc, argv);
  } catch (const mpdecor::usage_error& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  std::cout << "init accepted the registrations\n";
  return 0;
}
