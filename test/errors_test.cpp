// SPDX-License-Identifier: BSL-1.0
// Calls that fail: each failure reaches the caller as its own error type, with what the
// user needs to act on it, and the parent never hangs.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {
int unregistered(int value) { return value; }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
} // namespace

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(an_exception_in_the_child_becomes_remote_error) {
  try {
    mpdecor::proc_wait(throw_runtime_error)("the config is bad");
    BOOST_FAIL("no exception");
  } catch (const mpdecor::remote_error& e) {
    BOOST_TEST(e.type() == "std::runtime_error");
    BOOST_TEST(e.message() == "the config is bad");
    BOOST_TEST(e.function() == "fixtures::throw_runtime_error");
    BOOST_TEST(e.pid() > 0);
    BOOST_TEST(contains(e.what(), "fixtures::throw_runtime_error"));
    BOOST_TEST(contains(e.what(), "pid " + std::to_string(e.pid())));
    BOOST_TEST(contains(e.what(), "std::runtime_error: the config is bad"));
  }
}

BOOST_AUTO_TEST_CASE(a_user_exception_type_is_named_in_remote_error) {
  auto handle = mpdecor::proc(throw_config_error)("missing key");
  try {
    handle.get();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::remote_error& e) {
    BOOST_TEST(e.type() == "fixtures::config_error");
    BOOST_TEST(e.message() == "missing key");
    BOOST_TEST(e.pid() == handle.pid());
  }
}

BOOST_AUTO_TEST_CASE(a_thrown_non_exception_type_is_named_in_remote_error) {
  try {
    mpdecor::proc_wait(throw_int)(7);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::remote_error& e) {
    BOOST_TEST(e.type() == "int");
    BOOST_TEST(e.message().empty());
  }
}

#if !defined(_WIN32) // POSIX only; the Windows counterparts are in windows_test.cpp.
BOOST_AUTO_TEST_CASE(a_crash_by_signal_becomes_child_crashed_with_the_signal_name) {
  try {
    mpdecor::proc_wait(raise_segfault)();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.signal().value_or(0) == SIGSEGV);
    BOOST_TEST(e.signal_name() == "SIGSEGV");
    BOOST_TEST(!e.exit_code().has_value());
    BOOST_TEST(contains(e.what(), "killed by SIGSEGV"));
    BOOST_TEST(contains(e.what(), "fixtures::raise_segfault"));
  }
}

BOOST_AUTO_TEST_CASE(abort_becomes_child_crashed_with_sigabrt) {
  BOOST_CHECK_EXCEPTION(
      mpdecor::proc_wait(call_abort)(), mpdecor::child_crashed,
      [](const mpdecor::child_crashed& e) { return e.signal_name() == "SIGABRT"; });
}
#endif

BOOST_AUTO_TEST_CASE(an_exit_without_result_becomes_child_crashed_with_the_exit_code) {
  try {
    mpdecor::proc_wait(exit_with)(3);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == 3);
    BOOST_TEST(!e.signal().has_value());
    BOOST_TEST(contains(e.what(), "exited with code 3 before it sent a result"));
  }
  // exit(0) in the middle of the call is no result either.
  BOOST_CHECK_THROW(mpdecor::proc_wait(exit_with)(0), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_CASE(a_timeout_kills_the_child_and_throws_timeout_error) {
  const auto start = std::chrono::steady_clock::now();
  auto handle = mpdecor::proc(sleep_ms).timeout(300ms)(60'000);
  const auto pid = handle.pid();
  try {
    handle.get();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::timeout_error& e) {
    BOOST_TEST(e.timeout().count() == 300);
    BOOST_TEST(e.pid() == pid);
    BOOST_TEST(contains(e.what(), "did not finish within 300 ms"));
  }
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s)); // a hang detector only
  BOOST_TEST(!helpers::process_exists(static_cast<long>(pid)), "the child is gone and reaped");
}

BOOST_AUTO_TEST_CASE(a_call_that_finishes_within_its_timeout_succeeds) {
  BOOST_TEST(mpdecor::proc_wait(sleep_ms).timeout(30s)(10) == 10);
}

