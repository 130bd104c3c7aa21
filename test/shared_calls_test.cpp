// SPDX-License-Identifier: BSL-1.0
// Large arguments and results through shared memory in real calls and pool tasks: chosen
// by size, the same values either way, nothing left behind when a child or a worker
// crashes, off for Slurm steps and when the threshold is 0.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <tuple>
#include <vector>

using namespace fixtures;

namespace {

// Restores the program-wide threshold when a test ends.
struct restore_threshold {
  std::size_t saved = mpdecor::shared_memory_threshold();
  ~restore_threshold() { mpdecor::set_shared_memory_threshold(saved); }
};

constexpr std::uint64_t large = 4 << 20; // 32 MB of doubles
constexpr double sum_below(std::uint64_t count) {
  return static_cast<double>(count) * static_cast<double>(count - 1) / 2;
}

} // namespace

BOOST_AUTO_TEST_SUITE(shared_calls)

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(a_large_argument_travels_through_shared_memory) {
  const auto [count, sum, shared] = mpdecor::proc_wait(sum_doubles)(make_doubles(large));
  BOOST_TEST(count == large);
  BOOST_TEST(sum == sum_below(large));
  BOOST_TEST(shared);
}

BOOST_AUTO_TEST_CASE(a_small_argument_stays_in_the_message) {
  const auto [count, sum, shared] = mpdecor::proc_wait(sum_doubles)(make_doubles(1000));
  BOOST_TEST(count == 1000u);
  BOOST_TEST(sum == sum_below(1000));
  BOOST_TEST(!shared);
}

BOOST_AUTO_TEST_CASE(a_large_result_travels_through_shared_memory_and_is_released_with_its_handle) {
  BOOST_REQUIRE(!maps_shared_segment());
  {
    auto handle = mpdecor::proc(make_doubles)(large);
    const auto values = handle.get();
    BOOST_TEST(values.size() == large);
    BOOST_TEST(values[12345] == 12345.0);
    BOOST_TEST(values.back() == static_cast<double>(large - 1));
    BOOST_TEST(maps_shared_segment()); // held while get() may decode again
    BOOST_TEST(handle.get() == values);
  }
  BOOST_TEST(!maps_shared_segment());
}

BOOST_AUTO_TEST_CASE(a_threshold_of_zero_keeps_everything_in_the_message) {
  restore_threshold restore;
  mpdecor::set_shared_memory_threshold(0);
  const auto [count, sum, shared] = mpdecor::proc_wait(sum_doubles)(make_doubles(large));
  BOOST_TEST(count == large);
  BOOST_TEST(sum == sum_below(large));
  BOOST_TEST(!shared);
  BOOST_TEST(mpdecor::proc_wait(make_doubles)(large).size() == large);
  BOOST_TEST(!maps_shared_segment());
}

BOOST_AUTO_TEST_CASE(a_threshold_below_the_functions_name_leaves_the_name_intact) {
  // The name and the signature are strings local to the encoding: never shared blocks,
  // which would point at freed memory by the time the segment is made.
  restore_threshold restore;
  mpdecor::set_shared_memory_threshold(1);
  BOOST_TEST(mpdecor::proc_wait(shout)(std::string("abc")) == "ABC!");
  mpdecor::pool workers;
  BOOST_TEST(workers.submit(shout)(std::string("abc")).get() == "ABC!");
}

BOOST_AUTO_TEST_CASE(a_large_argument_converted_to_its_parameter_type_arrives_intact) {
  // A `const char*` for a `const std::string&` parameter is converted into a temporary,
  // gone before the segment is made: it travels inline.
  restore_threshold restore;
  mpdecor::set_shared_memory_threshold(1024);
  const std::string text(256 * 1024, 'x');
  const std::string expected = std::string(256 * 1024, 'X') + "!";
  BOOST_TEST(mpdecor::proc_wait(shout)(text.c_str()) == expected);
  mpdecor::pool workers;
  BOOST_TEST(workers.submit(shout)(text.c_str()).get() == expected);
}

BOOST_AUTO_TEST_CASE(fork_server_calls_use_shared_memory_too) {
  const auto [count, sum, shared] =
      mpdecor::proc_wait(sum_doubles)
          .start_method(mpdecor::start_method::fork_server)(make_doubles(large));
  BOOST_TEST(count == large);
  BOOST_TEST(sum == sum_below(large));
  BOOST_TEST(shared);
  BOOST_TEST(mpdecor::proc_wait(make_doubles)
                 .start_method(mpdecor::start_method::fork_server)(large)[777] == 777.0);
}

BOOST_AUTO_TEST_CASE(a_child_that_crashes_holding_shared_memory_leaves_nothing) {
  mpdecor::wait_all();
  const int descriptors = helpers::open_descriptors();
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK_EXCEPTION(
        mpdecor::proc_wait(crash_holding)(make_doubles(large)), mpdecor::child_crashed,
        [](const mpdecor::child_crashed& e) { return e.signal_name() == "SIGSEGV"; });
  // The segments were anonymous: once both ends closed them, they are gone; there is no
  // name to clean up, in /dev/shm or elsewhere.
  BOOST_TEST(helpers::open_descriptors() == descriptors);
  BOOST_TEST(!maps_shared_segment());
}

