// SPDX-License-Identifier: BSL-1.0
// The pool: warm workers that serve many calls, fail tasks alone, and leave nothing behind.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>
#include <mpdecor/pool.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

mpdecor::pool_options with_workers(std::size_t count) {
  mpdecor::pool_options settings;
  settings.workers = count;
  return settings;
}

std::vector<int> one_to(int last) {
  std::vector<int> values(static_cast<std::size_t>(last));
  std::iota(values.begin(), values.end(), 1);
  return values;
}

} // namespace

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(submit_returns_a_handle_whose_get_gives_the_result) {
  mpdecor::pool workers(with_workers(2));
  auto task = workers.submit(add)(20, 22);
  BOOST_TEST(task.get() == 42);
  BOOST_TEST(task.get() == 42);
  BOOST_TEST(task.finished());
  BOOST_TEST(task.function() == "fixtures::add");
}

BOOST_AUTO_TEST_CASE(tasks_run_in_the_pool_workers_not_in_the_caller) {
  mpdecor::pool workers(with_workers(2));
  auto task = workers.submit(own_pid)();
  const auto pid = task.get();
  BOOST_TEST(pid != static_cast<std::int64_t>(::getpid()));
  BOOST_TEST(task.pid() == pid);
  const auto pids = workers.worker_pids();
  BOOST_TEST((std::find(pids.begin(), pids.end(), pid) != pids.end()));
}

BOOST_AUTO_TEST_CASE(a_worker_serves_many_tasks_without_restarting) {
  mpdecor::pool workers(with_workers(1));
  std::set<std::int64_t> pids;
  for (int i = 0; i < 20; ++i)
    pids.insert(workers.submit(own_pid)().get());
  BOOST_TEST(pids.size() == 1U);
}

