// A parent that starts children and then waits to be killed.
// Usage: mpdecor_parent CHILDREN
// Prints "parent PID", one "child PID" per child, then "ready".
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <process.h>
#define getpid _getpid
#else
#include <unistd.h>
#endif

int sleep_long() {
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}
MPDECOR_REGISTER(sleep_long);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
#if !defined(_WIN32)
  // This program must die of SIGINT as a program in a terminal does. A program started in
  // the background by a shell without job control (a CI job, `cmd &` in a script) inherits
  // SIGINT ignored, and no shell between the test and this program can undo that.
  std::signal(SIGINT, SIG_DFL);
#endif
  const int children = argc > 1 ? std::stoi(argv[1]) : 3;
  mpdecor::set_max_running(0);
  std::vector<mpdecor::handle<int>> handles;
  std::cout << "parent " << getpid() << std::endl;
  for (int i = 0; i < children; ++i) {
    handles.push_back(mpdecor::proc(sleep_long)());
    std::cout << "child " << handles.back().pid() << std::endl;
  }
  std::cout << "ready" << std::endl;
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}