mpdecor::pool_options one_worker() {
  mpdecor::pool_options settings;
  settings.workers = 1;
  return settings;
}

BOOST_AUTO_TEST_CASE(a_pool_tasks_large_argument_travels_through_shared_memory) {
  mpdecor::pool workers(one_worker());
  const auto [count, sum, shared] = workers.submit(sum_doubles)(make_doubles(large)).get();
  BOOST_TEST(count == large);
  BOOST_TEST(sum == sum_below(large));
  BOOST_TEST(shared);
  // The same worker next: a small argument stays in the message, and the worker kept no
  // segment of the task before.
  const auto [small_count, small_sum, small_shared] =
      workers.submit(sum_doubles)(make_doubles(1000)).get();
  BOOST_TEST(small_count == 1000u);
  BOOST_TEST(small_sum == sum_below(1000));
  BOOST_TEST(!small_shared);
}

BOOST_AUTO_TEST_CASE(a_pool_tasks_large_result_is_released_with_its_handle) {
  BOOST_REQUIRE(!maps_shared_segment());
  mpdecor::pool workers(one_worker());
  {
    auto task = workers.submit(make_doubles)(large);
    const auto values = task.get();
    BOOST_TEST(values.size() == large);
    BOOST_TEST(values[12345] == 12345.0);
    BOOST_TEST(values.back() == static_cast<double>(large - 1));
    BOOST_TEST(maps_shared_segment()); // held while get() may decode again
    BOOST_TEST(task.get() == values);
  }
  BOOST_TEST(!maps_shared_segment());
}

BOOST_AUTO_TEST_CASE(a_chunked_map_mixes_large_and_small_values) {
  mpdecor::pool_options settings;
  settings.workers = 2;
  mpdecor::pool workers(settings);
  mpdecor::map_options chunks;
  chunks.chunk = 2;
  // Large results of tasks that came in one chunk: each goes alone, its descriptor after
  // its header, and the small ones still come back.
  const std::vector<std::uint64_t> counts{large, 10, 1000, large, 3};
  const auto made = workers.map(make_doubles, counts, chunks);
  BOOST_REQUIRE(made.size() == counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    BOOST_TEST(made[i].size() == counts[i]);
    BOOST_TEST(made[i].back() == static_cast<double>(counts[i] - 1));
  }
  // Large arguments: their tasks are handed over alone, the small ones in the same map too.
  std::vector<std::vector<double>> inputs;
  for (const auto count : counts)
    inputs.push_back(make_doubles(count));
  const auto sums = workers.map(sum_doubles, inputs, chunks);
  BOOST_REQUIRE(sums.size() == counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const auto [count, sum, shared] = sums[i];
    BOOST_TEST(count == counts[i]);
    BOOST_TEST(sum == sum_below(counts[i]));
    BOOST_TEST(shared == (counts[i] == large));
  }
}

BOOST_AUTO_TEST_CASE(a_worker_that_crashes_holding_shared_memory_leaves_nothing) {
  mpdecor::pool workers(one_worker());
  BOOST_TEST(std::get<0>(workers.submit(sum_doubles)(make_doubles(10)).get()) == 10u);
  const int descriptors = helpers::open_descriptors();
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK_EXCEPTION(
        workers.submit(crash_holding)(make_doubles(large)).get(), mpdecor::child_crashed,
        [](const mpdecor::child_crashed& e) { return e.signal_name() == "SIGSEGV"; });
  // The pool replaced its worker each time; the new one takes shared memory as well.
  const auto [count, sum, shared] = workers.submit(sum_doubles)(make_doubles(large)).get();
  BOOST_TEST(count == large);
  BOOST_TEST(shared);
  BOOST_TEST(helpers::open_descriptors() == descriptors);
  BOOST_TEST(!maps_shared_segment());
}

BOOST_AUTO_TEST_CASE(a_threshold_of_zero_keeps_a_pools_tasks_in_their_messages) {
  restore_threshold restore;
  mpdecor::set_shared_memory_threshold(0);
  mpdecor::pool workers(one_worker());
  const auto [count, sum, shared] = workers.submit(sum_doubles)(make_doubles(large)).get();
  BOOST_TEST(count == large);
  BOOST_TEST(sum == sum_below(large));
  BOOST_TEST(!shared);
  BOOST_TEST(workers.submit(make_doubles)(large).get().size() == large);
  BOOST_TEST(!maps_shared_segment());
}
#endif

BOOST_AUTO_TEST_CASE(slurm_steps_never_use_shared_memory) {
  // Only the threshold is checked here: a Slurm step may run on another machine, so its
  // calls are encoded with everything inline (the Slurm suite runs them for real).
  mpdecor::options slurm;
  slurm.start = mpdecor::start_method::slurm;
  BOOST_TEST(!mpdecor::detail::sharing_threshold(slurm).has_value());
  mpdecor::options local;
  const auto threshold = mpdecor::detail::sharing_threshold(local);
#if defined(__linux__)
  BOOST_TEST(threshold.has_value());
#else
  BOOST_TEST(!threshold.has_value());
#endif
  BOOST_TEST(threshold.value_or(0) == mpdecor::shared_memory_threshold());
}

BOOST_AUTO_TEST_SUITE_END()