#if !defined(_WIN32) // POSIX only; the Windows counterparts are in windows_test.cpp.
// Limits too long for the clock mean "no limit"; they must not overflow into the past.
BOOST_AUTO_TEST_CASE(timeouts_too_long_for_the_clock_never_fire) {
  using years = std::chrono::duration<std::int64_t, std::ratio<31'556'952>>;
  BOOST_TEST(mpdecor::proc_wait(sleep_ms).timeout(std::chrono::milliseconds::max())(50) == 50);
  BOOST_TEST(mpdecor::proc_wait(sleep_ms).timeout(std::chrono::nanoseconds::max())(50) == 50);
  BOOST_TEST(mpdecor::proc_wait(sleep_ms).timeout(std::chrono::hours::max())(50) == 50);
  BOOST_TEST(mpdecor::proc_wait(sleep_ms).timeout(years(300))(50) == 50);
  BOOST_TEST(mpdecor::proc_wait(sleep_ms).timeout(std::chrono::duration<double>(1e300))(50) == 50);
  mpdecor::options settings;
  settings.timeout = std::chrono::milliseconds::max();
  BOOST_TEST(mpdecor::proc_wait(sleep_ms, settings)(50) == 50);
  mpdecor::pool_options pool_settings;
  pool_settings.workers = 1;
  mpdecor::pool workers(pool_settings);
  BOOST_TEST(workers.submit(sleep_ms).timeout(std::chrono::hours::max())(50).get() == 50);
  BOOST_TEST(workers.submit(sleep_ms).timeout(years(300))(50).get() == 50);
}

