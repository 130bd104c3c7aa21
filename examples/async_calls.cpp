// SPDX-License-Identifier: BSL-1.0
// Calls as Asio operations: many calls in flight on one thread, a fresh child or a pool
// worker each, with callbacks, futures, coroutines (C++20) and cancellation.
#include <mpdecor/async.hpp>
#include <mpdecor/mpdecor.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

namespace asio = boost::asio;

int slow_square(int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return x * x;
}
MPDECOR_REGISTER(slow_square);

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
// One coroutine per call: a hundred of them wait at once, all on the thread running io.
asio::awaitable<void> add_square(mpdecor::pool& workers, int x, int& total) {
  auto executor = co_await asio::this_coro::executor;
  total += co_await mpdecor::async_call(executor, workers.submit(slow_square), x,
                                        asio::use_awaitable);
}
#endif

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  mpdecor::pool_options settings;
  settings.workers = 4;
  mpdecor::pool workers(settings);
  asio::io_context io;
  int failures = 0;

  // Eight pool calls in flight at once; the callbacks run on this thread, in io.run().
  int sum = 0;
  for (int i = 1; i <= 8; ++i)
    mpdecor::async_call(io.get_executor(), workers.submit(slow_square), i,
                        [&](std::exception_ptr error, int value) {
                          failures += error ? 1 : 0;
                          sum += value;
                        });

  // A fresh child per call works the same way: the function itself, or a `proc` decorator
  // where the call needs options (`mpdecor::proc(slow_square).timeout(5s)`).
  mpdecor::async_call(io.get_executor(), slow_square, 9,
                      [&](std::exception_ptr error, int value) {
                        failures += error ? 1 : 0;
                        sum += value;
                      });

  // Cancellation kills the child; the operation completes with operation_aborted.
  asio::cancellation_signal stop;
  bool aborted = false;
  mpdecor::async_call(io.get_executor(), mpdecor::proc(slow_square), 10,
                      asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr error, int) {
                        try {
                          if (error)
                            std::rethrow_exception(error);
                        } catch (const boost::system::system_error& e) {
                          aborted = e.code() == asio::error::operation_aborted;
                        }
                      }));
  stop.emit(asio::cancellation_type::terminal);

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
  int coroutine_total = 0;
  for (int i = 1; i <= 100; ++i)
    asio::co_spawn(io, add_square(workers, i, coroutine_total), [&](std::exception_ptr error) {
      failures += error ? 1 : 0;
    });
#endif

  io.run();
  std::printf("sum of squares 1..9: %d, cancelled call aborted: %s\n", sum, aborted ? "yes" : "no");
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
  std::printf("100 coroutines on one thread, sum of squares 1..100: %d\n", coroutine_total);
  failures += coroutine_total == 338350 ? 0 : 1;
#endif

  // From a thread that is not running the io_context, a future waits for the result.
  auto guard = asio::make_work_guard(io);
  io.restart();
  std::thread runner([&] { io.run(); });
  auto future = mpdecor::async_call(io.get_executor(), workers.submit(slow_square), 12,
                                    asio::use_future);
  const int twelve_squared = future.get();
  guard.reset();
  runner.join();
  std::printf("12 squared, through a future: %d\n", twelve_squared);

  return failures == 0 && sum == 285 && aborted && twelve_squared == 144 ? 0 : 1;
}
