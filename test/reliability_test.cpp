// SPDX-License-Identifier: BSL-1.0
// Reliability: every way a child can fail gives a typed error and leaves nothing behind;
// a parent that dies takes its children with it; calls mpdecor did not make are refused.
#include "functions.hpp"
#include "helpers.hpp"
#include "sanitized.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <sys/types.h>
#include <unistd.h>
#if !defined(_WIN32)
#include <sys/wait.h>
#endif

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using mpdecor_test::sanitized;

#if !defined(_WIN32) // POSIX only; the Windows counterparts are in windows_test.cpp.
// Starts the parent program, reads the pids it prints, sends it `signal`, and checks that
// each child it started has ended (within 30 s: a hang detector; they end at once).
void kill_parent_and_check_children(int signal, const std::string& start_method = "spawn") {
  auto program = helpers::start_parent_program("MPDECOR_START_METHOD=" + start_method + " exec " +
                                                   helpers::program("parent") + " 3",
                                               "child");
  BOOST_REQUIRE(program.output != nullptr);
  BOOST_REQUIRE(program.parent > 0);
  BOOST_REQUIRE_EQUAL(program.children.size(), 3u);
  for (long child : program.children)
    BOOST_REQUIRE(!helpers::has_ended(child));
  const auto killed = std::chrono::steady_clock::now();
  const auto ended = helpers::kill_parent(program, signal, 30s);
  BOOST_TEST_MESSAGE("the children ended " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - killed)
                                                  .count()
                                           << " ms after their parent got signal " << signal);
  BOOST_REQUIRE_EQUAL(ended.size(), 3u);
  for (const auto& [child, gone] : ended)
    BOOST_TEST(gone, "child " << child << " still runs 30 s after its parent died");
}

std::string launch_key_frame(const std::string& key) {
  std::string frame(mpdecor::detail::frame_header_size, '\0');
  mpdecor::detail::output_archive archive(frame);
  archive(key);
  mpdecor::detail::write_frame_header(frame.data(), mpdecor::detail::frame_kind::hello,
                                      frame.size() - mpdecor::detail::frame_header_size);
  return frame;
}
#endif

// Wine (8.0) accepts a job object's memory limit but does not enforce it.
boost::test_tools::assertion_result memory_limits_are_enforced(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(!helpers::under_wine());
  result.message() << "Wine does not enforce a job object's memory limit";
  return result;
}

} // namespace

BOOST_AUTO_TEST_SUITE(reliability)

#if !defined(_WIN32) // POSIX only; the Windows counterparts are in windows_test.cpp.
BOOST_AUTO_TEST_CASE(std_terminate_becomes_child_crashed) {
  BOOST_CHECK_EXCEPTION(
      mpdecor::proc_wait(call_terminate)(), mpdecor::child_crashed,
      [](const mpdecor::child_crashed& e) { return e.signal_name() == "SIGABRT"; });
}

BOOST_AUTO_TEST_CASE(stack_overflow_becomes_child_crashed) {
  try {
    mpdecor::proc_wait(overflow_stack)(0);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    // AddressSanitizer reports the overflow itself and exits with an error code.
    if (!sanitized)
      BOOST_TEST(e.signal_name() == "SIGSEGV");
    BOOST_TEST(contains(e.what(), "before it sent a result"));
  }
}
#endif

BOOST_AUTO_TEST_CASE(an_endless_loop_is_stopped_by_its_timeout) {
  BOOST_CHECK_THROW(mpdecor::proc_wait(endless_loop).timeout(200ms)(), mpdecor::timeout_error);
}

