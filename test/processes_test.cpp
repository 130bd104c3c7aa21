// SPDX-License-Identifier: BSL-1.0
// What happens to processes: the concurrency limit, reaping, descriptors, large data,
// program exit, start-up checks and calls that mpdecor did not make.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Restores the default concurrency limit after a test that changes it.
struct limit_guard {
  std::size_t saved = mpdecor::max_running();
  ~limit_guard() { mpdecor::set_max_running(saved); }
};

std::filesystem::path temporary_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("mpdecor-test-" + std::to_string(::getpid()) + "-" + name);
}

} // namespace

BOOST_AUTO_TEST_SUITE(processes)

BOOST_AUTO_TEST_CASE(the_default_limit_is_the_number_of_hardware_threads) {
  const auto threads = std::thread::hardware_concurrency();
  BOOST_TEST(mpdecor::max_running() == (threads == 0 ? 2u : threads));
}

BOOST_AUTO_TEST_CASE(calls_beyond_the_limit_queue_and_proc_still_returns_at_once) {
  limit_guard guard;
  mpdecor::set_max_running(2);
  std::vector<mpdecor::handle<std::pair<std::int64_t, std::int64_t>>> handles;
  for (int i = 0; i < 6; ++i)
    handles.push_back(mpdecor::proc(timed_sleep)(300));
  BOOST_TEST(mpdecor::running_count() == 2u);
  BOOST_TEST(mpdecor::queued_count() == 4u);
  std::vector<std::pair<std::int64_t, std::int64_t>> intervals;
  for (auto& handle : handles)
    intervals.push_back(handle.get());
  BOOST_TEST(helpers::max_overlap(intervals) <= 2u);
  const auto first = std::min_element(intervals.begin(), intervals.end())->first;
  std::int64_t last = 0;
  for (const auto& interval : intervals)
    last = std::max(last, interval.second);
  BOOST_TEST(last - first >= std::chrono::nanoseconds(900ms).count(),
             "six 300 ms calls, two at a time, take three rounds");
}

BOOST_AUTO_TEST_CASE(a_limit_of_zero_means_no_limit) {
  limit_guard guard;
  mpdecor::set_max_running(0);
  std::vector<mpdecor::handle<int>> handles;
  for (int i = 0; i < 8; ++i)
    handles.push_back(mpdecor::proc(sleep_ms)(200));
  BOOST_TEST(mpdecor::queued_count() == 0u);
  BOOST_TEST(mpdecor::running_count() == 8u);
  for (auto& handle : handles)
    BOOST_TEST(handle.get() == 200);
}

BOOST_AUTO_TEST_CASE(raising_the_limit_starts_queued_calls) {
  limit_guard guard;
  mpdecor::set_max_running(1);
  auto first = mpdecor::proc(sleep_ms)(300);
  auto second = mpdecor::proc(sleep_ms)(300);
  BOOST_TEST(mpdecor::queued_count() == 1u);
  mpdecor::set_max_running(2);
  BOOST_TEST(mpdecor::queued_count() == 0u);
  BOOST_TEST(second.get() == 300);
  BOOST_TEST(first.get() == 300);
}

BOOST_AUTO_TEST_CASE(killing_a_queued_call_cancels_it) {
  limit_guard guard;
  mpdecor::set_max_running(1);
  auto running = mpdecor::proc(sleep_ms)(300);
  auto queued = mpdecor::proc(sleep_ms)(300);
  BOOST_TEST(!queued.running());
  queued.kill();
  BOOST_CHECK_THROW(queued.get(), mpdecor::cancelled);
  BOOST_CHECK_THROW(queued.pid(), mpdecor::cancelled);
  BOOST_TEST(running.get() == 300);
  mpdecor::wait_all();
  BOOST_TEST(mpdecor::running_count() == 0u);
}

BOOST_AUTO_TEST_CASE(two_hundred_fire_and_forget_calls_leave_no_zombie) {
  limit_guard guard;
  mpdecor::set_max_running(0);
  // Under Wine a process takes 0.1-0.3 s to start: 60 calls there.
  const int calls = helpers::under_wine() ? 60 : 200;
  for (int i = 0; i < calls; ++i)
    mpdecor::proc(sleep_ms)(100); // handles dropped at once
  mpdecor::wait_all();
  BOOST_TEST(mpdecor::running_count() == 0u);
  BOOST_TEST(mpdecor::queued_count() == 0u);
  BOOST_TEST(helpers::zombie_children().empty());
  BOOST_TEST(helpers::children().empty(), "no child of this process is left at all");
}

BOOST_AUTO_TEST_CASE(a_thousand_calls_leak_no_descriptor) {
  // Sanitizer runs lower the count (each child starts slowly under them); 1000 otherwise.
  const char* override_calls = std::getenv("MPDECOR_TEST_CALLS");
  const int calls = override_calls != nullptr ? std::stoi(override_calls) : 1000;
  // The supervisor's own descriptors exist from here on (its timers too: on Windows Asio
  // starts a timer thread on first use).
  mpdecor::proc_wait(add).timeout(std::chrono::minutes(1))(0, 0);
  const int before = helpers::open_descriptors();
  for (int i = 0; i < calls; ++i)
    BOOST_REQUIRE_EQUAL(mpdecor::proc_wait(add)(i, 1), i + 1);
  BOOST_TEST(helpers::open_descriptors() == before);
  BOOST_TEST(helpers::children().empty());
}

