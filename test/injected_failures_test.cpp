// SPDX-License-Identifier: BSL-1.0
// What the operating system can refuse: each refused system call (lib/os.hpp injects the
// failure) ends as the affected call's typed error, or is worked around, and the program
// goes on serving calls. Nothing is left behind: no zombie, no descriptor.
#include "functions.hpp"
#include "helpers.hpp"

#include "os.hpp" // internal (mpdecor_internal)

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using namespace fixtures;
namespace os = mpdecor::detail::os;

#if defined(__linux__) // the injected calls are Linux's; Windows has its own tests
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The call's launch_error, checked for its error code; fails the test if it did not fail so.
template <class Call>
void expect_launch_error(Call call, int code, const std::string& detail) {
  try {
    call();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::launch_error& e) {
    BOOST_TEST(e.code().value() == code, e.what());
    BOOST_TEST(contains(e.what(), detail), e.what());
  }
}

// Every injected failure is consumed, and the next calls work as before.
void check_the_program_still_serves_calls() {
  BOOST_TEST(mpdecor::proc_wait(add)(20, 22) == 42);
  BOOST_TEST(mpdecor::proc_wait(add).start_method(mpdecor::start_method::fork_server)(1, 1) == 2);
  BOOST_TEST(helpers::zombie_children().empty());
}

} // namespace
#endif

BOOST_AUTO_TEST_SUITE(injected_failures)

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(no_channel_for_a_call_is_a_launch_error) {
  os::inject_failure(os::operation::socketpair, EMFILE);
  expect_launch_error([] { mpdecor::proc_wait(add)(1, 2); }, EMFILE, "creating the channel");
  os::inject_failure(os::operation::socketpair, ENFILE);
  expect_launch_error(
      [] { mpdecor::proc_wait(add).start_method(mpdecor::start_method::fork_server)(1, 2); },
      ENFILE, "creating the channel");
  check_the_program_still_serves_calls();
}

BOOST_AUTO_TEST_CASE(a_refused_spawn_is_a_launch_error) {
  os::inject_failure(os::operation::spawn, EAGAIN);
  expect_launch_error([] { mpdecor::proc_wait(add)(1, 2); }, EAGAIN, "starting ");
  check_the_program_still_serves_calls();
}

// Seccomp filters (containers), valgrind and kernels before 5.3 refuse pidfd_open: a thread
// of mpdecor's watches the child instead, and nothing else changes.
BOOST_AUTO_TEST_CASE(without_pidfd_calls_work_and_report_how_the_child_ended) {
  for (const int refusal : {ENOSYS, EPERM}) {
    os::inject_failure(os::operation::pidfd_open, refusal, 4);
    BOOST_TEST(mpdecor::proc_wait(add)(2, 3) == 5);
    try {
      mpdecor::proc_wait(exit_with)(7);
      BOOST_FAIL("no exception");
    } catch (const mpdecor::child_crashed& e) {
      BOOST_TEST((e.exit_code() == 7), e.what());
    }
    auto slow = mpdecor::proc(sleep_ms).timeout(200ms)(60'000);
    BOOST_CHECK_THROW(slow.get(), mpdecor::timeout_error);
    auto killed = mpdecor::proc(sleep_ms)(60'000);
    const auto pid = killed.pid();
    killed.kill();
    BOOST_CHECK_THROW(killed.get(), mpdecor::child_crashed);
    BOOST_TEST(!helpers::process_exists(static_cast<long>(pid)), "the child was reaped");
  }
  check_the_program_still_serves_calls();
}

BOOST_AUTO_TEST_CASE(no_descriptor_to_watch_a_child_is_a_launch_error_and_leaves_no_zombie) {
  os::inject_failure(os::operation::pidfd_open, EMFILE);
  expect_launch_error([] { mpdecor::proc_wait(add)(1, 2); }, EMFILE, "watching the child");
  // Without pidfd, and without a thread to watch it either.
  os::inject_failure(os::operation::pidfd_open, ENOSYS);
  os::inject_failure(os::operation::start_thread, EAGAIN);
  expect_launch_error([] { mpdecor::proc_wait(add)(1, 2); }, EAGAIN, "watching the child");
  check_the_program_still_serves_calls();
}

BOOST_AUTO_TEST_CASE(a_pool_whose_workers_cannot_start_fails_its_tasks_and_the_next_pool_works) {
  os::inject_failure(os::operation::pidfd_open, EMFILE);
  {
    mpdecor::pool_options settings;
    settings.workers = 1;
    mpdecor::pool workers(settings);
    BOOST_CHECK_THROW(workers.submit(add)(1, 2).get(), mpdecor::launch_error);
  }
  mpdecor::pool_options settings;
  settings.workers = 1;
  mpdecor::pool workers(settings);
  BOOST_TEST(workers.submit(add)(1, 2).get() == 3);
  check_the_program_still_serves_calls();
}

// The fork server's reader thread (RLIMIT_NPROC reached, or no memory for a stack).
BOOST_AUTO_TEST_CASE(a_fork_server_that_cannot_get_its_reader_thread_is_a_launch_error) {
  // A fresh server is needed: the running one is ended, and its reader notices.
  BOOST_TEST(mpdecor::proc_wait(add).start_method(mpdecor::start_method::fork_server)(1, 1) == 2);
  for (const long server : helpers::fork_servers())
    ::kill(static_cast<pid_t>(server), SIGKILL);
  const auto give_up = std::chrono::steady_clock::now() + 30s; // a hang detector
  while (!helpers::fork_servers().empty() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms); // the reader forgets the server once it has reaped it
  os::inject_failure(os::operation::start_thread, EAGAIN);
  expect_launch_error(
      [] { mpdecor::proc_wait(add).start_method(mpdecor::start_method::fork_server)(1, 2); },
      EAGAIN, "reader thread");
  BOOST_TEST(helpers::fork_servers().empty(), "the server without a reader was ended");
  check_the_program_still_serves_calls();
}

BOOST_AUTO_TEST_CASE(a_result_segment_the_parent_cannot_map_is_result_too_large) {
  os::inject_failure(os::operation::mmap, ENOMEM);
  try {
    mpdecor::proc_wait(make_doubles)(std::uint64_t{4} << 20);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::result_too_large& e) {
    BOOST_TEST(e.size() > (std::uint64_t{32} << 20), e.what());
    BOOST_TEST(contains(e.what(), "ran out of memory"), e.what());
  }
  check_the_program_still_serves_calls();
}

BOOST_AUTO_TEST_CASE(an_argument_segment_that_cannot_be_made_is_reported_to_the_caller) {
  os::inject_failure(os::operation::memfd_create, EMFILE);
  try {
    const auto [count, sum, shared] = mpdecor::proc_wait(sum_doubles)(make_doubles(4 << 20));
    BOOST_TEST(count == (4u << 20));
    BOOST_TEST(!shared, "sent in the message instead");
  } catch (const mpdecor::error& e) {
    BOOST_TEST(contains(e.what(), "memfd_create"), e.what());
  }
  check_the_program_still_serves_calls();
}
#endif

BOOST_AUTO_TEST_SUITE_END()
