// SPDX-License-Identifier: BSL-1.0
// Where a child's standard output and standard error go (options::standard_output,
// options::standard_error): inherited, discarded, written to a file, or captured and
// returned with the result and with every error; for calls and pool tasks, by every local
// start method.
#include "functions.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace fixtures;
using mpdecor::output_target;

namespace {

#if defined(_WIN32)
const mpdecor::start_method methods[] = {mpdecor::start_method::spawn};
#else
const mpdecor::start_method methods[] = {mpdecor::start_method::spawn,
                                         mpdecor::start_method::fork_server};
#endif

const char* name_of(mpdecor::start_method method) {
  return method == mpdecor::start_method::spawn ? "spawn" : "fork server";
}

// The text without carriage returns: a Windows child's C runtime writes "\r\n" to a file.
std::string lines(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  return text;
}

std::filesystem::path fresh_file(const std::string& name) {
  static std::atomic<int> count{0};
  auto path = std::filesystem::temp_directory_path() /
              ("mpdecor-output-test-" + std::to_string(++count) + "-" + name);
  std::filesystem::remove(path);
  return path;
}

std::string contents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return lines(text.str());
}

} // namespace

BOOST_AUTO_TEST_SUITE(output)

BOOST_AUTO_TEST_CASE(captured_output_comes_back_with_the_result) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      const auto call = mpdecor::proc(print_lines)
                            .start_method(method)
                            .output(output_target::capture())("hello", 3);
      BOOST_TEST(call.get() == 3);
      const auto output = call.output();
      BOOST_TEST(lines(output.out) == "hello out 0\nhello out 1\nhello out 2\n");
      BOOST_TEST(lines(output.err) == "hello err 0\nhello err 1\nhello err 2\n");
      // Nothing captured: nothing returned.
      const auto plain = mpdecor::proc(add).start_method(method)(1, 2);
      BOOST_TEST(plain.get() == 3);
      BOOST_TEST(plain.output().empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(captured_output_comes_back_with_every_error) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      const auto capture = [method](auto function) {
        return mpdecor::proc(function).start_method(method).output(output_target::capture());
      };
      // An exception: what was printed before the throw, flushed by the child's exit.
      const auto thrown = capture(print_then_throw)("before the throw");
      try {
        thrown.get();
        BOOST_ERROR("print_then_throw returned");
      } catch (const mpdecor::remote_error& e) {
        BOOST_TEST(lines(e.output().out) == "before the throw out\n");
        BOOST_TEST(lines(e.output().err) == "before the throw err\n");
      }
      BOOST_TEST(lines(thrown.output().out) == "before the throw out\n");

      // A crash.
      try {
        capture(print_then_abort)("before the crash").get();
        BOOST_ERROR("print_then_abort returned");
      } catch (const mpdecor::child_crashed& e) {
        BOOST_TEST(lines(e.output().out) == "before the crash out\n");
        BOOST_TEST(lines(e.output().err).find("before the crash err\n") == 0);
      }

      // A timeout: the child is killed, and what it printed stays.
      try {
        capture(print_then_sleep).timeout(5s)("before the timeout", 120000).get();
        BOOST_ERROR("print_then_sleep returned");
      } catch (const mpdecor::timeout_error& e) {
        BOOST_TEST(lines(e.output().out) == "before the timeout out\n");
        BOOST_TEST(lines(e.output().err) == "before the timeout err\n");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_long_output_keeps_its_beginning_and_its_end_within_the_limit) {
  mpdecor::options settings;
  settings.standard_output = output_target::capture();
  settings.capture_limit = 1000;
  const auto call = mpdecor::proc(print_bytes, settings)(3'000'000);
  BOOST_TEST(call.get() == 3'000'000U);
  const std::string out = call.output().out;
  BOOST_TEST(out.size() < 1100U);
  BOOST_TEST(out.rfind("BEGIN", 0) == 0U);
  BOOST_TEST(out.substr(out.size() - 3) == "END");
  BOOST_TEST(out.find("[mpdecor: 2999000 bytes of output left out]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(each_stream_goes_where_it_is_told) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      const auto call = mpdecor::proc(print_lines)
                            .start_method(method)
                            .standard_output(output_target::discard())
                            .standard_error(output_target::capture())("split", 2);
      BOOST_TEST(call.get() == 2);
      BOOST_TEST(call.output().out.empty());
      BOOST_TEST(lines(call.output().err) == "split err 0\nsplit err 1\n");
#if defined(__linux__)
      BOOST_TEST(mpdecor::proc_wait(standard_output_target)
                     .start_method(method)
                     .standard_output(output_target::discard())() == "/dev/null");
#endif
    }
  }
}

BOOST_AUTO_TEST_CASE(output_goes_to_a_file_appended_to_or_emptied_first) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      const auto path = fresh_file("both.txt");
      const auto to_file =
          mpdecor::proc_wait(print_lines).start_method(method).output(output_target::file(path));
      BOOST_TEST(to_file("first", 1) == 1);
      BOOST_TEST(to_file("second", 1) == 1);
      const std::string appended = contents(path);
      for (const char* line :
           {"first out 0\n", "first err 0\n", "second out 0\n", "second err 0\n"})
        BOOST_TEST(appended.find(line) != std::string::npos, line << " in " << appended);
      BOOST_TEST(appended.size() == std::string("first out 0\nfirst err 0\n"
                                                "second out 0\nsecond err 0\n")
                                        .size());

      BOOST_TEST(mpdecor::proc_wait(print_lines)
                     .start_method(method)
                     .output(output_target::file(path, /*append=*/false))("third", 1) == 1);
      const std::string emptied = contents(path);
      BOOST_TEST(emptied.find("second") == std::string::npos);
      BOOST_TEST(emptied.find("third out 0\n") != std::string::npos);
      BOOST_TEST(emptied.find("third err 0\n") != std::string::npos);
      std::filesystem::remove(path);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_relative_output_file_is_resolved_at_the_call) {
  const auto path = fresh_file("relative.txt");
  const auto before = std::filesystem::current_path();
  std::filesystem::current_path(path.parent_path());
  const auto decorated = mpdecor::proc(print_lines).output(output_target::file(path.filename()));
  const auto call = decorated("relative", 1);
  std::filesystem::current_path(before);
  BOOST_TEST(call.get() == 1);
  BOOST_TEST(contents(path).find("relative out 0\n") != std::string::npos);
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(an_output_file_that_cannot_be_opened_fails_the_launch_naming_it) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      const auto missing = fresh_file("no-such-folder") / "out.txt";
      try {
        mpdecor::proc_wait(print_lines)
            .start_method(method)
            .standard_error(output_target::file(missing))("never", 1);
        BOOST_ERROR("the call ran");
      } catch (const mpdecor::launch_error& e) {
        const std::string message = e.what();
        BOOST_TEST(message.find("out.txt") != std::string::npos, message);
        BOOST_TEST(message.find("standard error") != std::string::npos, message);
      }
    }
  }
  BOOST_CHECK_THROW(mpdecor::proc(print_lines).output(output_target::file(""))("never", 1),
                    mpdecor::usage_error);
}