BOOST_AUTO_TEST_CASE(running_out_of_memory_under_a_limit_becomes_memory_limit_exceeded,
                     *boost::unit_test::precondition(memory_limits_are_enforced)) {
  if (sanitized)
    return; // sanitizers reserve more address space than any small limit allows
  constexpr std::size_t limit = std::size_t{512} << 20;
  try {
    mpdecor::proc_wait(allocate_megabytes).memory_limit(limit)(2048);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::memory_limit_exceeded& e) {
    BOOST_TEST(e.limit() == limit);
    BOOST_TEST(e.type() == "std::bad_alloc");
    BOOST_TEST(contains(e.what(), "out of memory under its limit of 536870912 bytes"));
  }
  // Within the limit the same call succeeds.
  BOOST_TEST(mpdecor::proc_wait(allocate_megabytes).memory_limit(limit)(64) == 64u);
}

#if !defined(_WIN32) // POSIX only; the Windows counterparts are in windows_test.cpp.
BOOST_AUTO_TEST_CASE(a_child_killed_from_outside_becomes_child_crashed) {
  auto handle = mpdecor::proc(sleep_ms)(60'000);
  BOOST_REQUIRE_EQUAL(::kill(static_cast<pid_t>(handle.pid()), SIGKILL), 0);
  try {
    handle.get();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.signal_name() == "SIGKILL");
    BOOST_TEST(!contains(e.what(), "through its handle"));
  }
}
#endif

// A result read in full is the call's outcome, even when the child then hangs on its way
// out (a static destructor) past the timeout: the timeout kills it, the result stands.
BOOST_AUTO_TEST_CASE(a_result_that_arrived_before_the_timeout_is_kept_when_the_exit_hangs) {
  auto handle = mpdecor::proc(hang_after_result).timeout(500ms)(42);
  const auto pid = handle.pid();
  BOOST_TEST(handle.get() == 42);
  BOOST_TEST(!helpers::process_exists(static_cast<long>(pid)), "the hung child was killed");
  mpdecor::pool_options settings;
  settings.workers = 1;
  settings.max_tasks_per_worker = 1; // the worker exits after its task, and hangs
  mpdecor::pool workers(settings);
  BOOST_TEST(workers.submit(hang_after_result).timeout(500ms)(7).get() == 7);
}

BOOST_AUTO_TEST_CASE(a_child_that_closes_the_channel_becomes_child_crashed) {
  try {
    mpdecor::proc_wait(close_channel)();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == mpdecor::exit_result_not_sent);
  }
}

BOOST_AUTO_TEST_CASE(a_child_that_scribbles_on_the_channel_becomes_protocol_error) {
  try {
    mpdecor::proc_wait(scribble_on_channel)();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::protocol_error& e) {
    BOOST_TEST(contains(e.what(), "sent a damaged result"));
    BOOST_TEST(contains(e.what(), "bad magic number"));
  }
}

BOOST_AUTO_TEST_CASE(a_child_that_dies_while_sending_its_result_becomes_child_crashed) {
  try {
    mpdecor::proc_wait(die_while_sending)();
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST(e.exit_code().value_or(-1) == 0);
    BOOST_TEST(contains(e.what(), "the result ended after 10 of 1048576 bytes"));
  }
}

