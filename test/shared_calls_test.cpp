// SPDX-License-Identifier: BSL-1.0
// Large arguments and results through shared memory in real calls: chosen by size, the
// same values either way, nothing left behind when a child crashes, off for Slurm steps
// and when the threshold is 0.
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

BOOST_AUTO_TEST_CASE(pool_tasks_and_async_calls_give_the_same_large_values) {
  mpdecor::pool_options settings;
  settings.workers = 1;
  mpdecor::pool workers(settings);
  const auto [count, sum, shared] = workers.submit(sum_doubles)(make_doubles(large)).get();
  BOOST_TEST(count == large);
  BOOST_TEST(sum == sum_below(large));
  BOOST_TEST(!shared); // a pool's channel carries everything in its messages
}
#endif

BOOST_AUTO_TEST_CASE(slurm_steps_never_use_shared_memory) {
  // Only the threshold is checked here: a Slurm step may run on another machine, so its
  // calls are encoded with everything inline (the Slurm suite runs them for real).
  mpdecor::options slurm;
  slurm.start = mpdecor::start_method::slurm;
  BOOST_TEST(mpdecor::detail::sharing_threshold(slurm) == 0u);
  mpdecor::options local;
  BOOST_TEST(mpdecor::detail::sharing_threshold(local) == mpdecor::shared_memory_threshold());
}

BOOST_AUTO_TEST_SUITE_END()
