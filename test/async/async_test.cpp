// SPDX-License-Identifier: BSL-1.0
// async_call: fresh-process and pool calls as Asio operations, with every kind of
// completion token, concurrency on one thread, and cancellation.
#include "../functions.hpp"
#include "../helpers.hpp"

#include <mpdecor/async.hpp>
#include <mpdecor/mpdecor.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace fixtures;
namespace asio = boost::asio;

namespace {

mpdecor::pool_options with_workers(std::size_t count) {
  mpdecor::pool_options settings;
  settings.workers = count;
  return settings;
}

bool is_operation_aborted(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(async)

BOOST_AUTO_TEST_CASE(a_callback_gets_the_result_of_a_fresh_process_call) {
  asio::io_context io;
  int result = 0;
  std::exception_ptr error;
  mpdecor::async_call(io.get_executor(), mpdecor::proc(add), 2, 3,
                      [&](std::exception_ptr e, int value) {
                        error = e;
                        result = value;
                      });
  io.run();
  BOOST_TEST(!error);
  BOOST_TEST(result == 5);
}

BOOST_AUTO_TEST_CASE(a_callback_gets_the_result_of_a_pool_call) {
  mpdecor::pool workers(with_workers(1));
  asio::io_context io;
  int result = 0;
  mpdecor::async_call(io.get_executor(), workers.submit(add), 20, 22,
                      [&](std::exception_ptr, int value) { result = value; });
  io.run();
  BOOST_TEST(result == 42);
}

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(a_pool_call_takes_a_large_argument_through_shared_memory) {
  mpdecor::pool workers(with_workers(1));
  asio::io_context io;
  constexpr std::uint64_t count = 4 << 20;
  std::tuple<std::uint64_t, double, bool> result{};
  mpdecor::async_call(
      io.get_executor(), workers.submit(sum_doubles), make_doubles(count),
      [&](std::exception_ptr, std::tuple<std::uint64_t, double, bool> value) { result = value; });
  io.run();
  BOOST_TEST(std::get<0>(result) == count);
  BOOST_TEST(std::get<2>(result), "the argument came through shared memory");
}
#endif

BOOST_AUTO_TEST_CASE(the_callback_gets_the_call_error) {
  asio::io_context io;
  std::exception_ptr error;
  mpdecor::async_call(io.get_executor(), mpdecor::proc(throw_runtime_error), "broken",
                      [&](std::exception_ptr e) { error = e; });
  io.run();
  BOOST_REQUIRE(error);
  BOOST_CHECK_THROW(std::rethrow_exception(error), mpdecor::remote_error);
}

BOOST_AUTO_TEST_CASE(use_future_gives_a_future_of_the_result) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  auto future = mpdecor::async_call(io.get_executor(), mpdecor::proc(add), 1, 2, asio::use_future);
  auto failed =
      mpdecor::async_call(io.get_executor(), mpdecor::proc(raise_segfault), asio::use_future);
  BOOST_TEST(future.get() == 3);
  BOOST_CHECK_THROW(failed.get(), mpdecor::child_crashed);
  guard.reset();
  runner.join();
}

BOOST_AUTO_TEST_CASE(deferred_starts_the_call_only_when_initiated) {
  mpdecor::pool workers(with_workers(1));
  asio::io_context io;
  auto operation =
      mpdecor::async_call(io.get_executor(), workers.submit(add), 4, 5, asio::deferred);
  BOOST_TEST(workers.queued() + workers.running() + workers.completed() == 0U);
  int result = 0;
  std::move(operation)([&](std::exception_ptr, int value) { result = value; });
  io.run();
  BOOST_TEST(result == 9);
  BOOST_TEST(workers.completed() == 1U);
}

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
BOOST_AUTO_TEST_CASE(a_hundred_coroutines_await_pool_calls_concurrently_on_one_thread) {
  mpdecor::pool workers(with_workers(4));
  asio::io_context io;
  using interval = std::pair<std::int64_t, std::int64_t>;
  std::vector<interval> results(100, interval{-1, -1});
  std::size_t awaiting = 0;
  std::size_t most_awaiting = 0;
  for (int i = 0; i < 100; ++i)
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          most_awaiting = std::max(most_awaiting, ++awaiting);
          results[static_cast<std::size_t>(i)] = co_await mpdecor::async_call(
              io.get_executor(), workers.submit(timed_sleep), 20, asio::use_awaitable);
          --awaiting;
          co_return; // gcc 12 warns of a coroutine lambda without one
        },
        asio::detached);
  const auto start = std::chrono::steady_clock::now();
  io.run(); // one thread
  const auto elapsed = std::chrono::steady_clock::now() - start;
  for (const auto& [began, ended] : results)
    BOOST_TEST(ended - began >= std::chrono::nanoseconds(20ms).count());
  // Every coroutine was suspended in its call at once, on this one thread, and the pool ran
  // the calls on its workers side by side (their sleeps overlap in time), never more than
  // its four at once.
  BOOST_TEST(most_awaiting == 100U);
  BOOST_TEST(helpers::max_overlap(results) >= 2U);
  BOOST_TEST(helpers::max_overlap(results) <= 4U);
  // A hang detector only: about 0.5 s when the calls overlap, 2 s if serialized.
  BOOST_TEST((elapsed < 60s));
}