BOOST_AUTO_TEST_CASE(a_pool_task_gets_the_output_its_worker_wrote_while_running_it) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      mpdecor::pool_options settings;
      settings.workers = 1;
      settings.worker_options.start = method;
      settings.worker_options.standard_output = output_target::capture();
      settings.worker_options.standard_error = output_target::capture();
      mpdecor::pool workers(settings);
      // Four tasks handed to the worker at once: it runs the next while the parent reads
      // the previous one's result, so only its marks keep the outputs apart.
      const auto call = workers.submit(print_task).chunk(4);
      std::vector<mpdecor::pool_handle<int>> tasks;
      for (int i = 0; i < 8; ++i)
        tasks.push_back(call(i));
      for (int i = 0; i < 8; ++i) {
        BOOST_TEST(tasks[i].get() == i);
        BOOST_TEST(lines(tasks[i].output().out) == "task " + std::to_string(i) + "\n");
        BOOST_TEST(lines(tasks[i].output().err) == "task " + std::to_string(i) + " err\n");
      }
      // A task that throws, and one whose worker crashes, keep theirs too.
      try {
        workers.submit(print_then_throw)("pool throw").get();
        BOOST_ERROR("print_then_throw returned");
      } catch (const mpdecor::remote_error& e) {
        BOOST_TEST(lines(e.output().out) == "pool throw out\n");
      }
      const auto crashed = workers.submit(print_then_abort)("pool crash");
      try {
        crashed.get();
        BOOST_ERROR("print_then_abort returned");
      } catch (const mpdecor::child_crashed& e) {
        BOOST_TEST(lines(e.output().out) == "pool crash out\n");
      }
      // The handle has it as well as the error.
      BOOST_TEST(lines(crashed.output().out) == "pool crash out\n");
      // The replacement worker captures as well.
      const auto after = workers.submit(print_task)(9);
      BOOST_TEST(after.get() == 9);
      BOOST_TEST(lines(after.output().out) == "task 9\n");
    }
  }
}

#if !defined(_WIN32)
BOOST_AUTO_TEST_CASE(what_the_calls_own_children_write_is_captured_with_it) {
  for (const auto method : methods) {
    BOOST_TEST_CONTEXT(name_of(method)) {
      const auto call = mpdecor::proc(run_shell).start_method(method).output(
          output_target::capture())("echo from the grandchild; echo to its stderr >&2");
      BOOST_TEST(call.get() == 0);
      BOOST_TEST(call.output().out == "from the grandchild\n");
      BOOST_TEST(call.output().err == "to its stderr\n");
    }
  }
}
#endif

BOOST_AUTO_TEST_SUITE_END()