BOOST_AUTO_TEST_CASE(after_every_failure_no_descriptor_and_no_zombie_is_left) {
  // The supervisor's own descriptors exist from here on, its timers' too (on Windows Asio
  // starts a timer thread on first use).
  mpdecor::proc_wait(add).timeout(std::chrono::minutes(1))(0, 0);
  const int before = helpers::open_descriptors();
  for (int round = 0; round < 3; ++round) {
    BOOST_CHECK_THROW(mpdecor::proc_wait(throw_int)(1), mpdecor::remote_error);
    BOOST_CHECK_THROW(mpdecor::proc_wait(raise_segfault)(), mpdecor::child_crashed);
    BOOST_CHECK_THROW(mpdecor::proc_wait(call_abort)(), mpdecor::child_crashed);
    BOOST_CHECK_THROW(mpdecor::proc_wait(exit_with)(3), mpdecor::child_crashed);
    BOOST_CHECK_THROW(mpdecor::proc_wait(sleep_ms).timeout(50ms)(10'000), mpdecor::timeout_error);
    BOOST_CHECK_THROW(mpdecor::proc_wait(close_channel)(), mpdecor::child_crashed);
    BOOST_CHECK_THROW(mpdecor::proc_wait(scribble_on_channel)(), mpdecor::protocol_error);
    BOOST_CHECK_THROW(mpdecor::proc_wait(die_while_sending)(), mpdecor::child_crashed);
    BOOST_CHECK_THROW(mpdecor::proc_wait(add).working_directory("/no/such/dir")(1, 2),
                      mpdecor::launch_error);
  }
  BOOST_TEST(helpers::open_descriptors() == before);
  BOOST_TEST(helpers::children().empty());
}

#if !defined(_WIN32) // POSIX only; the Windows counterparts are in windows_test.cpp.
BOOST_AUTO_TEST_CASE(children_end_when_the_parent_is_killed) {
  kill_parent_and_check_children(SIGKILL);
}

BOOST_AUTO_TEST_CASE(children_end_when_the_parent_gets_sigterm) {
  kill_parent_and_check_children(SIGTERM);
}

BOOST_AUTO_TEST_CASE(children_end_when_the_parent_gets_sigint) {
  kill_parent_and_check_children(SIGINT);
}

BOOST_AUTO_TEST_CASE(fork_server_children_end_when_the_parent_is_killed) {
  // They are the server's children, not the parent's: the server ends when its channel
  // closes, and its children die with it.
  kill_parent_and_check_children(SIGKILL, "fork-server");
}

// After fork() without exec, mpdecor's threads exist only in the original process: calls
// and pool tasks fail at once, and the fork's exit does not wait for the original's calls.
BOOST_AUTO_TEST_CASE(a_process_forked_without_exec_gets_usage_error_at_once) {
  BOOST_TEST(mpdecor::proc_wait(add)(1, 2) == 3);
  mpdecor::pool_options settings;
  settings.workers = 1;
  std::optional<mpdecor::pool> workers(std::in_place, settings);
  BOOST_TEST(workers->submit(square)(3).get() == 9);
  auto running = mpdecor::proc(sleep_ms)(2'000); // still running when the fork exits
  std::cout.flush();                             // nothing buffered is written twice
  std::fflush(stdout);
  const pid_t forked = ::fork();
  BOOST_REQUIRE(forked >= 0);
  if (forked == 0) {
    ::alarm(30); // a hang detector: SIGALRM ends the fork
    int code = 0;
    try {
      mpdecor::proc_wait(add).timeout(5s)(1, 2);
      code = 10;
    } catch (const mpdecor::usage_error& e) {
      if (std::string(e.what()).find("forked without exec") == std::string::npos)
        code = 11;
    } catch (...) {
      code = 12;
    }
    try {
      workers->submit(square)(3);
      code = code == 0 ? 13 : code;
    } catch (const mpdecor::usage_error&) {
    } catch (...) {
      code = code == 0 ? 14 : code;
    }
    workers.reset(); // returns at once
    // The at-exit wait leaves the original's running call alone. Under sanitizers the fork
    // ends with _exit: LeakSanitizer's exit check in a fork reports the memory of the
    // original's threads, which the fork did not copy, as leaked.
    if (sanitized)
      std::_Exit(code);
    std::exit(code);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(forked, &status, 0) == forked);
  BOOST_TEST(WIFEXITED(status), "the fork ended by signal " << WTERMSIG(status));
  if (WIFEXITED(status))
    BOOST_TEST(WEXITSTATUS(status) == 0);
  // The original process goes on as before.
  BOOST_TEST(running.get() == 2'000);
  BOOST_TEST(workers->submit(square)(4).get() == 16);
  BOOST_TEST(mpdecor::proc_wait(add)(2, 2) == 4);
}

// Once the child has exited, what it wrote is all in the channel: a grandchild that still
// holds the channel neither delays the outcome nor gets to write into it.
BOOST_AUTO_TEST_CASE(a_grandchild_holding_the_channel_does_not_change_the_outcome) {
  try {
    mpdecor::proc_wait(exit_leaving_a_scribbler)(1'000);
    BOOST_FAIL("no exception");
  } catch (const mpdecor::child_crashed& e) {
    BOOST_TEST((e.exit_code() == 7), e.what());
  } catch (const std::exception& e) {
    BOOST_FAIL("another error: " << e.what());
  }
}

// A result larger than the parent can hold fails that call alone, with the size; the
// event loop keeps running and later calls work (a separate program: it limits its own
// address space).
BOOST_AUTO_TEST_CASE(a_result_the_parent_cannot_hold_becomes_result_too_large) {
  if (sanitized)
    return; // sanitizers reserve terabytes of address space: an address-space limit fails
  const auto result = helpers::run(helpers::program("limits") + " memory");
  BOOST_TEST(result.exit_code == 0, result.output);
  BOOST_TEST(contains(result.output, "warm: 2 4"), result.output);
  // The size of the whole reply, its shared segment included (1 GiB and a few bytes).
  BOOST_TEST(contains(result.output, "pool: result_too_large 10737418"), result.output);
  BOOST_TEST(contains(result.output, "call: result_too_large 10737418"), result.output);
  BOOST_TEST(contains(result.output, "could not be received: this process ran out of memory"));
  BOOST_TEST(contains(result.output, "after: 42 42"), result.output);
}

// At the descriptor limit, the first call (which makes the event loop's own descriptors)
// and later calls (their channels) fail with launch_error naming EMFILE; once descriptors
// are free again, calls work.
BOOST_AUTO_TEST_CASE(calls_at_the_descriptor_limit_fail_with_launch_error_and_later_ones_work) {
  if (sanitized)
    return; // sanitizer runtimes need descriptors of their own (UBSan's memory checks)
  const auto result =
      helpers::run("ulimit -n 64; exec " + helpers::program("limits") + " descriptors");
  BOOST_TEST(result.exit_code == 0, result.output);
  BOOST_TEST(contains(result.output, "none free: launch_error: "), result.output);
  BOOST_TEST(contains(result.output, "three free: launch_error: "), result.output);
  BOOST_TEST(contains(result.output, "Too many open files"), result.output);
  BOOST_TEST(contains(result.output, "all free: 42"), result.output);
}

BOOST_AUTO_TEST_CASE(a_child_call_made_by_hand_is_refused) {
  const auto plain = helpers::run(helpers::self() + " --mp-child fixtures::add");
  BOOST_TEST(plain.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(contains(plain.output, "not by mpdecor"));
  BOOST_TEST(contains(plain.output, "refusing 'fixtures::add'"));
  const auto bad_channel =
      helpers::run(helpers::self() + " --mp-child fixtures::add --mp-channel 999,999");
  BOOST_TEST(bad_channel.exit_code == mpdecor::exit_not_started_by_mpdecor);
  // A channel of its own, but no launch key.
  const auto no_key = helpers::run("echo 'forged bytes' | " + helpers::self() +
                                   " --mp-child fixtures::add --mp-channel 0,1");
  BOOST_TEST(no_key.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(contains(no_key.output, "no launch key"));
}

BOOST_AUTO_TEST_CASE(a_child_offered_the_wrong_launch_key_runs_nothing) {
  const std::string key(64, 'a');
  const std::string forged(64, 'b');
  const auto input = std::filesystem::temp_directory_path() /
                     ("mpdecor-test-forged-" + std::to_string(::getpid()));
  std::ofstream(input, std::ios::binary) << launch_key_frame(forged);
  const auto result =
      helpers::run("MPDECOR_LAUNCH_KEY=" + key + " " + helpers::self() +
                   " --mp-child fixtures::add --mp-channel 0,1 < " + input.string());
  std::filesystem::remove(input);
  BOOST_TEST(result.exit_code == mpdecor::exit_not_started_by_mpdecor);
  BOOST_TEST(contains(result.output, "did not come from the process that started this child"));
}

// The value of `name` in an environment block as /proc shows it: what follows "NAME=" up to
// the next NUL; "<absent>" when the block has no such entry.
std::string value_in_block(const std::string& block, const std::string& name) {
  const std::string entry = name + "=";
  for (std::size_t at = 0; at < block.size();) {
    const std::size_t end = std::min(block.find('\0', at), block.size());
    if (block.compare(at, entry.size(), entry) == 0)
      return block.substr(at + entry.size(), end - at - entry.size());
    at = end + 1;
  }
  return "<absent>";
}

BOOST_AUTO_TEST_CASE(the_launch_key_leaves_no_trace_in_proc_environ) {
  const auto no_key = [](const std::string& block, const std::string& whose) {
    BOOST_TEST_CONTEXT(whose) {
      BOOST_TEST_REQUIRE(!block.empty());
      const std::string key = value_in_block(block, "MPDECOR_LAUNCH_KEY");
      BOOST_TEST((key == "<absent>" || key.empty()), "the key is still readable: " << key);
      const std::string parent = value_in_block(block, "MPDECOR_PARENT_PID");
      BOOST_TEST((parent == "<absent>" || parent.empty()));
    }
  };
  no_key(mpdecor::proc_wait(environment_block_of)(0), "a spawned child");
  no_key(
      mpdecor::proc_wait(environment_block_of).start_method(mpdecor::start_method::fork_server)(0),
      "a fork server's child");
  for (const long server : helpers::fork_servers())
    no_key(environment_block_of(server), "the fork server");
  mpdecor::pool_options settings;
  settings.workers = 1;
  mpdecor::pool workers(settings);
  no_key(workers.submit(environment_block_of)(0).get(), "a pool's worker");
}

// A program that ignores SIGCHLD, or reaps every child itself (in a handler or a thread),
// still gets each call's outcome, crash details included: fork-server children are reaped
// and reported by the server alone, and a spawned child or worker reports the crash signal
// that ends it, which stands in for the exit status the program took. (Before, an ignored SIGCHLD
// reached the server, the kernel reaped its children, and every fork-server call hung, timeout or
// not; and a spawned child's crash came back as "ended before it sent a result", with no signal.)
BOOST_AUTO_TEST_CASE(the_programs_sigchld_handling_changes_no_fork_server_outcome) {
  for (const std::string mode : {"ignore", "reap", "thread"}) {
    BOOST_TEST_CONTEXT("SIGCHLD: " << mode) {
      // A hang detector only: the calls take about a second.
      const auto result =
          helpers::run("timeout -s KILL 60 " + helpers::program("sigchld") + " " + mode);
      BOOST_TEST(result.exit_code == 0, result.output);
      BOOST_TEST(contains(result.output, "fork server value: 42"), result.output);
      BOOST_TEST(contains(result.output, "fork server crash: child_crashed signal=SIGABRT"),
                 result.output);
      BOOST_TEST(contains(result.output, "fork server timeout: timeout_error"), result.output);
      BOOST_TEST(contains(result.output, "fork server pool crash: child_crashed signal=SIGABRT"),
                 result.output);
      BOOST_TEST(contains(result.output, "spawn value: 42"), result.output);
      BOOST_TEST(contains(result.output, "spawn timeout: timeout_error"), result.output);
      BOOST_TEST(contains(result.output, "spawn crash: child_crashed signal=SIGABRT"),
                 result.output);
      BOOST_TEST(contains(result.output, "spawn pool crash: child_crashed signal=SIGABRT"),
                 result.output);
    }
  }
}

#if defined(__linux__)
// A program whose file is replaced on disk while it runs (a rebuild, an upgrade that
// renames over it) still starts its children from its own code: a fresh spawn, a fork
// server started after the replacement and a pool's worker alike. (Before, they ran the new
// file: here a program without the function, so every call failed.)
BOOST_AUTO_TEST_CASE(children_run_the_parents_own_binary_after_its_file_is_replaced) {
  const auto directory = std::filesystem::temp_directory_path() /
                         ("mpdecor-test-replaced-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  const auto copy = directory / "program";
  std::filesystem::copy_file(helpers::program("replaced"), copy);
  const auto result =
      helpers::run("timeout -s KILL 60 " + copy.string() + " " + helpers::program("print"));
  std::filesystem::remove_all(directory);
  BOOST_TEST(result.exit_code == 0, result.output);
  for (const std::string label : {"before", "spawn", "fork server", "pool"})
    BOOST_TEST(contains(result.output, label + ": the original program"), result.output);
}
#endif

#if !defined(_WIN32)
// The end of a call ends its whole process tree: a grandchild that the function started
// (here `sleep 60`) ends with the call, whatever the outcome and the start method. The
// timeouts leave a slow child (a sanitizer build, a busy machine) time to start its
// grandchild first.
// (Before, the grandchild ran on, reparented to init, after every outcome.)
BOOST_AUTO_TEST_CASE(a_calls_whole_process_tree_ends_with_it) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("mpdecor-test-grandchild-" + std::to_string(::getpid()));
  const auto grandchild = [&file] {
    long pid = 0;
    for (int i = 0; i < 2000 && !(std::ifstream(file) >> pid); ++i)
      std::this_thread::sleep_for(5ms);
    std::filesystem::remove(file);
    return pid;
  };
  const auto ends_soon = [](long pid) {
    for (int i = 0; i < 1000 && !helpers::has_ended(pid); ++i)
      std::this_thread::sleep_for(10ms);
    return helpers::has_ended(pid);
  };
  using method = mpdecor::start_method;
  for (const auto start : {method::spawn, method::fork_server}) {
    BOOST_TEST_CONTEXT("start method " << (start == method::spawn ? "spawn" : "fork server")) {
      auto call = mpdecor::proc_wait(leave_grandchild).start_method(start);
      BOOST_TEST_CONTEXT("a result") {
        std::filesystem::remove(file);
        const long returned = call(file.string(), 0);
        BOOST_TEST(grandchild() == returned);
        BOOST_TEST(ends_soon(returned));
      }
      BOOST_TEST_CONTEXT("a crash") {
        BOOST_CHECK_THROW(call(file.string(), 1), mpdecor::child_crashed);
        const long pid = grandchild();
        BOOST_TEST_REQUIRE(pid > 0);
        BOOST_TEST(ends_soon(pid));
      }
      BOOST_TEST_CONTEXT("a timeout") {
        BOOST_CHECK_THROW(
            mpdecor::proc_wait(leave_grandchild).start_method(start).timeout(3s)(file.string(), 2),
            mpdecor::timeout_error);
        const long pid = grandchild();
        BOOST_TEST_REQUIRE(pid > 0);
        BOOST_TEST(ends_soon(pid));
      }
      BOOST_TEST_CONTEXT("kill()") {
        auto running = mpdecor::proc(leave_grandchild).start_method(start)(file.string(), 2);
        const long pid = grandchild();
        BOOST_TEST_REQUIRE(pid > 0);
        running.kill();
        BOOST_CHECK_THROW(running.get(), mpdecor::child_crashed);
        BOOST_TEST(ends_soon(pid));
      }
      BOOST_TEST_CONTEXT("std::system under a timeout") {
        const std::string part = file.string() + ".part";
        BOOST_CHECK_THROW(
            mpdecor::proc_wait(run_shell).start_method(start).timeout(3s)(
                "echo $$ > " + part + " && mv " + part + " " + file.string() + " && exec sleep 30"),
            mpdecor::timeout_error);
        const long pid = grandchild();
        BOOST_TEST_REQUIRE(pid > 0);
        BOOST_TEST(ends_soon(pid));
      }
      BOOST_TEST_CONTEXT("a pool task past its timeout") {
        mpdecor::pool_options settings;
        settings.workers = 1;
        settings.worker_options.start = start;
        mpdecor::pool workers(settings);
        auto task = workers.submit(leave_grandchild).timeout(3s)(file.string(), 2);
        BOOST_CHECK_THROW(task.get(), mpdecor::timeout_error);
        const long pid = grandchild();
        BOOST_TEST_REQUIRE(pid > 0);
        BOOST_TEST(ends_soon(pid));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_calls_whole_process_tree_ends_when_the_parent_is_killed) {
  for (const std::string start : {"spawn", "fork-server"}) {
    BOOST_TEST_CONTEXT("start method " << start) {
      auto program =
          helpers::start_parent_program("MPDECOR_START_METHOD=" + start + " exec " +
                                            helpers::program("parent") + " 2 grandchildren",
                                        "grandchild");
      BOOST_REQUIRE(program.output != nullptr);
      BOOST_REQUIRE_EQUAL(program.children.size(), 2u);
      const auto ended = helpers::kill_parent(program, SIGKILL, 30s);
      BOOST_REQUIRE_EQUAL(ended.size(), 2u);
      for (const auto& [pid, gone] : ended)
        BOOST_TEST(gone, "grandchild " << pid << " still runs 30 s after the parent died");
    }
  }
}
#endif

BOOST_AUTO_TEST_CASE(a_child_given_garbage_or_nothing_runs_nothing) {
  const std::string key(64, 'a');
  const auto empty = helpers::run("MPDECOR_LAUNCH_KEY=" + key + " " + helpers::self() +
                                  " --mp-child fixtures::add --mp-channel 0,1 < /dev/null");
  BOOST_TEST(empty.exit_code == mpdecor::exit_bad_call_message);
  BOOST_TEST(contains(empty.output, "closed the channel before sending the call"));
  const auto garbage =
      helpers::run("echo 'some forged bytes here' | MPDECOR_LAUNCH_KEY=" + key + " " +
                   helpers::self() + " --mp-child fixtures::add --mp-channel 0,1");
  BOOST_TEST(garbage.exit_code == mpdecor::exit_bad_call_message);
  BOOST_TEST(contains(garbage.output, "not an mpdecor message"));
}
#endif

BOOST_AUTO_TEST_CASE(values_nested_deeper_than_the_limit_are_refused_in_both_directions) {
  const auto names_the_limit = [](const mpdecor::protocol_error& e) {
    return contains(e.what(), std::to_string(mpdecor::detail::max_nesting_depth) + " levels");
  };
  // Two levels a node: a tree of half the limit arrives, one deeper does not.
  const int fits = static_cast<int>(mpdecor::detail::max_nesting_depth / 2) - 1;
  BOOST_TEST(tree_depth(mpdecor::proc_wait(deep_tree)(fits)) == fits);
  BOOST_TEST(mpdecor::proc_wait(tree_depth)(deep_tree(fits)) == fits);
  const int too_deep = static_cast<int>(mpdecor::detail::max_nesting_depth);
  // A result: the parent refuses it.
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(deep_tree)(too_deep), mpdecor::protocol_error,
                        names_the_limit);
  // Arguments: the child refuses them.
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(tree_depth)(deep_tree(too_deep)),
                        mpdecor::protocol_error, names_the_limit);
  mpdecor::pool workers;
  BOOST_CHECK_EXCEPTION(workers.submit(deep_tree)(too_deep).get(), mpdecor::protocol_error,
                        names_the_limit);
  BOOST_TEST(workers.submit(tree_depth)(deep_tree(fits)).get() == fits);
  // A child that sends a result far deeper, which would overflow an unbounded decoder's
  // stack: hostile_child/deep_nesting_is_protocol_error_naming_the_limit (written raw, since
  // encoding it takes a stack of its own that a debug build's child does not have).
}

BOOST_AUTO_TEST_CASE(the_launch_key_is_not_passed_on_to_the_function) {
  BOOST_TEST(mpdecor::proc_wait(environment_variable)("MPDECOR_LAUNCH_KEY") == "<unset>");
}

BOOST_AUTO_TEST_SUITE_END()
