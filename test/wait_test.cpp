// SPDX-License-Identifier: BSL-1.0
// Waiting on sets of calls (wait_any, wait_all, as_completed) and what a handle tells
// without throwing (exception, cancelled, get with a timeout, on_finished).
#include "functions.hpp"
#include "task_state.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

mpdecor::pool_options one_worker() {
  mpdecor::pool_options settings;
  settings.workers = 1;
  return settings;
}

/// An optional index as a number to compare, -1 when there is none.
long index_of(const std::optional<std::size_t>& index) {
  return index ? static_cast<long>(*index) : -1L;
}

template <class Error>
bool holds(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error&) {
    return true;
  } catch (...) {
    return false;
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(waiting)

// The long calls end only when the test kills them, so the order is the test's own.
BOOST_AUTO_TEST_CASE(as_completed_gives_each_index_once_in_the_order_the_calls_finish) {
  std::vector<mpdecor::handle<int>> calls{
      mpdecor::proc(sleep_ms)(60'000), mpdecor::proc(sleep_ms)(0), mpdecor::proc(sleep_ms)(60'000)};
  std::vector<std::size_t> order;
  for (std::size_t index : mpdecor::as_completed(calls)) {
    order.push_back(index);
    if (order.size() == 1)
      calls[2].kill();
    else if (order.size() == 2)
      calls[0].kill();
  }
  BOOST_TEST(order == (std::vector<std::size_t>{1, 2, 0}), boost::test_tools::per_element());
  BOOST_TEST(calls[1].get() == 0);
}

BOOST_AUTO_TEST_CASE(as_completed_gives_calls_already_finished_at_once_and_next_for_gives_up) {
  auto done = mpdecor::proc(add)(1, 2);
  done.wait();
  auto slow = mpdecor::proc(sleep_ms)(60'000);
  slow.pid(); // started (a concurrency limit could keep it queued a while)
  auto order = mpdecor::as_completed(slow, done); // different result types, given one by one
  BOOST_TEST(order.size() == 2U);
  BOOST_TEST(index_of(order.next_for(60s)) == 1);
  BOOST_TEST(!order.next_for(50ms).has_value());
  BOOST_TEST(slow.running()); // giving up waiting leaves the call running
  slow.kill();
  BOOST_TEST(index_of(order.next()) == 0);
  BOOST_TEST(!order.next().has_value()); // every index has been given
}

BOOST_AUTO_TEST_CASE(wait_any_returns_the_first_to_finish_among_calls_and_pool_tasks) {
  mpdecor::pool workers(one_worker());
  auto slow = mpdecor::proc(sleep_ms)(60'000);
  auto quick = workers.submit(shout)("done");
  BOOST_TEST(mpdecor::wait_any(slow, quick) == 1U);
  BOOST_TEST(quick.get() == "DONE!");
  BOOST_TEST(!slow.finished());
  slow.kill();
  slow.wait();
  BOOST_TEST(mpdecor::wait_any(slow, quick) == 0U); // both finished: the first in the list
}

BOOST_AUTO_TEST_CASE(wait_any_for_gives_up_while_every_call_runs_and_leaves_them_running) {
  std::vector<mpdecor::handle<int>> calls{mpdecor::proc(sleep_ms)(60'000),
                                          mpdecor::proc(sleep_ms)(60'000)};
  BOOST_TEST(!mpdecor::wait_any_for(calls, 100ms).has_value());
  BOOST_TEST(!calls[0].finished());
  BOOST_TEST(!calls[1].finished());
  calls[1].kill();
  BOOST_TEST(index_of(mpdecor::wait_any_for(calls, 60s)) == 1);
  calls[0].kill();
}

BOOST_AUTO_TEST_CASE(wait_all_waits_for_every_call_however_it_ended) {
  mpdecor::pool workers(one_worker());
  std::vector<mpdecor::handle<void>> calls{mpdecor::proc(throw_runtime_error)("no"),
                                           mpdecor::proc(raise_segfault)(),
                                           workers.submit(do_nothing)()};
  mpdecor::wait_all(calls);
  for (const auto& call : calls)
    BOOST_TEST(call.finished());
  BOOST_TEST(mpdecor::wait_all_for(calls, 0ms));

  auto slow = mpdecor::proc(sleep_ms)(60'000);
  auto quick = mpdecor::proc(shout)("x");
  std::vector<mpdecor::handle<int>> with_slow{slow};
  BOOST_TEST(!mpdecor::wait_all_for(with_slow, 100ms));
  BOOST_TEST(!mpdecor::wait_all_until(with_slow, std::chrono::system_clock::now() + 50ms));
  slow.kill();
  mpdecor::wait_all(slow, quick); // handles of different result types
  BOOST_TEST(slow.finished());
  BOOST_TEST(quick.finished());
}

BOOST_AUTO_TEST_CASE(get_with_a_timeout_throws_wait_timeout_and_the_call_runs_on) {
  auto slow = mpdecor::proc(sleep_ms)(60'000);
  slow.pid(); // started, so that the kill below ends a running child
  BOOST_CHECK_THROW(slow.get(50ms), mpdecor::wait_timeout);
  try {
    slow.get(1ms);
  } catch (const mpdecor::wait_timeout& e) {
    BOOST_TEST(e.function() == "fixtures::sleep_ms");
    BOOST_TEST(std::string(e.what()).find("had not finished") != std::string::npos);
  }
  BOOST_TEST(!slow.finished());
  BOOST_TEST(!slow.wait_until(std::chrono::steady_clock::now() + 20ms));
  slow.kill();
  BOOST_CHECK_THROW(slow.get(60s), mpdecor::child_crashed); // the call's own error
  BOOST_TEST(mpdecor::proc(add)(2, 2).get(60s) == 4);
  // Timeouts too long for nanoseconds wait as long as it takes, never overflow into "now".
  BOOST_TEST(mpdecor::proc(add)(1, 1).get(std::chrono::hours::max()) == 2);
  BOOST_TEST(mpdecor::proc(add)(1, 2).wait_for(std::chrono::hours::max()));
  BOOST_TEST(mpdecor::proc(add)(1, 3).wait_until(std::chrono::system_clock::time_point::max()));
  BOOST_TEST(mpdecor::proc(add)(2, 3).wait_until(std::chrono::system_clock::now() + 60s));
}

BOOST_AUTO_TEST_CASE(exception_gives_the_calls_error_without_throwing_it) {
  const auto failed = mpdecor::proc(throw_runtime_error)("boom").exception();
  BOOST_REQUIRE(failed);
  BOOST_TEST(holds<mpdecor::remote_error>(failed));
  BOOST_TEST(holds<mpdecor::child_crashed>(mpdecor::proc(call_abort)().exception()));
  BOOST_TEST(!mpdecor::proc(add)(1, 2).exception());
  mpdecor::pool workers(one_worker());
  BOOST_TEST(holds<mpdecor::remote_error>(workers.submit(throw_runtime_error)("x").exception()));
}

BOOST_AUTO_TEST_CASE(cancelled_is_true_only_for_a_call_withdrawn_before_it_started) {
  mpdecor::pool workers(one_worker());
  auto running = workers.submit(sleep_ms)(60'000);
  auto queued = workers.submit(sleep_ms)(0);
  running.pid(); // the worker has it
  BOOST_TEST(!queued.cancelled());
  queued.cancel();
  BOOST_TEST(queued.cancelled());
  BOOST_TEST(holds<mpdecor::cancelled>(queued.exception()));
  running.kill();
  running.wait();
  BOOST_TEST(!running.cancelled()); // killed while running: child_crashed
  BOOST_TEST(holds<mpdecor::child_crashed>(running.exception()));
  BOOST_TEST(!mpdecor::proc(add)(1, 1).cancelled());
}

BOOST_AUTO_TEST_CASE(on_finished_runs_once_with_the_handle_after_the_call_finishes) {
  std::atomic<int> runs{0};
  std::promise<int> seen;
  auto call = mpdecor::proc(add)(40, 2);
  call.on_finished([&](const mpdecor::handle<int>& done) {
    ++runs;
    seen.set_value(done.get());
  });
  auto result = seen.get_future();
  BOOST_REQUIRE(result.wait_for(60s) == std::future_status::ready);
  BOOST_TEST(result.get() == 42);
  call.wait();
  BOOST_TEST(runs == 1);

  // On a call that has finished, the callback runs at once, on this thread.
  std::thread::id ran_on;
  call.on_finished([&](const auto&) { ran_on = std::this_thread::get_id(); });
  BOOST_TEST((ran_on == std::this_thread::get_id()));

  // A pool task's, and a failed call's, callbacks run as well.
  mpdecor::pool workers(one_worker());
  std::promise<bool> failed;
  workers.submit(throw_runtime_error)("x").on_finished(
      [&](const auto& done) { failed.set_value(static_cast<bool>(done.exception())); });
  auto failure = failed.get_future();
  BOOST_REQUIRE(failure.wait_for(60s) == std::future_status::ready);
  BOOST_TEST(failure.get());
}

BOOST_AUTO_TEST_CASE(a_throwing_completion_callback_is_ignored_and_calls_go_on) {
  std::promise<void> second_ran;
  auto call = mpdecor::proc(sleep_ms)(100);
  call.on_finished([](const auto&) { throw std::runtime_error("callback failed"); });
  call.on_finished([](const auto&) { throw 7; });
  call.on_finished([&](const auto&) { second_ran.set_value(); });
  BOOST_TEST(call.get() == 100);
  BOOST_REQUIRE(second_ran.get_future().wait_for(60s) == std::future_status::ready);
  // The thread that ran them serves later calls as before.
  BOOST_TEST(mpdecor::proc_wait(add)(1, 2) == 3);
}

BOOST_AUTO_TEST_CASE(waiting_for_no_handles_or_a_default_handle_is_a_usage_error) {
  std::vector<mpdecor::handle<int>> none;
  BOOST_CHECK_THROW(mpdecor::wait_any(none), mpdecor::usage_error);
  BOOST_CHECK_THROW(mpdecor::as_completed(none), mpdecor::usage_error);
  BOOST_CHECK_THROW(mpdecor::wait_all(none), mpdecor::usage_error);
  std::vector<mpdecor::handle<int>> with_default{mpdecor::handle<int>()};
  BOOST_CHECK_THROW(mpdecor::wait_any(with_default), mpdecor::usage_error);
  BOOST_CHECK_THROW(mpdecor::wait_all_for(with_default, 1s), mpdecor::usage_error);
}

// Waiting many times on calls that run on leaves nothing behind in them: each wait's
// listeners are dropped when it returns.
BOOST_AUTO_TEST_CASE(repeated_bounded_waits_on_running_calls_leave_no_listener_behind) {
  std::vector<mpdecor::handle<int>> calls{mpdecor::proc(sleep_ms)(60'000)};
  for (int i = 0; i < 1000; ++i)
    BOOST_TEST_REQUIRE(!mpdecor::wait_any_for(calls, 0ms).has_value());
  {
    auto order = mpdecor::as_completed(calls);
    BOOST_TEST(!order.next_for(0ms).has_value());
  }
  auto& state = *calls[0].state();
  {
    std::lock_guard lock(state.mutex);
    BOOST_TEST(state.listeners.empty());
  }
  calls[0].kill();
  BOOST_TEST(mpdecor::wait_any(calls) == 0U);
}

BOOST_AUTO_TEST_CASE(wait_with_progress_reports_the_start_every_finish_and_the_failures) {
  std::vector<mpdecor::handle<int>> calls;
  for (int i = 0; i < 3; ++i)
    calls.push_back(mpdecor::proc(add)(i, i));
  calls.push_back(mpdecor::proc(exit_with)(3));
  calls.push_back(mpdecor::proc(refuse)("no"));
  std::vector<mpdecor::progress> reports;
  const auto last = mpdecor::wait_with_progress(
      calls, [&](const mpdecor::progress& now) { reports.push_back(now); });
  BOOST_REQUIRE(reports.size() == 6U); // the start, then each of the five
  BOOST_TEST(reports.front().done == 0U);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    BOOST_TEST(reports[i].done == i);
    BOOST_TEST(reports[i].total == 5U);
  }
  BOOST_TEST(last.done == 5U);
  BOOST_TEST(last.failed == 2U);
  BOOST_TEST(last.fraction() == 1.0);
  for (const auto& call : calls)
    BOOST_TEST(call.finished());
}

BOOST_AUTO_TEST_CASE(wait_with_progress_reports_at_its_interval_while_nothing_finishes) {
  std::vector<mpdecor::handle<int>> calls{mpdecor::proc(sleep_ms)(700)};
  std::vector<mpdecor::progress> reports;
  mpdecor::wait_with_progress(
      calls, [&](const mpdecor::progress& now) { reports.push_back(now); }, 100ms);
  BOOST_TEST(reports.size() >= 3U); // the start, some waiting, the end
  for (std::size_t i = 1; i < reports.size(); ++i)
    BOOST_TEST((reports[i].elapsed >= reports[i - 1].elapsed));
  BOOST_TEST(reports.back().done == 1U);
  BOOST_TEST(reports[reports.size() - 2].done == 0U);
}

BOOST_AUTO_TEST_CASE(progress_gives_rate_and_time_left_at_the_rate_so_far) {
  mpdecor::progress now;
  now.total = 10;
  BOOST_TEST(now.rate() == 0.0);
  BOOST_TEST(!now.remaining().has_value());
  now.done = 4;
  now.elapsed = 2s;
  BOOST_TEST(now.rate() == 2.0);
  BOOST_TEST(now.fraction() == 0.4);
  BOOST_TEST(std::chrono::duration<double>(*now.remaining()).count() == 3.0,
             boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_SUITE_END()
