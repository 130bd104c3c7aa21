// SPDX-License-Identifier: BSL-1.0
// Makes calls in a process that runs short of a resource, to show that each call fails with
// its own typed error and the program goes on serving calls.
// Usage: mpdecor_limits memory
//   Starts a pool and a fork server, limits its own address space (the soft limit), then
//   asks the pool and a call (which raises its own limit) for a result larger than the limit:
//   prints what each call gave, then the result of a small call.
// Usage: mpdecor_limits descriptors
//   Uses up its descriptors before its first call, then calls with a few free, then with
//   all free again: prints what each call gave.
#include <mpdecor/mpdecor.hpp>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

#include <vector>

std::string make_text(std::uint64_t megabytes) { return std::string(megabytes << 20, 'x'); }
MPDECOR_REGISTER(make_text);

int twice(int value) { return value * 2; }
MPDECOR_REGISTER(twice);

namespace {

#if !defined(_WIN32)
// The address space this process uses now, in bytes (VmSize).
std::uint64_t address_space() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0)
      return std::stoull(line.substr(7)) * 1024;
  return 0;
}
#endif

template <class Call>
void report_value(const std::string& label, Call call) {
  try {
    const auto value = call();
    std::cout << label << ": " << value << std::endl;
  } catch (const mpdecor::launch_error& e) {
    std::cout << label << ": launch_error: " << e.what() << std::endl;
  } catch (const std::exception& e) {
    std::cout << label << ": another error: " << e.what() << std::endl;
  }
}

template <class Call>
void report(const std::string& label, Call call) {
  try {
    const auto size = call().size();
    std::cout << label << ": " << size << " bytes" << std::endl;
  } catch (const mpdecor::result_too_large& e) {
    std::cout << label << ": result_too_large " << e.size() << " pid " << e.pid() << ": "
              << e.what() << std::endl;
  } catch (const std::exception& e) {
    std::cout << label << ": another error: " << e.what() << std::endl;
  }
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  if (argc != 2)
    return 2;
  const std::string mode = argv[1];
#if !defined(_WIN32)
  if (mode == "memory") {
    mpdecor::pool_options settings;
    settings.workers = 1;
    mpdecor::pool workers(settings);
    std::cout << "warm: " << workers.submit(twice)(1).get() << " "
              << mpdecor::proc_wait(twice).start_method(mpdecor::start_method::fork_server)(2)
              << std::endl;
    // The pool's worker, started before, does not take the limit. Children started from
    // here on take it, fork server and spawn alike; the call raises it for its own child
    // (memory_limit, below the hard limit, which stays).
    const std::uint64_t limit = address_space() + (256u << 20);
    rlimit cap{};
    if (::getrlimit(RLIMIT_AS, &cap) != 0)
      return 3;
    cap.rlim_cur = limit;
    if (::setrlimit(RLIMIT_AS, &cap) != 0)
      return 3;
    report("pool", [&] { return workers.submit(make_text)(1024).get(); });
    report("call", [&] {
      return mpdecor::proc_wait(make_text)
          .start_method(mpdecor::start_method::fork_server)
          .memory_limit(std::size_t(8) << 30)(1024);
    });
    std::cout << "after: " << workers.submit(twice)(21).get() << " "
              << mpdecor::proc_wait(twice).start_method(mpdecor::start_method::fork_server)(21)
              << std::endl;
    return 0;
  }
  if (mode == "descriptors") {
    std::vector<int> held;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
      held.push_back(fd);
    auto release = [&held](std::size_t count) {
      for (; count > 0 && !held.empty(); --count) {
        ::close(held.back());
        held.pop_back();
      }
    };
    report_value("none free", [] { return mpdecor::proc_wait(twice)(1); });
    release(3); // enough for the event loop, not for a call's channel too
    report_value("three free", [] { return mpdecor::proc_wait(twice)(2); });
    release(held.size());
    report_value("all free", [] { return mpdecor::proc_wait(twice)(21); });
    return 0;
  }
#endif
  return 2;
}
