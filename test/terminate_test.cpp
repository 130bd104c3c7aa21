// SPDX-License-Identifier: BSL-1.0
// handle::terminate(grace): the child is asked to end (SIGTERM on POSIX), and killed if it
// still runs when the grace period is over; for fresh children, fork-server children and
// pool tasks alike. On Windows the child is killed at once.
#include "functions.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

std::string ready_file(const std::string& name) {
  static int count = 0;
  const auto file =
      std::filesystem::temp_directory_path() /
      ("mpdecor-terminate-" + std::to_string(reinterpret_cast<std::uintptr_t>(&count)) + "-" +
       name + "-" + std::to_string(++count));
  std::filesystem::remove(file);
  return file.string();
}

// Waits until the child has installed its SIGTERM handling (it creates `file` then).
void wait_until_ready(const std::string& file) {
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!std::filesystem::exists(file) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(5ms);
  BOOST_REQUIRE(std::filesystem::exists(file));
  std::filesystem::remove(file);
}

mpdecor::pool_options one_worker(mpdecor::start_method method = mpdecor::start_method::spawn) {
  mpdecor::pool_options settings;
  settings.workers = 1;
  settings.worker_options.start = method;
  return settings;
}

#if !defined(_WIN32)
const mpdecor::start_method local_methods[] = {mpdecor::start_method::spawn,
                                               mpdecor::start_method::fork_server};
#endif

} // namespace

BOOST_AUTO_TEST_SUITE(terminating)

#if !defined(_WIN32)
BOOST_AUTO_TEST_CASE(a_function_that_handles_sigterm_cleans_up_and_its_result_stands) {
  for (const auto method : local_methods) {
    const auto file = ready_file("clean");
    auto call = mpdecor::proc(on_sigterm).start_method(method)(file, false);
    wait_until_ready(file);
    call.terminate(60s);
    BOOST_TEST(call.get() == 1); // the function saw the signal and returned
  }
  mpdecor::pool workers(one_worker());
  const auto file = ready_file("pool");
  auto task = workers.submit(on_sigterm)(file, false);
  wait_until_ready(file);
  task.terminate(60s);
  BOOST_TEST(task.get() == 1);
}

BOOST_AUTO_TEST_CASE(a_child_that_ignores_sigterm_is_killed_when_the_grace_period_ends) {
  for (const auto method : local_methods) {
    const auto file = ready_file("ignore");
    auto call = mpdecor::proc(on_sigterm).start_method(method)(file, true);
    wait_until_ready(file);
    const auto asked = std::chrono::steady_clock::now();
    call.terminate(300ms);
    try {
      call.get();
      BOOST_FAIL("the call should have been killed");
    } catch (const mpdecor::child_crashed& e) {
      BOOST_TEST(e.signal().value_or(0) == SIGKILL);
      BOOST_TEST(std::string(e.what()).find("terminated through its handle") != std::string::npos,
                 e.what());
    }
    BOOST_TEST((std::chrono::steady_clock::now() - asked >= 300ms)); // not killed before
  }
}

BOOST_AUTO_TEST_CASE(a_child_without_sigterm_handling_dies_of_sigterm) {
  for (const auto method : local_methods) {
    auto call = mpdecor::proc(sleep_ms).start_method(method)(60'000);
    call.pid();
    call.terminate(); // the default grace: the child ends long before it runs out
    try {
      call.get();
      BOOST_FAIL("the call should have ended by SIGTERM");
    } catch (const mpdecor::child_crashed& e) {
      BOOST_TEST(e.signal().value_or(0) == SIGTERM);
      BOOST_TEST(e.signal_name() == "SIGTERM");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_terminated_pool_task_fails_alone_and_its_worker_is_replaced) {
  for (const auto method : local_methods) {
    mpdecor::pool workers(one_worker(method));
    auto task = workers.submit(sleep_ms)(60'000);
    const auto first = task.pid();
    task.terminate(60s);
    BOOST_CHECK_THROW(task.get(), mpdecor::child_crashed);
    auto next = workers.submit(add)(1, 2);
    BOOST_TEST(next.get() == 3);
    BOOST_TEST(next.pid() != first);
  }
}
#else
BOOST_AUTO_TEST_CASE(terminate_ends_a_windows_child_at_once) {
  auto call = mpdecor::proc(sleep_ms)(60'000);
  call.pid();
  call.terminate(60s);
  BOOST_REQUIRE(call.wait_for(30s)); // killed at once, not after the grace period
  BOOST_CHECK_THROW(call.get(), mpdecor::child_crashed);
  mpdecor::pool workers(one_worker());
  auto task = workers.submit(sleep_ms)(60'000);
  task.pid();
  task.terminate(60s);
  BOOST_REQUIRE(task.wait_for(30s));
  BOOST_CHECK_THROW(task.get(), mpdecor::child_crashed);
  BOOST_TEST(workers.submit(add)(1, 2).get() == 3);
}
#endif

BOOST_AUTO_TEST_CASE(terminating_a_queued_call_cancels_it) {
  mpdecor::pool workers(one_worker());
  auto running = workers.submit(sleep_ms)(60'000);
  auto queued = workers.submit(sleep_ms)(0);
  running.pid();
  queued.terminate(60s);
  BOOST_TEST(queued.cancelled());
  running.kill();
  BOOST_CHECK_THROW(running.get(), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_CASE(kill_after_terminate_kills_at_once) {
  const auto file = ready_file("kill");
  auto call = mpdecor::proc(on_sigterm)(file, true);
  wait_until_ready(file);
  call.terminate(10min);
  call.kill();
  BOOST_REQUIRE(call.wait_for(30s));
  BOOST_CHECK_THROW(call.get(), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_SUITE_END()