// The spellings a user writes first, with every decorator a temporary inside the co_await
// expression. GCC 12 destroyed a default argument's temporary there twice, so a
// `proc(f)` with a defaulted options parameter freed memory twice (abort or heap corruption).
BOOST_AUTO_TEST_CASE(a_coroutine_awaits_calls_written_with_temporary_decorators) {
  mpdecor::pool workers(with_workers(1));
  asio::io_context io;
  std::vector<int> results;
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        results.push_back(co_await mpdecor::async_call(ex, square, 2, asio::use_awaitable));
        results.push_back(
            co_await mpdecor::async_call(ex, mpdecor::proc(square), 3, asio::use_awaitable));
        results.push_back(
            co_await mpdecor::async_call(ex, mpdecor::proc_wait(square), 4, asio::use_awaitable));
        results.push_back(co_await mpdecor::async_call(ex, mpdecor::proc(square).timeout(60s), 5,
                                                       asio::use_awaitable));
        results.push_back(co_await mpdecor::async_call(
            ex, mpdecor::proc<int(int)>("fixtures::square"), 6, asio::use_awaitable));
        results.push_back(
            co_await mpdecor::async_call(ex, workers.submit(square), 7, asio::use_awaitable));
        results.push_back(co_await mpdecor::async_call(ex, workers.submit(square).timeout(60s), 8,
                                                       asio::use_awaitable));
      },
      [&](std::exception_ptr e) { error = e; });
  io.run();
  BOOST_TEST(!error);
  BOOST_TEST(results == (std::vector<int>{4, 9, 16, 25, 36, 49, 64}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_coroutine_gets_a_fresh_process_call_error_as_an_exception) {
  asio::io_context io;
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto call = mpdecor::proc(throw_runtime_error);
        co_await mpdecor::async_call(io.get_executor(), call, "x", asio::use_awaitable);
      },
      [&](std::exception_ptr e) { error = e; });
  io.run();
  BOOST_REQUIRE(error);
  BOOST_CHECK_THROW(std::rethrow_exception(error), mpdecor::remote_error);
}
#endif

BOOST_AUTO_TEST_CASE(cancelling_a_running_fresh_process_call_kills_the_child) {
  asio::io_context io;
  asio::cancellation_signal signal;
  std::exception_ptr error;
  const auto start = std::chrono::steady_clock::now();
  mpdecor::async_call(
      io.get_executor(), mpdecor::proc(sleep_ms), 60'000,
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { error = e; }));
  asio::steady_timer timer(io, 200ms);
  timer.async_wait(
      [&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
  io.run();
  BOOST_TEST(is_operation_aborted(error));
  // The call would take a minute: it was cut short (a hang detector, not a speed check).
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));
}

