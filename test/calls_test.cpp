// SPDX-License-Identifier: BSL-1.0
// Calls that succeed: results, argument types, handles, options, nesting.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <unistd.h>

using namespace std::chrono_literals;
using namespace fixtures;

BOOST_AUTO_TEST_SUITE(calls)

BOOST_AUTO_TEST_CASE(proc_wait_returns_the_function_result) {
  BOOST_TEST(mpdecor::proc_wait(add)(2, 3) == 5);
}

BOOST_AUTO_TEST_CASE(proc_returns_a_handle_whose_get_gives_the_result) {
  auto handle = mpdecor::proc(add)(20, 22);
  BOOST_TEST(handle.get() == 42);
  BOOST_TEST(handle.get() == 42); // a second get decodes the result again
  BOOST_TEST(handle.finished());
}

BOOST_AUTO_TEST_CASE(the_call_runs_in_another_process) {
  const auto child = mpdecor::proc_wait(own_pid)();
  BOOST_TEST(child != static_cast<std::int64_t>(::getpid()));
  auto handle = mpdecor::proc(own_pid)();
  BOOST_TEST(handle.get() == handle.pid());
}

BOOST_AUTO_TEST_CASE(void_functions_run_and_return_nothing) {
  mpdecor::proc_wait(do_nothing)();
  auto handle = mpdecor::proc(do_nothing)();
  handle.get();
  BOOST_TEST(handle.finished());
}

BOOST_AUTO_TEST_CASE(arguments_convert_as_in_a_direct_call) {
  // const char* to std::string, double to int: conversions happen in the parent.
  BOOST_TEST(mpdecor::proc_wait(shout)("hello") == "HELLO!");
  BOOST_TEST(mpdecor::proc_wait(add)(short{1}, 'A') == 66);
}

BOOST_AUTO_TEST_CASE(plain_aggregates_travel_through_pfr) {
  const point moved = mpdecor::proc_wait(move_point)(point{1, 2.5, "p"}, 10);
  BOOST_TEST(moved.x == 11);
  BOOST_TEST(moved.y == 2.5);
  BOOST_TEST(moved.label == "p moved");
}

BOOST_AUTO_TEST_CASE(user_types_with_serialize_travel) {
  matrix m(2, 3);
  m.at(0, 2) = 7;
  m.at(1, 0) = -1;
  const matrix t = mpdecor::proc_wait(transpose)(m);
  BOOST_TEST(t.rows() == 3);
  BOOST_TEST(t.columns() == 2);
  BOOST_TEST(t.at(2, 0) == 7);
  BOOST_TEST(t.at(0, 1) == -1);
  BOOST_TEST(mpdecor::proc_wait(warmer)(temperature{273.15}, 10).kelvin == 283.15);
}

BOOST_AUTO_TEST_CASE(standard_containers_optional_variant_and_tuple_travel) {
  const auto counts = mpdecor::proc_wait(count_words)(std::vector<std::string>{"a", "b", "a"});
  BOOST_TEST(counts.at("a") == 2);
  BOOST_TEST(counts.at("b") == 1);
  BOOST_TEST(mpdecor::proc_wait(parse_int)("42").value_or(0) == 42);
  BOOST_TEST(!mpdecor::proc_wait(parse_int)("forty-two").has_value());
  BOOST_TEST(std::get<std::string>(mpdecor::proc_wait(classify)(7)) == "int 7");
  BOOST_TEST(std::get<int>(mpdecor::proc_wait(classify)(std::string("four"))) == 4);
  const auto rotated = mpdecor::proc_wait(rotate)(std::make_tuple(std::string("s"), 1.5, 9));
  BOOST_TEST(std::get<0>(rotated) == 9);
  BOOST_TEST(std::get<1>(rotated) == "s");
  BOOST_TEST(std::get<2>(rotated) == 1.5);
}

BOOST_AUTO_TEST_CASE(a_function_can_be_called_by_its_registered_name) {
  BOOST_TEST(mpdecor::proc_wait<int(int, int)>("sum_of_two")(4, 5) == 9);
  BOOST_TEST(mpdecor::proc<int(int, int)>("fixtures::add")(1, 1).get() == 2);
}

BOOST_AUTO_TEST_CASE(handle_reports_pid_and_running_state) {
  auto handle = mpdecor::proc(sleep_ms)(400);
  BOOST_TEST(handle.pid() > 0);
  BOOST_TEST(handle.running());
  BOOST_TEST(helpers::process_exists(static_cast<long>(handle.pid())));
  BOOST_TEST(!handle.finished());
  BOOST_TEST(handle.get() == 400);
  BOOST_TEST(!handle.running());
  BOOST_TEST(handle.finished());
}

