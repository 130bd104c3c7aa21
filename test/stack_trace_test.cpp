// SPDX-License-Identifier: BSL-1.0
// The child's stack trace in remote_error and child_crashed (error::stack_trace()): where
// the function threw, or where the child crashed, named by the parent; for fresh children,
// fork-server children and pool workers. Linux with glibc and Windows record traces;
// elsewhere the trace is empty.
#include "functions.hpp"
#include "sanitized.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace fixtures;

namespace {

template <class Error, class Call>
std::string trace_of(Call&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.stack_trace();
  }
  BOOST_ERROR("the call did not fail as expected");
  return {};
}

#if defined(__linux__) || defined(_WIN32)
#define MPDECOR_TEST_TRACES 1
#endif

#if defined(MPDECOR_TEST_TRACES)
// The line of `trace` that starts with "#<index> ".
std::string frame_line(const std::string& trace, int index) {
  const std::string start = "#" + std::to_string(index) + " ";
  const auto at = trace.rfind(start, 0) == 0 ? 0 : trace.find("\n" + start);
  if (at == std::string::npos)
    return {};
  const auto begin = at == 0 ? 0 : at + 1;
  return trace.substr(begin, trace.find('\n', begin) - begin);
}

// Restores the program-wide setting whatever a test does.
struct traces_on {
  ~traces_on() { mpdecor::set_stack_traces(true); }
};

#if defined(_WIN32)
const mpdecor::start_method methods[] = {mpdecor::start_method::spawn};
#else
const mpdecor::start_method methods[] = {mpdecor::start_method::spawn,
                                         mpdecor::start_method::fork_server};
#endif
#endif

} // namespace

BOOST_AUTO_TEST_SUITE(stack_traces)

#if defined(MPDECOR_TEST_TRACES)

BOOST_AUTO_TEST_CASE(a_remote_error_shows_where_the_function_threw) {
  BOOST_TEST(mpdecor::stack_traces());
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT("method " << static_cast<int>(method)) {
      const std::string trace = trace_of<mpdecor::remote_error>(
          [&] { mpdecor::proc_wait(throw_from_a_named_function).start_method(method)(3); });
      // The innermost frame is the function that threw; its callers follow.
      BOOST_TEST(frame_line(trace, 0).find("fixtures::stack_trace_thrower") != std::string::npos,
                 trace);
      BOOST_TEST(trace.find("fixtures::descend_then_throw") != std::string::npos, trace);
      BOOST_TEST(trace.find("fixtures::throw_from_a_named_function") != std::string::npos, trace);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_throw_from_the_cpp_runtime_itself_is_traced_too) {
  const std::string trace =
      trace_of<mpdecor::remote_error>([] { mpdecor::proc_wait(parse_number)("abc"); });
  BOOST_TEST(trace.find("fixtures::parse_number") != std::string::npos, trace);
}

BOOST_AUTO_TEST_CASE(the_trace_is_of_the_throw_that_left_the_function) {
  const std::string trace =
      trace_of<mpdecor::remote_error>([] { mpdecor::proc_wait(throw_after_a_caught_throw)(); });
  BOOST_TEST(frame_line(trace, 0).find("fixtures::second_thrower") != std::string::npos, trace);
  BOOST_TEST(trace.find("fixtures::first_thrower") == std::string::npos, trace);
}

BOOST_AUTO_TEST_CASE(a_crash_shows_where_the_child_crashed) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT("method " << static_cast<int>(method)) {
      const std::string trace = trace_of<mpdecor::child_crashed>(
          [&] { mpdecor::proc_wait(crash_in_a_named_function).start_method(method)(); });
      BOOST_TEST(trace.find("fixtures::stack_trace_crasher") != std::string::npos, trace);
      BOOST_TEST(trace.find("fixtures::crash_in_a_named_function") != std::string::npos, trace);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_fault_shows_the_function_that_faulted) {
  // A write through a null pointer: SIGSEGV, or on Windows an access violation, whose
  // stack is walked from the faulting instruction.
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT("method " << static_cast<int>(method)) {
      const std::string trace = trace_of<mpdecor::child_crashed>(
          [&] { mpdecor::proc_wait(fault_in_a_named_function).start_method(method)(); });
      // A sanitizer's own SIGSEGV handler stays in charge of its program: it reports the
      // fault itself, and the child sends no trace.
      if (mpdecor_test::sanitized)
        continue;
      BOOST_TEST(trace.find("fixtures::stack_trace_faulter") != std::string::npos, trace);
      BOOST_TEST(trace.find("fixtures::fault_in_a_named_function") != std::string::npos, trace);
    }
  }
}

BOOST_AUTO_TEST_CASE(pool_tasks_carry_traces_of_throws_and_crashes) {
  mpdecor::pool_options settings;
  settings.workers = 1;
  mpdecor::pool workers(settings);
  const std::string thrown = trace_of<mpdecor::remote_error>(
      [&] { workers.submit(throw_from_a_named_function)(1).get(); });
  BOOST_TEST(frame_line(thrown, 0).find("fixtures::stack_trace_thrower") != std::string::npos,
             thrown);
  const std::string crashed =
      trace_of<mpdecor::child_crashed>([&] { workers.submit(crash_in_a_named_function)().get(); });
  BOOST_TEST(crashed.find("fixtures::stack_trace_crasher") != std::string::npos, crashed);
}

BOOST_AUTO_TEST_CASE(traces_are_off_with_set_stack_traces_false) {
  traces_on restore;
  mpdecor::set_stack_traces(false);
  BOOST_TEST(!mpdecor::stack_traces());
  BOOST_TEST(trace_of<mpdecor::remote_error>([] {
               mpdecor::proc_wait(throw_from_a_named_function)(0);
             }).empty());
  BOOST_TEST(trace_of<mpdecor::child_crashed>([] {
               mpdecor::proc_wait(crash_in_a_named_function)();
             }).empty());
}

#else

BOOST_AUTO_TEST_CASE(elsewhere_errors_carry_no_trace) {
  BOOST_TEST(trace_of<mpdecor::remote_error>([] {
               mpdecor::proc_wait(throw_from_a_named_function)(0);
             }).empty());
}

#endif

BOOST_AUTO_TEST_CASE(errors_without_a_child_stack_carry_no_trace) {
  BOOST_TEST(trace_of<mpdecor::not_registered>([] {
               mpdecor::proc_wait<int(int)>("no such function")(1);
             }).empty());
}

BOOST_AUTO_TEST_SUITE_END()