BOOST_AUTO_TEST_CASE(cancelling_a_running_pool_call_kills_its_worker) {
  mpdecor::pool workers(with_workers(1));
  asio::io_context io;
  asio::cancellation_signal signal;
  std::exception_ptr error;
  mpdecor::async_call(
      io.get_executor(), workers.submit(sleep_ms), 10'000,
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { error = e; }));
  asio::steady_timer timer(io, 200ms);
  timer.async_wait(
      [&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
  io.run();
  BOOST_TEST(is_operation_aborted(error));
  BOOST_TEST(workers.submit(add)(1, 1).get() == 2);
}

BOOST_AUTO_TEST_CASE(cancelling_a_queued_pool_call_withdraws_it) {
  mpdecor::pool workers(with_workers(1));
  auto busy = workers.submit(sleep_ms)(400);
  busy.pid(); // the worker has it: the next call queues
  asio::io_context io;
  asio::cancellation_signal signal;
  std::exception_ptr error;
  bool completed = false;
  mpdecor::async_call(io.get_executor(), workers.submit(add), 1, 2,
                      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) {
                        error = e;
                        completed = true;
                      }));
  BOOST_TEST(workers.queued() == 1U);
  signal.emit(asio::cancellation_type::terminal);
  BOOST_TEST(workers.queued() == 0U);
  io.run();
  BOOST_TEST(completed);
  BOOST_TEST(is_operation_aborted(error));
  BOOST_TEST(busy.get() == 400);
  BOOST_TEST(workers.completed() == 1U);
}

BOOST_AUTO_TEST_CASE(cancelling_a_queued_fresh_process_call_withdraws_it) {
  const auto limit = mpdecor::max_running();
  mpdecor::set_max_running(1);
  auto busy = mpdecor::proc(sleep_ms)(400);
  asio::io_context io;
  asio::cancellation_signal signal;
  std::exception_ptr error;
  mpdecor::async_call(
      io.get_executor(), mpdecor::proc(add), 1, 2,
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) { error = e; }));
  signal.emit(asio::cancellation_type::terminal);
  io.run();
  mpdecor::set_max_running(limit);
  BOOST_TEST(is_operation_aborted(error));
  BOOST_TEST(busy.get() == 400);
}

// Destroying an io_context destroys the handlers it still holds, unrun (Asio's rule); an
// operation in flight on it must do the same, not post to the destroyed context later.
BOOST_AUTO_TEST_CASE(an_io_context_destroyed_while_calls_are_in_flight_drops_their_handlers) {
  mpdecor::pool workers(with_workers(1));
  auto handler_owner = std::make_shared<int>(0);
  int handlers_run = 0;
  {
    asio::io_context io;
    mpdecor::async_call(io.get_executor(), mpdecor::proc(sleep_ms), 200,
                        [&, handler_owner](std::exception_ptr, int) { ++handlers_run; });
    mpdecor::async_call(io.get_executor(), workers.submit(sleep_ms), 200,
                        [&, handler_owner](std::exception_ptr, int) { ++handlers_run; });
    auto strand = asio::make_strand(io);
    mpdecor::async_call(strand, mpdecor::proc(sleep_ms), 100,
                        [&, handler_owner](std::exception_ptr, int) { ++handlers_run; });
  } // destroyed before any call has finished
  BOOST_TEST(handler_owner.use_count() == 1, "the handlers were destroyed with the io_context");
  mpdecor::wait_all();
  workers.shutdown();
  BOOST_TEST(handlers_run == 0);
  // Later calls on a new io_context work as before.
  asio::io_context io;
  int result = 0;
  mpdecor::async_call(io.get_executor(), mpdecor::proc(add), 2, 3,
                      [&](std::exception_ptr, int value) { result = value; });
  io.run();
  BOOST_TEST(result == 5);
}

BOOST_AUTO_TEST_SUITE_END()