BOOST_AUTO_TEST_CASE(a_negative_timeout_fires_at_once) {
  BOOST_CHECK_THROW(mpdecor::proc_wait(sleep_ms).timeout(-5s)(60'000), mpdecor::timeout_error);
}

BOOST_AUTO_TEST_CASE(kill_through_the_handle_ends_the_child_with_child_crashed) {
  auto handle = mpdecor::proc(sleep_ms)(60'000);
  const auto pid = handle.pid();
  handle.kill();
  try {
    handle.get();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.signal_name() == "SIGKILL");
    BOOST_TEST(contains(e.what(), "killed through its handle"));
  }
  BOOST_TEST(!helpers::process_exists(static_cast<long>(pid)));
  handle.kill(); // killing a finished call does nothing
}
#endif

BOOST_AUTO_TEST_CASE(decorating_an_unregistered_function_throws_not_registered) {
  try {
    mpdecor::proc(unregistered);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::not_registered& e) {
    BOOST_TEST(contains(e.what(), "is not registered"));
    BOOST_TEST(contains(e.what(), "MPDECOR_REGISTER"));
    BOOST_TEST(contains(e.what(), "int(int)"));
  }
}

BOOST_AUTO_TEST_CASE(a_name_the_child_does_not_know_throws_not_registered) {
  try {
    mpdecor::proc_wait<int(int)>("no_such_function")(1);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::not_registered& e) {
    BOOST_TEST(e.function() == "no_such_function");
    BOOST_TEST(e.pid() > 0);
    BOOST_TEST(contains(e.what(), "no function is registered as 'no_such_function'"));
    BOOST_TEST(contains(e.what(), "fixtures::add"), "the message lists the registered names");
  }
}

// A call by name whose signature is not the registered function's is refused with
// protocol_error naming both, even where the arguments happen to decode (float and int have
// the same size). (Before, proc_wait<float(float)>("fixtures::square")(3.0f) returned a
// number made of the wrong bytes, with no error.)
BOOST_AUTO_TEST_CASE(a_call_by_name_with_another_signature_is_refused_naming_both) {
  const auto refused = [](auto call, const std::string& called_as, const std::string& registered) {
    BOOST_TEST_CONTEXT("called as " << called_as) {
      try {
        call();
        BOOST_FAIL("no exception");
      } catch (const mpdecor::protocol_error& e) {
        BOOST_TEST(contains(e.what(), "is registered as " + registered), e.what());
        BOOST_TEST(contains(e.what(), "but was called as " + called_as), e.what());
      } catch (const std::exception& e) {
        BOOST_FAIL("another error: " << e.what());
      }
    }
  };
  refused([] { return mpdecor::proc_wait<float(float)>("fixtures::square")(3.0f); }, "float(float)",
          "int(int)");
  refused([] { return mpdecor::proc_wait<int(char)>("fixtures::add")('x'); }, "int(char)",
          "int(int, int)");
  refused([] { return mpdecor::proc_wait<std::string(int, int)>("fixtures::add")(1, 2); },
          "std::", "int(int, int)");
  refused([] { return mpdecor::proc_wait<long(int, int)>("fixtures::add")(1, 2); },
          "long(int, int)", "int(int, int)");
  refused(
      [] {
        return mpdecor::proc_wait<int(int)>("fixtures::square")
                   .start_method(mpdecor::start_method::fork_server)(2) +
               mpdecor::proc_wait<double(int)>("fixtures::square")
                   .start_method(mpdecor::start_method::fork_server)(2);
      },
      "double(int)", "int(int)");
  refused([] { return mpdecor::proc<unsigned(int)>("fixtures::square")(2).get(); },
          "unsigned int(int)", "int(int)");
  // The same signature spelt with references and const is the same call.
  BOOST_TEST(mpdecor::proc_wait<int(const int&)>("fixtures::square")(7) == 49);
  BOOST_TEST(mpdecor::proc_wait<int(const int, const int&)>("fixtures::add")(2, 3) == 5);
}

BOOST_AUTO_TEST_CASE(a_failed_launch_throws_launch_error) {
  try {
    mpdecor::proc_wait(add).working_directory("/no/such/directory")(1, 2);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::launch_error& e) {
    BOOST_TEST(e.code().value() != 0);
    BOOST_TEST(e.pid() == 0);
    BOOST_TEST(contains(e.what(), "/no/such/directory"));
  }
  auto handle = mpdecor::proc(add).working_directory("/no/such/directory")(1, 2);
  BOOST_CHECK_THROW(handle.pid(), mpdecor::launch_error);
}

BOOST_AUTO_TEST_CASE(environment_variables_mpdecor_cannot_set_are_refused_at_the_call) {
  const auto refused = [](const std::string& name, const std::string& value,
                          const std::string& why) {
    for (const auto method : {mpdecor::start_method::spawn, mpdecor::start_method::fork_server}) {
      BOOST_TEST_CONTEXT("'" << name << "', start method " << static_cast<int>(method)) {
        try {
          mpdecor::proc_wait(environment_variable).start_method(method).env(name, value)("A");
          BOOST_ERROR("no usage_error");
        } catch (const mpdecor::usage_error& e) {
          BOOST_TEST(contains(e.what(), why));
          BOOST_TEST(contains(e.what(), "environment_variable"));
        }
      }
    }
    mpdecor::pool_options settings;
    settings.workers = 1;
    settings.worker_options.environment.emplace_back(name, value);
    BOOST_CHECK_THROW(mpdecor::pool{settings}, mpdecor::usage_error);
  };
  refused("A=B", "c", "holds '='"); // would set A to "B=c"
  refused("", "c", "an empty name");
  refused("MPDECOR_LAUNCH_KEY", "c", "mpdecor sets itself");
  refused("MPDECOR_PARENT_PID", "1", "mpdecor sets itself");
  refused("MPDECOR_MEMORY_LIMIT", "1", "mpdecor sets itself");
  refused("MPDECOR_SHARED_MEMORY_THRESHOLD", "1", "mpdecor sets itself");
  refused("MPDECOR_OUTPUT_MARKS", "1", "mpdecor sets itself");
  refused("MPDECOR_STACK_TRACES", "0", "mpdecor sets itself");
  refused(std::string("A\0B", 3), "c", "NUL");
  refused("A", std::string("b\0c", 3), "NUL");
  // What is allowed still works, as before.
  BOOST_TEST(mpdecor::proc_wait(environment_variable).env("A", "b=c")("A") == "b=c");
  BOOST_TEST(mpdecor::proc_wait(environment_variable)
                 .env("MPDECOR_START_METHOD", "spawn")("MPDECOR_START_METHOD") == "spawn");
}

BOOST_AUTO_TEST_CASE(every_error_derives_from_mpdecor_error) {
  BOOST_CHECK_THROW(mpdecor::proc_wait(throw_int)(1), mpdecor::error);
  BOOST_CHECK_THROW(mpdecor::proc_wait(call_abort)(), mpdecor::error);
  BOOST_CHECK_THROW(mpdecor::proc_wait(throw_int)(1), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
