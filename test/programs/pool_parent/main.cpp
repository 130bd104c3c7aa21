// SPDX-License-Identifier: BSL-1.0
// A parent that starts a pool and then waits to be killed.
// Usage: mpdecor_pool_parent WORKERS
// Prints "parent PID", one "worker PID" per worker, then "ready".
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

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
  mpdecor::pool_options settings;
  settings.workers = argc > 1 ? static_cast<std::size_t>(std::stoi(argv[1])) : 2;
  mpdecor::pool workers(settings);
  // One busy worker and the others idle: both kinds must end with the parent.
  auto busy = workers.submit(sleep_long)();
  busy.pid();
  while (workers.worker_pids().size() < settings.workers)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::cout << "parent " << getpid() << std::endl;
  for (const auto pid : workers.worker_pids())
    std::cout << "worker " << pid << std::endl;
  std::cout << "ready" << std::endl;
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}
