// SPDX-License-Identifier: BSL-1.0
// README.md, first snippet: the whole program as the README shows it (check_snippets
// keeps the two identical).
#include <mpdecor/mpdecor.hpp>
#include <iostream>
#include <string>

double train(std::string config, int epochs) { return config.size() + epochs * 0.5; }
MPDECOR_REGISTER(train);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);                             // first line: a child serves its call here
  auto handle = mpdecor::proc(train)("a.cfg", 5);        // starts a child, returns at once
  double loss = mpdecor::proc_wait(train)("b.cfg", 10);  // runs in a child, waits for the result
  std::cout << loss << " " << handle.get() << "\n";
}                                                        // running children are waited for at exit
