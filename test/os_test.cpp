// SPDX-License-Identifier: BSL-1.0
// The system-call seam (lib/os.hpp): descriptors owned by unique_fd are closed exactly
// once, and a blocking call that a signal interrupts goes on instead of failing with EINTR.
#include "os.hpp" // internal (mpdecor_internal)

#include <boost/test/unit_test.hpp>

#if defined(MPDECOR_POSIX)
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace os = mpdecor::detail::os;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::atomic<int> interruptions{0};
void count_interruption(int) { ++interruptions; }

// A SIGUSR1 handler installed without SA_RESTART, as a program may: a blocking call that
// the signal interrupts fails with EINTR. The previous handler comes back at the end.
class interrupting_handler {
public:
  interrupting_handler() {
    struct sigaction action {};
    action.sa_handler = count_interruption;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    ::sigaction(SIGUSR1, &action, &previous_);
  }
  ~interrupting_handler() { ::sigaction(SIGUSR1, &previous_, nullptr); }
  interrupting_handler(const interrupting_handler&) = delete;
  interrupting_handler& operator=(const interrupting_handler&) = delete;

private:
  struct sigaction previous_ {};
};

} // namespace

BOOST_AUTO_TEST_SUITE(os_seam)

BOOST_AUTO_TEST_CASE(unique_fd_closes_what_it_owns_once) {
  int ends[2];
  BOOST_REQUIRE(::pipe(ends) == 0);
  {
    os::unique_fd read_end(ends[0]);
    os::unique_fd write_end(ends[1]);
    os::unique_fd moved(std::move(read_end));
    BOOST_TEST(!read_end);
    BOOST_TEST(moved.get() == ends[0]);
    const int kept = write_end.release();
    BOOST_TEST(!write_end);
    BOOST_TEST(is_open(kept));
    write_end.reset(kept);
    write_end.reset();
    BOOST_TEST(!is_open(ends[1]));
    BOOST_TEST(is_open(ends[0]));
  }
  BOOST_TEST(!is_open(ends[0]));
}

BOOST_AUTO_TEST_CASE(an_interrupted_read_goes_on) {
  const interrupting_handler handler;
  int ends[2];
  BOOST_REQUIRE(::pipe(ends) == 0);
  const os::unique_fd read_end(ends[0]);
  const os::unique_fd write_end(ends[1]);
  interruptions = 0;
  const pthread_t reader = ::pthread_self();
  std::thread interrupter([&] {
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ::pthread_kill(reader, SIGUSR1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const char byte = 'x';
    (void)::write(write_end.get(), &byte, 1);
  });
  char byte = 0;
  const auto got = os::read(read_end.get(), &byte, 1);
  const int error = errno;
  interrupter.join();
  BOOST_TEST(got == 1, "errno " << error);
  BOOST_TEST(byte == 'x');
  BOOST_TEST(interruptions.load() > 0);
}

BOOST_AUTO_TEST_SUITE_END()

#endif
