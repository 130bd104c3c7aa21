// SPDX-License-Identifier: BSL-1.0
// Makes calls in a program that handles SIGCHLD its own way, to show that what mpdecor
// reports does not depend on it. Prints one line per call: its label and what it gave.
// Usage: mpdecor_sigchld ignore|reap|thread
//   ignore: SIGCHLD set to SIG_IGN, as daemons do (the kernel then reaps children itself).
//   reap:   a SIGCHLD handler that reaps every child with waitpid(-1), as some programs do.
//   thread: a thread that reaps every child with waitpid(-1), as others do.
#include <mpdecor/mpdecor.hpp>

#if defined(_WIN32)
#include <iostream>
// Windows has no SIGCHLD.
int main() {
  std::cerr << "mpdecor_sigchld: POSIX only" << std::endl;
  return 2;
}
#else

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

int twice(int value) { return value * 2; }
MPDECOR_REGISTER(twice);

int crash() { std::abort(); }
MPDECOR_REGISTER(crash);

int hang() {
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}
MPDECOR_REGISTER(hang);

namespace {

extern "C" void reap_every_child(int) {
  const int saved = errno;
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved;
}

template <class Call>
void report(const std::string& label, Call call) {
  try {
    const auto value = call();
    std::cout << label << ": " << value << std::endl;
  } catch (const mpdecor::child_crashed& e) {
    std::cout << label << ": child_crashed signal=" << e.signal_name()
              << " exit=" << (e.exit_code() ? std::to_string(*e.exit_code()) : "none") << std::endl;
  } catch (const mpdecor::timeout_error&) {
    std::cout << label << ": timeout_error" << std::endl;
  } catch (const std::exception& e) {
    std::cout << label << ": another error: " << e.what() << std::endl;
  }
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "ignore") {
    std::signal(SIGCHLD, SIG_IGN);
  } else if (mode == "reap") {
    struct sigaction action {};
    action.sa_handler = reap_every_child;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGCHLD, &action, nullptr);
  } else if (mode == "thread") {
    std::thread([] {
      for (;;)
        if (::waitpid(-1, nullptr, 0) < 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }).detach();
  } else {
    std::cerr << "usage: mpdecor_sigchld ignore|reap|thread" << std::endl;
    return 2;
  }
  using namespace std::chrono_literals;
  const auto fork_server = mpdecor::start_method::fork_server;
  report("fork server value", [] {
    return mpdecor::proc_wait(twice).start_method(mpdecor::start_method::fork_server)(21);
  });
  report("fork server crash",
         [&] { return mpdecor::proc_wait(crash).start_method(fork_server).timeout(20s)(); });
  report("fork server timeout",
         [&] { return mpdecor::proc_wait(hang).start_method(fork_server).timeout(500ms)(); });
  report("fork server pool crash", [&] {
    mpdecor::pool_options settings;
    settings.workers = 1;
    settings.worker_options.start = fork_server;
    settings.worker_options.timeout = 20s;
    mpdecor::pool workers(settings);
    return workers.submit(crash)().get();
  });
  report("spawn value", [] { return mpdecor::proc_wait(twice)(21); });
  report("spawn crash", [] { return mpdecor::proc_wait(crash).timeout(20s)(); });
  report("spawn timeout", [] { return mpdecor::proc_wait(hang).timeout(500ms)(); });
  report("spawn pool crash", [&] {
    mpdecor::pool_options settings;
    settings.workers = 1;
    settings.worker_options.timeout = 20s;
    mpdecor::pool workers(settings);
    return workers.submit(crash)().get();
  });
  return 0;
}
#endif