BOOST_AUTO_TEST_CASE(map_returns_results_in_input_order_and_reports_progress) {
  mpdecor::pool workers(with_workers(3));
  std::vector<std::size_t> progress;
  mpdecor::map_options settings;
  settings.progress = [&](std::size_t done, std::size_t total) {
    BOOST_TEST(total == 50U);
    progress.push_back(done);
  };
  const auto results = workers.map(square, one_to(50), settings);
  BOOST_TEST_REQUIRE(results.size() == 50U);
  for (int i = 0; i < 50; ++i)
    BOOST_TEST(results[static_cast<std::size_t>(i)] == (i + 1) * (i + 1));
  std::vector<std::size_t> expected(50);
  std::iota(expected.begin(), expected.end(), 1);
  BOOST_TEST(progress == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(map_in_chunks_gives_the_same_results_in_order) {
  mpdecor::pool workers(with_workers(2));
  mpdecor::map_options settings;
  settings.chunk = 8;
  const auto results = workers.map(square, one_to(100), settings);
  BOOST_TEST_REQUIRE(results.size() == 100U);
  for (int i = 0; i < 100; ++i)
    BOOST_TEST(results[static_cast<std::size_t>(i)] == (i + 1) * (i + 1));
}

BOOST_AUTO_TEST_CASE(map_as_completed_reports_each_item_with_its_index_as_it_finishes) {
  mpdecor::pool workers(with_workers(2));
  // The long first item finishes after the short ones.
  const std::vector<int> delays{600, 10, 10, 10};
  std::vector<std::size_t> order;
  workers.map_as_completed(sleep_ms, delays,
                           [&](std::size_t index, const mpdecor::pool_handle<int>& task) {
                             BOOST_TEST(task.get() == delays[index]);
                             order.push_back(index);
                           });
  BOOST_TEST_REQUIRE(order.size() == 4U);
  BOOST_TEST(order.back() == 0U);
}

BOOST_AUTO_TEST_CASE(a_map_item_that_fails_makes_map_throw_its_error) {
  mpdecor::pool workers(with_workers(2));
  BOOST_CHECK_THROW(workers.map(square_unless_thirteen, one_to(20)), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_CASE(the_initializer_runs_once_in_each_worker_before_its_tasks) {
  mpdecor::pool workers(with_workers(2), count_initializer_run);
  std::map<std::int64_t, int> runs;
  std::vector<mpdecor::pool_handle<std::pair<std::int64_t, int>>> tasks;
  for (int i = 0; i < 20; ++i)
    tasks.push_back(workers.submit(initializer_runs_here)());
  for (const auto& task : tasks) {
    const auto [pid, count] = task.get();
    runs[pid] = count;
  }
  BOOST_TEST(!runs.empty());
  for (const auto& [pid, count] : runs)
    BOOST_TEST(count == 1, "worker " << pid << " ran the initializer " << count << " times");
}

BOOST_AUTO_TEST_CASE(a_failing_initializer_fails_every_task_with_its_error) {
  mpdecor::pool workers(with_workers(1), failing_initializer);
  const auto first = workers.submit(add)(1, 2);
  try {
    first.get();
    BOOST_FAIL("expected remote_error");
  } catch (const mpdecor::remote_error& e) {
    BOOST_TEST(e.message() == "the model could not be loaded");
  }
  BOOST_CHECK_THROW(workers.submit(add)(1, 2).get(), mpdecor::remote_error);
}

BOOST_AUTO_TEST_CASE(the_initializer_takes_arguments) {
  mpdecor::pool_options settings = with_workers(2);
  settings.max_tasks_per_worker = 1; // every task in a fresh worker, initialized again
  mpdecor::pool workers(settings, load_named_model, "resnet", 50);
  for (int i = 0; i < 4; ++i)
    BOOST_TEST(workers.submit(loaded_model)().get() == "resnet:50");
  mpdecor::pool without(with_workers(1));
  BOOST_TEST(without.submit(loaded_model)().get() == ":0");
}

BOOST_AUTO_TEST_CASE(starmap_calls_a_function_of_several_parameters_with_each_tuple) {
  mpdecor::pool workers(with_workers(2));
  const std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  BOOST_TEST(workers.starmap(add, pairs) == (std::vector<int>{3, 7, 11}),
             boost::test_tools::per_element());
  const std::vector<std::pair<int, int>> as_pairs{{10, 1}, {20, 2}};
  mpdecor::map_options opts;
  opts.chunk = 2;
  BOOST_TEST(workers.starmap(add, as_pairs, opts) == (std::vector<int>{11, 22}),
             boost::test_tools::per_element());
  const std::vector<std::tuple<std::string>> texts{{"a"}, {"b"}};
  BOOST_TEST(workers.starmap(shout, texts) == (std::vector<std::string>{"A!", "B!"}),
             boost::test_tools::per_element());
  BOOST_TEST(workers.starmap(add, std::vector<std::tuple<int, int>>{}).empty());
}

// A range that can be read once, through non-const begin(): a generator of 1..count.
class counting_range {
public:
  explicit counting_range(int count) : count_(count) {}
  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    using pointer = const int*;
    using reference = const int&;
    explicit iterator(counting_range* range) : range_(range) {}
    const int& operator*() const { return range_->current_; }
    iterator& operator++() {
      ++range_->current_;
      return *this;
    }
    bool operator!=(const iterator&) const { return range_->current_ <= range_->count_; }
    bool operator==(const iterator& other) const { return !(*this != other); }

  private:
    counting_range* range_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(this); }
  /// How many items have been read so far.
  std::size_t read() const { return static_cast<std::size_t>(current_ - 1); }

private:
  int count_;
  int current_ = 1;
};

BOOST_AUTO_TEST_CASE(map_reads_any_input_range_once) {
  mpdecor::pool workers(with_workers(2));
  BOOST_TEST(workers.map(square, counting_range(4)) == (std::vector<int>{1, 4, 9, 16}),
             boost::test_tools::per_element());
  counting_range three(3);
  std::vector<int> seen(3, 0);
  workers.map_as_completed(square, three,
                           [&](std::size_t index, const auto& task) { seen[index] = task.get(); });
  BOOST_TEST(seen == (std::vector<int>{1, 4, 9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_map_reads_its_input_as_it_goes_and_keeps_at_most_in_flight_items_out) {
  mpdecor::pool workers(with_workers(2));
  mpdecor::map_options settings;
  settings.in_flight = 6;
  // In input order: an item is out from when it is read until map has its result.
  counting_range ordered(300);
  std::size_t most_ahead = 0;
  settings.progress = [&](std::size_t done, std::size_t total) {
    BOOST_TEST(total == ordered.read()); // a single-pass range: the items read so far
    most_ahead = std::max(most_ahead, ordered.read() - done);
  };
  const auto squares = workers.map(square, ordered, settings);
  BOOST_TEST_REQUIRE(squares.size() == 300U);
  BOOST_TEST(squares.back() == 300 * 300);
  BOOST_TEST(most_ahead <= 6U);
  BOOST_TEST(most_ahead >= 1U);

  // As completed: the same bound, counted from the oldest item not finished.
  counting_range any_order(300);
  std::size_t seen = 0;
  settings.progress = nullptr;
  workers.map_as_completed(
      square, any_order,
      [&](std::size_t index, const mpdecor::pool_handle<int>& task) {
        BOOST_TEST(task.get() == static_cast<int>((index + 1) * (index + 1)));
        ++seen;
        BOOST_TEST(any_order.read() <= seen + 6);
      },
      settings);
  BOOST_TEST(seen == 300U);
}

BOOST_AUTO_TEST_CASE(by_default_a_map_of_short_items_hands_them_out_in_chunks) {
  mpdecor::pool workers(with_workers(2));
  std::vector<int> items(4000);
  std::iota(items.begin(), items.end(), 0);
  std::size_t total_seen = 0;
  mpdecor::map_options settings;
  settings.progress = [&](std::size_t, std::size_t total) { total_seen = total; };
  const auto pids = workers.map(pid_for_item, items, settings);
  BOOST_TEST_REQUIRE(pids.size() == items.size());
  BOOST_TEST(total_seen == items.size()); // a sized range: its length from the start
  // One item at a time, two workers take turns about every other item; in chunks, runs of
  // items share a worker, and the worker changes once per chunk at most.
  std::size_t changes = 0;
  for (std::size_t i = 1; i < pids.size(); ++i)
    changes += pids[i] != pids[i - 1] ? 1 : 0;
  BOOST_TEST(changes < items.size() / 4, changes << " changes of worker in " << items.size());
}

BOOST_AUTO_TEST_CASE(an_automatic_chunk_grows_for_short_items_and_stays_one_for_long_ones) {
  using mpdecor::detail::chunk_sizer;
  // Items that finish at once: the chunk grows, eightfold at most per measurement.
  chunk_sizer quick(mpdecor::map_options::auto_chunk, 0, 2, 1'000'000);
  BOOST_TEST(quick.next_chunk(0) == 1U);
  BOOST_TEST(quick.limit() == 64U);
  std::this_thread::sleep_for(1ms); // a clock that moves even where it is coarse
  BOOST_TEST(quick.next_chunk(1000) == 8U);
  std::this_thread::sleep_for(1ms);
  BOOST_TEST(quick.next_chunk(100'000) == 64U);
  BOOST_TEST(quick.limit() == 4U * 2U * 64U);
  // ... but a chunk holds at most 1 MiB of arguments.
  for (int i = 0; i < 4; ++i)
    quick.encoded(256 * 1024);
  BOOST_TEST(quick.next_chunk(100'000) == 4U);

  // Items that take 30 ms each: one at a time.
  chunk_sizer slow(mpdecor::map_options::auto_chunk, 0, 2, 1'000'000);
  BOOST_TEST(slow.next_chunk(0) == 1U);
  std::this_thread::sleep_for(60ms);
  BOOST_TEST(slow.next_chunk(4) == 1U);

  // Near the end of a known length, every worker gets a share of what is left.
  chunk_sizer tail(mpdecor::map_options::auto_chunk, 0, 2, 10);
  tail.next_chunk(0);
  for (int i = 0; i < 6; ++i)
    tail.encoded(10);
  BOOST_TEST(tail.next_chunk(10'000) == 1U);

  // A fixed chunk stays as set, in blocks of about 1,024 items, 4,096 in flight by default.
  chunk_sizer fixed(100, 0, 2, std::nullopt);
  BOOST_TEST(fixed.next_chunk(0) == 100U);
  BOOST_TEST(fixed.block() == 1000U);
  BOOST_TEST(fixed.limit() == 4096U);
  BOOST_TEST(chunk_sizer(100, 10, 2, std::nullopt).limit() == 10U);
}

BOOST_AUTO_TEST_CASE(a_map_past_its_whole_timeout_ends_its_items_and_throws_timeout_error) {
  mpdecor::pool workers(with_workers(2));
  // A started worker first, and a limit that leaves the quick item time to finish even
  // where starting a worker is slow (Wine on a loaded machine took over 300 ms).
  BOOST_TEST(workers.submit(add)(1, 1).get() == 2);
  mpdecor::map_options opts;
  opts.timeout = 5s;
  const auto started = std::chrono::steady_clock::now();
  try {
    workers.map(sleep_ms, std::vector<int>{0, 60'000, 60'000, 60'000}, opts);
    BOOST_FAIL("the map should have run past its timeout");
  } catch (const mpdecor::timeout_error& e) {
    BOOST_TEST(e.timeout().count() == 5000);
    BOOST_TEST(std::string(e.what()).find("3 of its 4 items") != std::string::npos, e.what());
  }
  BOOST_TEST((std::chrono::steady_clock::now() - started < 30s)); // not the items' minute
  // Every item ended: nothing runs or waits, and the pool serves on.
  BOOST_TEST(workers.running() == 0U);
  BOOST_TEST(workers.queued() == 0U);
  BOOST_TEST(workers.submit(add)(2, 2).get() == 4);
  opts.timeout = 60s; // a limit that is not reached changes nothing
  BOOST_TEST(workers.map(square, std::vector<int>{2, 3}, opts) == (std::vector<int>{4, 9}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(max_tasks_per_worker_replaces_the_worker_after_that_many_tasks) {
  mpdecor::pool_options settings = with_workers(1);
  settings.max_tasks_per_worker = 2;
  mpdecor::pool workers(settings);
  std::map<std::int64_t, int> served;
  for (int i = 0; i < 6; ++i) {
    const auto [pid, count] = workers.submit(tasks_served_here)().get();
    served[pid] = count;
  }
  BOOST_TEST(served.size() == 3U);
  for (const auto& [pid, count] : served)
    BOOST_TEST(count == 2, "worker " << pid << " served " << count << " tasks");
}

BOOST_AUTO_TEST_CASE(a_task_that_crashes_its_worker_fails_alone_and_the_pool_keeps_serving) {
  mpdecor::pool workers(with_workers(2));
  std::size_t succeeded = 0;
  workers.map_as_completed(square_unless_thirteen, one_to(30),
                           [&](std::size_t index, const mpdecor::pool_handle<int>& task) {
                             if (index == 12) {
                               try {
                                 task.get();
                                 BOOST_FAIL("expected child_crashed");
                               } catch (const mpdecor::child_crashed& e) {
#if defined(_WIN32) // MinGW's C runtime ends a program that raises SIGSEGV with exit code 3
                                 BOOST_TEST(e.exit_code().value_or(-1) == 3);
#else
                                 BOOST_TEST(e.signal_name() == "SIGSEGV");
#endif
                               }
                             } else {
                               BOOST_TEST(task.get() ==
                                          static_cast<int>((index + 1) * (index + 1)));
                               ++succeeded;
                             }
                           });
  BOOST_TEST(succeeded == 29U);
  BOOST_TEST(workers.submit(add)(1, 1).get() == 2);
}

BOOST_AUTO_TEST_CASE(a_crash_inside_a_chunk_fails_only_that_item) {
  mpdecor::pool workers(with_workers(1));
  mpdecor::map_options settings;
  settings.chunk = 10;
  std::size_t failed = 0;
  workers.map_as_completed(
      square_unless_thirteen, one_to(30),
      [&](std::size_t index, const mpdecor::pool_handle<int>& task) {
        if (index == 12)
          BOOST_CHECK_THROW(task.get(), mpdecor::child_crashed);
        else
          BOOST_TEST(task.get() == static_cast<int>((index + 1) * (index + 1)));
        failed += index == 12 ? 1 : 0;
      },
      settings);
  BOOST_TEST(failed == 1U);
}

// A chunk goes to its worker as one message, and its replies come back as one: its first
// item's result arrives with its last's. The worker is kept busy while the chunk is
// queued, so that the chunk is handed over whole.
BOOST_AUTO_TEST_CASE(the_results_of_a_chunk_come_back_together) {
  mpdecor::pool workers(with_workers(1));
  const auto start = std::chrono::steady_clock::now();
  auto busy = workers.submit(sleep_ms)(300);
  const auto chunked = workers.submit(sleep_ms).chunk(3);
  auto first = chunked(0);
  auto second = chunked(0);
  auto last = chunked(700);
  first.get();
  const auto first_came = std::chrono::steady_clock::now() - start;
  BOOST_TEST((first_came >= 1000ms),
             "the chunk's first result came after "
                 << std::chrono::duration_cast<std::chrono::milliseconds>(first_came).count()
                 << " ms");
  BOOST_TEST(second.get() == 0);
  BOOST_TEST(last.get() == 700);
  BOOST_TEST(busy.get() == 300);
}

// A function that calls std::exit in the middle of a chunk: the tasks before it keep their
// results (the worker sends them on its way out), it fails alone, and the rest run again
// on the worker that replaces it.
BOOST_AUTO_TEST_CASE(an_exit_inside_a_chunk_fails_only_that_task) {
  mpdecor::pool workers(with_workers(1));
  auto busy = workers.submit(sleep_ms)(300);
  const auto sums = workers.submit(add).chunk(3);
  auto before = sums(1, 1);
  auto leaves = workers.submit(exit_with).chunk(3)(7);
  auto after = sums(2, 2);
  BOOST_TEST(busy.get() == 300);
  BOOST_TEST(before.get() == 2);
  try {
    leaves.get();
    BOOST_ERROR("the task that exits did not fail");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == 7);
  }
  BOOST_TEST(after.get() == 4);
}

// A worker that ends inside a chunk without a word (std::_Exit: no handler runs; a kill
// from outside is the same) loses the replies it held back, and which task ended it is
// unknown: the chunk's tasks run again one at a time, and only the one that ends its
// worker fails.
BOOST_AUTO_TEST_CASE(a_worker_that_ends_silently_inside_a_chunk_fails_only_that_task) {
  mpdecor::pool workers(with_workers(1));
  auto busy = workers.submit(sleep_ms)(300);
  const auto sums = workers.submit(add).chunk(3);
  auto before = sums(1, 1);
  auto leaves = workers.submit(exit_at_once_with).chunk(3)(5);
  auto after = sums(2, 2);
  BOOST_TEST(busy.get() == 300);
  BOOST_TEST(before.get() == 2);
  try {
    leaves.get();
    BOOST_ERROR("the task that exits did not fail");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == 5);
  }
  BOOST_TEST(after.get() == 4);
}

// A task with a timeout in a chunk gets its reply at once, not with the chunk's: the time
// of the task after it starts when it comes.
BOOST_AUTO_TEST_CASE(a_chunk_with_timeouts_fails_only_the_task_past_its_own) {
  mpdecor::pool workers(with_workers(1));
  auto busy = workers.submit(sleep_ms)(300);
  const auto timed = workers.submit(sleep_ms).chunk(3).timeout(1500ms);
  auto quick = timed(0);
  auto slow = timed(60'000);
  auto next = timed(1000);
  BOOST_TEST(quick.get() == 0);
  BOOST_CHECK_THROW(slow.get(), mpdecor::timeout_error);
  BOOST_TEST(next.get() == 1000);
  BOOST_TEST(busy.get() == 300);
}

BOOST_AUTO_TEST_CASE(a_task_past_its_timeout_fails_with_timeout_error_and_its_worker_is_replaced) {
  mpdecor::pool workers(with_workers(1));
  const auto before = workers.submit(own_pid)().get();
  auto slow = workers.submit(sleep_ms).timeout(200ms)(60'000);
  auto next = workers.submit(own_pid)();
  const auto start = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(slow.get(), mpdecor::timeout_error);
  // A hang detector only: the timeout fires after 200 ms, the task would take a minute.
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));
  const auto after = next.get();
  BOOST_TEST(after != before);
}

BOOST_AUTO_TEST_CASE(the_pool_default_timeout_applies_to_every_task) {
  mpdecor::pool_options settings = with_workers(1);
  // Long enough for the replacement worker to start and run the second task on a loaded
  // machine under a sanitizer: a task's time starts when it is handed to a worker, and a
  // worker just started is handed its task before its process has finished starting.
  settings.worker_options.timeout = 2000ms;
  mpdecor::pool workers(settings);
  // A named handle keeps the task, and so its error, alive through the catch block.
  const auto slow = workers.submit(sleep_ms)(10'000);
  try {
    slow.get();
    BOOST_FAIL("expected timeout_error");
  } catch (const mpdecor::timeout_error& e) {
    BOOST_TEST(e.timeout().count() == 2000);
  }
  BOOST_TEST(workers.submit(sleep_ms)(1).get() == 1);
}

BOOST_AUTO_TEST_CASE(a_workers_start_does_not_count_against_its_first_task) {
  // The workers spend 1.5 s in static initialization, three times the tasks' timeout: a
  // task's time starts once its worker has said it is serving, not when the worker's
  // process was launched.
  mpdecor::pool_options settings = with_workers(1);
  settings.worker_options.environment = {{"MPDECOR_TEST_START_DELAY_MS", "1500"}};
  settings.worker_options.timeout = 500ms;
  mpdecor::pool workers(settings);
  BOOST_TEST(workers.submit(sleep_ms)(1).get() == 1);
  // The timeout still ends a task that runs too long, and the replacement worker, as slow
  // to start, runs the next task.
  const auto slow = workers.submit(sleep_ms)(10'000);
  BOOST_CHECK_THROW(slow.get(), mpdecor::timeout_error);
  BOOST_TEST(workers.submit(sleep_ms)(2).get() == 2);
}

BOOST_AUTO_TEST_CASE(a_worker_that_ends_before_it_is_ready_breaks_the_pool) {
  // Every worker exits in its static initialization: the pool must not start one after
  // another forever while its tasks wait, but fail them with why.
  mpdecor::pool_options settings = with_workers(2);
  settings.worker_options.environment = {{"MPDECOR_TEST_START_EXIT", "3"}};
  mpdecor::pool workers(settings);
  const auto first = workers.submit(sleep_ms)(1);
  const auto second = workers.submit(sleep_ms)(2);
  try {
    first.get();
    BOOST_FAIL("the task ran on a worker that cannot start");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == 3);
    BOOST_TEST(std::string(e.what()).find("ended before it was ready") != std::string::npos,
               e.what());
  }
  BOOST_CHECK_THROW(second.get(), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_CASE(a_worker_stuck_in_its_start_is_killed_and_breaks_the_pool) {
  mpdecor::pool_options settings = with_workers(1);
  settings.worker_options.environment = {{"MPDECOR_TEST_START_DELAY_MS", "60000"}};
  settings.start_timeout = 300ms;
  mpdecor::pool workers(settings);
  try {
    workers.submit(sleep_ms)(1).get();
    BOOST_FAIL("the task ran on a worker still starting");
  } catch (const mpdecor::launch_error& e) {
    BOOST_TEST((e.code() == std::errc::timed_out));
    BOOST_TEST(std::string(e.what()).find("start_timeout") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(an_exception_comes_back_as_remote_error_and_the_worker_lives_on) {
  mpdecor::pool workers(with_workers(1));
  const auto before = workers.submit(own_pid)().get();
  const auto failing = workers.submit(throw_runtime_error)("bad input");
  try {
    failing.get();
    BOOST_FAIL("expected remote_error");
  } catch (const mpdecor::remote_error& e) {
    BOOST_TEST(e.type() == "std::runtime_error");
    BOOST_TEST(e.message() == "bad input");
    BOOST_TEST(e.pid() == before);
  }
  BOOST_TEST(workers.submit(own_pid)().get() == before);
}

BOOST_AUTO_TEST_CASE(cancelling_a_queued_task_fails_it_with_cancelled) {
  mpdecor::pool workers(with_workers(1));
  auto busy = workers.submit(sleep_ms)(500);
  auto queued = workers.submit(add)(1, 2);
  queued.cancel();
  BOOST_TEST(queued.finished());
  BOOST_CHECK_THROW(queued.get(), mpdecor::cancelled);
  BOOST_TEST(busy.get() == 500);
  BOOST_TEST(workers.completed() == 1U);
}

BOOST_AUTO_TEST_CASE(cancelling_a_running_task_kills_its_worker_and_the_pool_replaces_it) {
  mpdecor::pool workers(with_workers(1));
  auto running = workers.submit(sleep_ms)(10'000);
  const auto victim = running.pid();
  running.cancel();
  BOOST_CHECK_THROW(running.get(), mpdecor::child_crashed);
  const auto next = workers.submit(own_pid)().get();
  BOOST_TEST(next != victim);
}

BOOST_AUTO_TEST_CASE(shutdown_wait_runs_the_queued_tasks_first) {
  mpdecor::pool workers(with_workers(1));
  std::vector<mpdecor::pool_handle<int>> tasks;
  for (int i = 0; i < 5; ++i)
    tasks.push_back(workers.submit(sleep_ms)(50));
  workers.shutdown(mpdecor::shutdown_mode::wait);
  for (const auto& task : tasks)
    BOOST_TEST(task.get() == 50);
  BOOST_TEST(workers.worker_pids().empty());
}

BOOST_AUTO_TEST_CASE(shutdown_cancel_cancels_the_queued_tasks) {
  mpdecor::pool workers(with_workers(1));
  auto first = workers.submit(sleep_ms)(300);
  first.pid(); // wait until the worker has it
  std::vector<mpdecor::pool_handle<int>> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(workers.submit(sleep_ms)(50));
  workers.shutdown(mpdecor::shutdown_mode::cancel);
  BOOST_TEST(first.get() == 300);
  for (const auto& task : queued)
    BOOST_CHECK_THROW(task.get(), mpdecor::cancelled);
}

BOOST_AUTO_TEST_CASE(submit_after_shutdown_throws_usage_error) {
  mpdecor::pool workers(with_workers(1));
  workers.shutdown();
  BOOST_CHECK_THROW(workers.submit(add)(1, 2), mpdecor::usage_error);
}

BOOST_AUTO_TEST_CASE(no_worker_is_left_after_the_pool_is_destroyed) {
  std::vector<mpdecor::pid_type> pids;
  {
    mpdecor::pool workers(with_workers(3));
    workers.map(square, one_to(10));
    pids = workers.worker_pids();
    BOOST_TEST(pids.size() == 3U);
    const auto children = helpers::children();
    for (const auto pid : pids)
      BOOST_TEST((std::find(children.begin(), children.end(), pid) != children.end()));
  }
  const auto children = helpers::children();
  for (const auto pid : pids) {
    BOOST_TEST((std::find(children.begin(), children.end(), pid) == children.end()));
    BOOST_TEST(!helpers::process_exists(pid));
  }
}

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(workers_end_when_their_parent_is_killed) {
  auto program =
      helpers::start_parent_program("exec " + helpers::program("pool_parent") + " 3", "worker");
  BOOST_REQUIRE(program.output != nullptr);
  BOOST_REQUIRE(program.parent > 0);
  BOOST_REQUIRE_EQUAL(program.children.size(), 3U);
  for (long worker : program.children)
    BOOST_REQUIRE(!helpers::has_ended(worker));
  const auto ended = helpers::kill_parent(program, SIGKILL, 30s);
  BOOST_REQUIRE_EQUAL(ended.size(), 3U);
  for (const auto& [worker, gone] : ended)
    BOOST_TEST(gone, "worker " << worker << " ended with its parent");
}
#endif

#if !defined(_WIN32) // the shell commands below are POSIX ones
BOOST_AUTO_TEST_CASE(a_worker_started_by_hand_serves_nothing) {
  const auto plain = helpers::run(helpers::self() + " --mp-worker pool");
  BOOST_TEST(plain.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(plain.output.find("not by mpdecor") != std::string::npos);
  // A channel of its own (stdin and stdout), but no launch key.
  const auto no_key = helpers::run("echo 'forged bytes' | " + helpers::self() +
                                   " --mp-worker pool --mp-channel 0,1");
  BOOST_TEST(no_key.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(no_key.output.find("no launch key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_worker_offered_the_wrong_launch_key_serves_nothing) {
  const std::string forged(64, 'b');
  const auto input = std::filesystem::temp_directory_path() /
                     ("mpdecor-test-worker-forged-" + std::to_string(::getpid()));
  {
    std::string frame(mpdecor::detail::frame_header_size, '\0');
    mpdecor::detail::output_archive archive(frame);
    archive(forged);
    mpdecor::detail::write_frame_header(frame.data(), mpdecor::detail::frame_kind::hello,
                                        frame.size() - mpdecor::detail::frame_header_size);
    std::ofstream(input, std::ios::binary) << frame;
  }
  const auto result =
      helpers::run("MPDECOR_LAUNCH_KEY=" + std::string(64, 'a') + " " + helpers::self() +
                   " --mp-worker pool --mp-channel 0,1 < " + input.string());
  std::filesystem::remove(input);
  BOOST_TEST(result.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(result.output.find("do not come from the process that started this worker") !=
             std::string::npos);
}
#endif

BOOST_AUTO_TEST_CASE(counters_report_queued_running_and_completed_tasks) {
  mpdecor::pool workers(with_workers(2));
  BOOST_TEST(workers.size() == 2U);
  std::vector<mpdecor::pool_handle<int>> tasks;
  for (int i = 0; i < 6; ++i)
    tasks.push_back(workers.submit(sleep_ms)(400));
  tasks[0].pid();
  tasks[1].pid();
  BOOST_TEST(workers.running() == 2U);
  BOOST_TEST(workers.queued() == 4U);
  BOOST_TEST(workers.completed() == 0U);
  for (const auto& task : tasks)
    task.wait();
  BOOST_TEST(workers.running() == 0U);
  BOOST_TEST(workers.queued() == 0U);
  BOOST_TEST(workers.completed() == 6U);
}

BOOST_AUTO_TEST_SUITE_END()