BOOST_AUTO_TEST_CASE(wait_for_times_out_while_the_child_runs_then_succeeds) {
  auto handle = mpdecor::proc(sleep_ms)(600);
  BOOST_TEST(!handle.wait_for(50ms));
  BOOST_TEST(handle.wait_for(30s));
  handle.wait();
  BOOST_TEST(handle.get() == 600);
}

BOOST_AUTO_TEST_CASE(environment_variables_reach_the_child) {
  const auto value = mpdecor::proc_wait(environment_variable)
                         .env("MPDECOR_TEST_VARIABLE", "from the parent")("MPDECOR_TEST_VARIABLE");
  BOOST_TEST(value == "from the parent");
  mpdecor::options settings;
  settings.environment.emplace_back("PATH", "/replaced");
  BOOST_TEST(mpdecor::proc_wait(environment_variable, settings)("PATH") == "/replaced");
  // The rest of the parent's environment is kept.
  BOOST_TEST(mpdecor::proc_wait(environment_variable).env("X", "1")("HOME") ==
             environment_variable("HOME"));
}

BOOST_AUTO_TEST_CASE(the_child_runs_in_the_chosen_working_directory) {
  const auto directory = std::filesystem::canonical(std::filesystem::temp_directory_path());
  BOOST_TEST(mpdecor::proc_wait(working_directory).working_directory(directory)() ==
             directory.string());
  BOOST_TEST(mpdecor::proc_wait(working_directory)() == std::filesystem::current_path().string());
}

BOOST_AUTO_TEST_CASE(a_child_can_start_children_of_its_own) {
  const auto pids = mpdecor::proc_wait(nested_pids)(3);
  BOOST_TEST_REQUIRE(pids.size() == 4u);
  std::vector<std::int64_t> sorted = pids;
  std::sort(sorted.begin(), sorted.end());
  BOOST_TEST((std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()),
             "every level runs in its own process");
}

BOOST_AUTO_TEST_CASE(a_dropped_handle_still_runs_and_is_reaped) {
  { mpdecor::proc(sleep_ms)(100); }
  mpdecor::wait_all();
  BOOST_TEST(mpdecor::running_count() == 0u);
  BOOST_TEST(helpers::zombie_children().empty());
}

BOOST_AUTO_TEST_CASE(a_registered_captureless_lambda_runs_in_a_child_like_a_function) {
  BOOST_TEST(mpdecor::proc_wait(cube)(3) == 27);
  auto handle = mpdecor::proc(cube)(4);
  BOOST_TEST(handle.get() == 64);
  BOOST_TEST(handle.function() == "fixtures::cube");
  BOOST_TEST(mpdecor::proc(cube).timeout(60s)(2).get() == 8);
  BOOST_TEST(mpdecor::proc<int(int)>("fixtures::cube")(5).get() == 125);
  BOOST_CHECK_THROW(mpdecor::proc_wait(refuse)("no"), mpdecor::remote_error);
  BOOST_TEST(mpdecor::proc(refuse)("x").function() == "refuse");
}

BOOST_AUTO_TEST_CASE(a_registered_stateless_function_object_runs_in_a_child) {
  BOOST_TEST(mpdecor::proc_wait(word_length{})("seven") == 5U);
  auto handle = mpdecor::proc(word_length{})("four");
  BOOST_TEST(handle.get() == 4U);
  BOOST_TEST(handle.function() == "fixtures::word_length"); // registered as word_length{}
  mpdecor::pool workers;
  BOOST_TEST(workers.submit(cube)(3).get() == 27);
  BOOST_TEST(workers.map(cube, std::vector<int>{1, 2, 3}) == (std::vector<int>{1, 8, 27}),
             boost::test_tools::per_element());
  BOOST_TEST(workers.map(word_length{}, std::vector<std::string>{"a", "bb"}) ==
                 (std::vector<std::size_t>{1, 2}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_unregistered_lambda_is_not_registered_naming_its_signature) {
  constexpr auto unregistered = [](int x) { return x + 1; };
  try {
    mpdecor::proc(unregistered);
    BOOST_FAIL("proc of an unregistered lambda should throw");
  } catch (const mpdecor::not_registered& e) {
    BOOST_TEST(std::string(e.what()).find("int(int)") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()
