// SPDX-License-Identifier: BSL-1.0
// A parent that starts children and then waits to be killed.
// Usage: mpdecor_parent CHILDREN [grandchildren]
// Prints "parent PID", one "child PID" per child, then "ready". With `grandchildren`, each
// child starts a grandchild of its own (`sleep 300`, POSIX only), and one "grandchild PID"
// per child comes before "ready".
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <process.h>
#define getpid _getpid
#else
#include <sys/types.h>
#include <unistd.h>
#endif

int sleep_long() {
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}
MPDECOR_REGISTER(sleep_long);

#if !defined(_WIN32)
// Starts `sleep 300` and writes its pid to `file` (whole, through a rename); then sleeps.
int sleep_with_grandchild(std::string file) {
  const pid_t grandchild = ::fork();
  if (grandchild == 0) {
    ::execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::ofstream(file + ".part") << grandchild << std::endl;
  std::filesystem::rename(file + ".part", file);
  return sleep_long();
}
MPDECOR_REGISTER(sleep_with_grandchild);
#endif

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
  const bool grandchildren = argc > 2 && std::string(argv[2]) == "grandchildren";
  std::vector<std::string> files;
  for (int i = 0; i < children; ++i) {
#if !defined(_WIN32)
    if (grandchildren) {
      files.push_back((std::filesystem::temp_directory_path() /
                       ("mpdecor-parent-" + std::to_string(getpid()) + "-" + std::to_string(i)))
                          .string());
      handles.push_back(mpdecor::proc(sleep_with_grandchild)(files.back()));
    }
#endif
    if (!grandchildren)
      handles.push_back(mpdecor::proc(sleep_long)());
    std::cout << "child " << handles.back().pid() << std::endl;
  }
#if !defined(_WIN32)
  for (const auto& file : files) {
    long pid = 0;
    for (int i = 0; i < 6000 && !(std::ifstream(file) >> pid); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::filesystem::remove(file);
    std::cout << "grandchild " << pid << std::endl;
  }
#endif
  std::cout << "ready" << std::endl;
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}