BOOST_AUTO_TEST_CASE(a_256_mb_argument_and_a_256_mb_result_travel) {
  // Sanitizer runs lower the size (their shadow memory multiplies it); 256 MB otherwise.
  const char* override_mb = std::getenv("MPDECOR_TEST_LARGE_MB");
  const std::uint64_t size = (override_mb != nullptr ? std::stoull(override_mb) : 256ULL) << 20;
  {
    const auto bytes = make_bytes(size);
    const auto expected = checksum(bytes);
    BOOST_TEST((mpdecor::proc_wait(checksum)(bytes) == expected));
  }
  const auto result = mpdecor::proc_wait(make_bytes)(size);
  BOOST_TEST_REQUIRE(result.size() == size);
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, size / 3, size / 2, size - 1})
    BOOST_TEST(result[i] == pattern_at(i));
  BOOST_TEST((checksum(result) == checksum(make_bytes(size))));
}

BOOST_AUTO_TEST_CASE(the_child_writes_to_the_parents_stdout_and_stderr) {
  const auto result = helpers::run(helpers::program("print"));
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(contains(result.output, "child stdout: hello"));
  BOOST_TEST(contains(result.output, "child stderr: hello"));
  BOOST_TEST(contains(result.output, "parent done"));
}

BOOST_AUTO_TEST_CASE(two_registrations_under_one_name_are_reported_at_start_up) {
  const auto result = helpers::run(helpers::program("duplicate_names"));
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.output, "'twice' is registered twice"));
  BOOST_TEST(contains(result.output, "first.cpp:5"));
  BOOST_TEST(contains(result.output, "second.cpp:4"));
  BOOST_TEST(!contains(result.output, "init accepted"));
}

BOOST_AUTO_TEST_CASE(at_normal_exit_running_children_are_waited_for) {
  const auto marker = temporary_file("wait");
  std::filesystem::remove(marker);
  const auto result =
      helpers::run(helpers::program("at_exit") + " wait " + marker.string() + " 300");
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(std::filesystem::exists(marker), "the child finished before the program ended");
  std::filesystem::remove(marker);
}

BOOST_AUTO_TEST_CASE(at_exit_kill_policy_kills_running_children) {
  const auto marker = temporary_file("kill");
  std::filesystem::remove(marker);
  const auto start = std::chrono::steady_clock::now();
  const auto result =
      helpers::run(helpers::program("at_exit") + " kill " + marker.string() + " 60000");
  BOOST_TEST(result.exit_code == 0);
  // Killed, not waited for (which would take a minute); a hang detector, not a speed check.
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));
  const auto pid_text = result.output.substr(result.output.find("child ") + 6);
  const long pid = std::stol(pid_text);
  BOOST_TEST(pid > 0);
  BOOST_TEST(!helpers::process_exists(pid), "the child was killed and reaped, not orphaned");
  BOOST_TEST(!std::filesystem::exists(marker));
}

namespace {

// Runs the at-exit program `runs` times in `how` mode with `count` dropped calls and returns
// how many of the calls never wrote their file, over all runs.
int calls_lost_at_exit(const std::string& how, int count, int runs) {
  int lost = 0;
  for (int run = 0; run < runs; ++run) {
    const auto directory = temporary_file("at-exit-" + how + "-" + std::to_string(run));
    std::filesystem::remove_all(directory);
    std::filesystem::create_directories(directory);
    const auto result = helpers::run(helpers::program("at_exit") + " many " + directory.string() +
                                     " " + std::to_string(count) + " " + how);
    BOOST_TEST(result.exit_code == 0, result.output);
    for (int i = 0; i < count; ++i)
      lost += std::filesystem::exists(directory / std::to_string(i)) ? 0 : 1;
    std::filesystem::remove_all(directory);
  }
  return lost;
}

} // namespace

// The at-exit wait still launches queued calls; what a launch needs (the executable's path,
// the launch key's random source) must outlive it.
BOOST_AUTO_TEST_CASE(calls_whose_handles_were_dropped_all_run_before_the_program_ends) {
  // Under Wine every run starts a dozen processes at 0.1-0.3 s each: a third of the runs.
  const int divisor = helpers::under_wine() ? 3 : 1;
  BOOST_TEST(calls_lost_at_exit("spawn", 8, 20 / divisor) == 0);
  BOOST_TEST(calls_lost_at_exit("fork_server", 8, 15 / divisor) == 0);
  BOOST_TEST(calls_lost_at_exit("limit1", 10, 15 / divisor) == 0);
}

BOOST_AUTO_TEST_CASE(a_call_from_a_static_destructor_after_the_at_exit_wait_fails_at_once) {
  const auto start = std::chrono::steady_clock::now();
  const auto result = helpers::run(helpers::program("at_exit") + " static_destructor");
  BOOST_TEST(result.exit_code == 0, result.output);
  BOOST_TEST(contains(result.output, "first call returned 2"));
  BOOST_TEST(contains(result.output, "late call refused: mpdecor:"), result.output);
  // A hang detector, not a speed check.
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));
}

BOOST_AUTO_TEST_SUITE_END()
