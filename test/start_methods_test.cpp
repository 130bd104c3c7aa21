// SPDX-License-Identifier: BSL-1.0
// The start methods: the default spawn and the fork server give the same results, errors
// and isolation; the fork server's children are fresh processes, forked from a server
// that ran nothing of the program; a dead server is replaced; settings come from the
// environment.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

// Restores the program-wide start method when a test ends.
struct restore_start_method {
  mpdecor::start_method saved = mpdecor::default_start_method();
  ~restore_start_method() { mpdecor::set_start_method(saved); }
};

#if defined(__linux__)
constexpr auto fork_server = mpdecor::start_method::fork_server;

long fork_server_pid() {
  const auto servers = helpers::fork_servers();
  return servers.size() == 1 ? servers.front() : 0;
}

// Set in the test program before its first case, so before any fork server starts: every
// server has it in its environment (children, which run no case, do not set it).
struct variable_set_at_start {
  variable_set_at_start() {
    ::setenv("MPDECOR_TEST_FROM_THE_START", "set when the test program started", 1);
  }
};
#endif

} // namespace

#if defined(__linux__)
BOOST_TEST_GLOBAL_FIXTURE(variable_set_at_start);
#endif

BOOST_AUTO_TEST_SUITE(start_methods)

BOOST_AUTO_TEST_CASE(spawn_is_the_default) {
  BOOST_TEST((mpdecor::default_start_method() == mpdecor::start_method::spawn));
  BOOST_TEST(!mpdecor::options{}.start.has_value());
}

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(a_fork_server_call_returns_its_result) {
  BOOST_TEST(mpdecor::proc_wait(add).start_method(fork_server)(2, 3) == 5);
  auto handle = mpdecor::proc(move_point).start_method(fork_server)(point{1, 2, "p"}, 10);
  BOOST_TEST(handle.get().x == 11);
  BOOST_TEST(handle.get().label == "p moved");
}

BOOST_AUTO_TEST_CASE(each_fork_server_call_is_a_fresh_process_that_shares_no_state) {
  // This process has served tasks of its own: a fork of this process would count on from
  // here; a fork of the clean server starts from nothing.
  tasks_served_here();
  tasks_served_here();
  std::set<std::int64_t> pids;
  for (int i = 0; i < 5; ++i) {
    const auto [pid, served] = mpdecor::proc_wait(tasks_served_here).start_method(fork_server)();
    BOOST_TEST(served == 1);
    BOOST_TEST(pid != static_cast<std::int64_t>(::getpid()));
    pids.insert(pid);
  }
  BOOST_TEST(pids.size() == 5u);
}

BOOST_AUTO_TEST_CASE(fork_server_children_are_not_children_of_the_caller) {
  mpdecor::wait_all();
  auto handle = mpdecor::proc(sleep_ms).start_method(fork_server)(300);
  const auto pid = handle.pid();
  const auto server = fork_server_pid();
  BOOST_TEST(server != 0);
  BOOST_TEST(server != pid);
  BOOST_TEST(helpers::process_exists(pid));
  BOOST_TEST(handle.get() == 300);
  // The server reaped it: no zombie anywhere.
  BOOST_TEST(!helpers::process_exists(pid));
}

BOOST_AUTO_TEST_CASE(fork_server_errors_are_typed_as_with_spawn) {
  mpdecor::options on_fork_server;
  on_fork_server.start = fork_server;
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(throw_runtime_error, on_fork_server)("bad input"),
                        mpdecor::remote_error, [](const mpdecor::remote_error& e) {
                          return e.type() == "std::runtime_error" && e.message() == "bad input";
                        });
  BOOST_CHECK_EXCEPTION(
      mpdecor::proc_wait(raise_segfault, on_fork_server)(), mpdecor::child_crashed,
      [](const mpdecor::child_crashed& e) { return e.signal_name() == "SIGSEGV"; });
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(exit_with, on_fork_server)(3), mpdecor::child_crashed,
                        [](const mpdecor::child_crashed& e) { return e.exit_code() == 3; });
  const auto started = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(mpdecor::proc_wait(endless_loop, on_fork_server).timeout(200ms)(),
                    mpdecor::timeout_error);
  // A hang detector only: the timeout fires after 200 ms.
  BOOST_TEST((std::chrono::steady_clock::now() - started < 30s));
  BOOST_CHECK_THROW(mpdecor::proc_wait(add, on_fork_server).working_directory("/no/such/dir")(1, 2),
                    mpdecor::launch_error);
}

BOOST_AUTO_TEST_CASE(a_relative_working_directory_is_the_callers_for_every_start_method) {
  // The fork server starts in the test's directory; the caller then moves elsewhere.
  BOOST_TEST(mpdecor::proc_wait(add).start_method(fork_server)(1, 2) == 3);
  const auto original = std::filesystem::current_path();
  const auto base = std::filesystem::canonical(std::filesystem::temp_directory_path()) /
                    ("mpdecor-test-relative-" + std::to_string(::getpid()));
  std::filesystem::create_directories(base / "sub");
  std::filesystem::current_path(base);
  std::string spawned;
  std::string forked;
  try {
    spawned = mpdecor::proc_wait(working_directory).working_directory("sub")();
    forked =
        mpdecor::proc_wait(working_directory).start_method(fork_server).working_directory("sub")();
  } catch (const std::exception& e) {
    BOOST_ERROR(e.what());
  }
  std::filesystem::current_path(original);
  std::filesystem::remove_all(base);
  BOOST_TEST(spawned == (base / "sub").string());
  BOOST_TEST(forked == (base / "sub").string());
}

BOOST_AUTO_TEST_CASE(fork_server_calls_take_environment_directory_and_kill) {
  const auto temporary = std::filesystem::temp_directory_path();
  BOOST_TEST(mpdecor::proc_wait(environment_variable)
                 .start_method(fork_server)
                 .env("MPDECOR_TEST_VALUE", "forked")("MPDECOR_TEST_VALUE") == "forked");
  BOOST_TEST(std::filesystem::equivalent(mpdecor::proc_wait(working_directory)
                                             .start_method(fork_server)
                                             .working_directory(temporary)(),
                                         temporary));
  auto handle = mpdecor::proc(sleep_ms).start_method(fork_server)(60'000);
  const auto pid = handle.pid();
  handle.kill();
  BOOST_CHECK_EXCEPTION(handle.get(), mpdecor::child_crashed, [](const mpdecor::child_crashed& e) {
    return e.signal_name() == "SIGKILL";
  });
  BOOST_TEST(!helpers::process_exists(pid));
}

BOOST_AUTO_TEST_CASE(a_fork_server_child_takes_the_callers_environment_umask_and_limits_now) {
  // The server exists (started here or by an earlier case) with this process's state of
  // then; the state changes afterwards, as a program's does. A spawned child sees the
  // changes, and a fork-server child must see the same.
  BOOST_TEST(mpdecor::proc_wait(add).start_method(fork_server)(1, 2) == 3);
  const std::string had = environment_variable("MPDECOR_TEST_FROM_THE_START");
  BOOST_REQUIRE(had == "set when the test program started");
  ::unsetenv("MPDECOR_TEST_FROM_THE_START");
  ::setenv("MPDECOR_TEST_SET_LATER", "set after the server started", 1);
  const mode_t mask = ::umask(027);
  rlimit files{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  const rlimit saved_files = files;
  files.rlim_cur -= 7;
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &files) == 0);
  for (const auto method : {mpdecor::start_method::spawn, fork_server}) {
    BOOST_TEST_CONTEXT("start method " << static_cast<int>(method)) {
      BOOST_TEST(mpdecor::proc_wait(environment_variable)
                     .start_method(method)("MPDECOR_TEST_FROM_THE_START") == "<unset>");
      BOOST_TEST(
          mpdecor::proc_wait(environment_variable).start_method(method)("MPDECOR_TEST_SET_LATER") ==
          "set after the server started");
      BOOST_TEST(mpdecor::proc_wait(environment_variable)
                     .start_method(method)
                     .env("MPDECOR_TEST_SET_LATER", "the call's")("MPDECOR_TEST_SET_LATER") ==
                 "the call's");
      const auto [child_mask, child_files] =
          mpdecor::proc_wait(file_mask_and_open_file_limit).start_method(method)();
      BOOST_TEST(child_mask == 027);
      BOOST_TEST(child_files == static_cast<std::uint64_t>(files.rlim_cur));
    }
  }
  ::setrlimit(RLIMIT_NOFILE, &saved_files);
  ::umask(mask);
  ::unsetenv("MPDECOR_TEST_SET_LATER");
  ::setenv("MPDECOR_TEST_FROM_THE_START", had.c_str(), 1);
}

BOOST_AUTO_TEST_CASE(a_fork_server_pool_serves_tasks) {
  mpdecor::pool_options settings;
  settings.workers = 2;
  settings.worker_options.start = fork_server;
  mpdecor::pool workers(settings);
  const auto squares = workers.map(square, std::vector<int>{1, 2, 3, 4, 5});
  BOOST_TEST(squares == (std::vector<int>{1, 4, 9, 16, 25}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(workers.submit(square_unless_thirteen)(13).get(), mpdecor::child_crashed);
  BOOST_TEST(workers.submit(square)(6).get() == 36);
}

BOOST_AUTO_TEST_CASE(a_dead_fork_server_fails_its_calls_and_is_replaced) {
  restore_start_method restore;
  mpdecor::set_start_method(fork_server);
  mpdecor::wait_all();
  BOOST_TEST(mpdecor::proc_wait(add)(1, 1) == 2); // the server runs
  auto handle = mpdecor::proc(sleep_ms)(60'000);
  const auto child = handle.pid();
  const auto server = fork_server_pid();
  BOOST_REQUIRE(server != 0);
  BOOST_REQUIRE_EQUAL(::kill(static_cast<pid_t>(server), SIGKILL), 0);
  BOOST_CHECK_EXCEPTION(handle.get(), mpdecor::child_crashed, [](const mpdecor::child_crashed& e) {
    return std::string(e.what()).find("fork server") != std::string::npos;
  });
  // Its child died with it (it was told to, before it ran anything).
  const auto deadline = std::chrono::steady_clock::now() + 30s; // a hang detector only
  while (helpers::process_exists(child) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(!helpers::process_exists(child));
  // The next call starts a new server.
  BOOST_TEST(mpdecor::proc_wait(add)(2, 2) == 4);
  BOOST_TEST(fork_server_pid() != server);
}

// A fork server that does not answer (stopped by SIGSTOP or a debugger) holds up only the
// calls that wait for it: other calls run, its calls' timeouts fire and kill() cancels
// them; once it runs again, it serves as before.
BOOST_AUTO_TEST_CASE(a_stopped_fork_server_holds_up_only_its_own_calls) {
  BOOST_TEST(mpdecor::proc_wait(add).start_method(fork_server)(1, 2) == 3);
  const long server = fork_server_pid();
  BOOST_REQUIRE(server > 0);
  BOOST_REQUIRE(::kill(static_cast<pid_t>(server), SIGSTOP) == 0);
  auto timed = mpdecor::proc(add).start_method(fork_server).timeout(300ms)(1, 2);
  auto killed = mpdecor::proc(add).start_method(fork_server)(3, 4);
  mpdecor::pool_options settings;
  settings.workers = 1;
  settings.worker_options.start = fork_server;
  std::optional<mpdecor::pool> stuck_pool(std::in_place, settings);
  // Hang detectors: each of these ends at once when nothing blocks it.
  auto spawned = mpdecor::proc(add)(2, 3);
  const bool spawned_ran = spawned.wait_for(30s);
  const bool timed_ended = timed.wait_for(30s);
  killed.kill();
  const bool killed_ended = killed.wait_for(30s);
  ::kill(static_cast<pid_t>(server), SIGCONT);
  BOOST_REQUIRE(spawned_ran);
  BOOST_TEST(spawned.get() == 5);
  BOOST_REQUIRE(timed_ended);
  BOOST_CHECK_THROW(timed.get(), mpdecor::timeout_error);
  BOOST_REQUIRE(killed_ended);
  BOOST_CHECK_THROW(killed.get(), mpdecor::cancelled);
  BOOST_TEST(stuck_pool->submit(add)(5, 6).get() == 11);
  stuck_pool.reset();
  BOOST_TEST(mpdecor::proc_wait(add).start_method(fork_server)(4, 4) == 8);
  BOOST_TEST(fork_server_pid() == server, "the same server serves again");
}

BOOST_AUTO_TEST_CASE(the_start_method_comes_from_the_environment) {
  // A program moves to another start method without being rebuilt.
  const auto result =
      helpers::run("MPDECOR_START_METHOD=fork-server " + helpers::program("print") + " 2>&1");
  BOOST_TEST(result.exit_code == 0, result.output);
  const auto wrong =
      helpers::run("MPDECOR_START_METHOD=telepathy " + helpers::program("print") + " 2>&1");
  BOOST_TEST(wrong.exit_code != 0);
  BOOST_TEST(wrong.output.find("MPDECOR_START_METHOD is 'telepathy'") != std::string::npos,
             wrong.output);
  const auto steps =
      helpers::run("MPDECOR_SLURM_STEPS=sometimes " + helpers::program("print") + " 2>&1");
  BOOST_TEST(steps.exit_code != 0);
  BOOST_TEST(steps.output.find("MPDECOR_SLURM_STEPS") != std::string::npos, steps.output);
}
#endif

#if defined(__linux__)
namespace {

// A stand-in for srun on this machine: it drops srun's options and runs the step's command
// itself (exec, so that srun's signals reach the step), with the environment srun would
// export, so the Slurm start method's channels run without a cluster. `before` is shell
// code run first, with $host and $port the address the step is to connect back to.
struct fake_srun {
  explicit fake_srun(const std::string& before = "") {
    static int made = 0;
    path = std::filesystem::temp_directory_path() /
           ("mpdecor-fake-srun-" + std::to_string(::getpid()) + "-" + std::to_string(++made));
    std::ofstream(path) << "#!/bin/bash\n"
                        << "address=\"${MPDECOR_CONNECT:-}\"; host=\"${address%:*}\"; "
                        << "host=\"${host#[}\"; host=\"${host%]}\"; port=\"${address##*:}\"\n"
                        << before << "\n"
                        << "while [[ $1 == -* ]]; do shift; done\n"
                        << "exec \"$@\"\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    settings.srun_program = path.string();
    settings.listen_address = "127.0.0.1";
  }
  ~fake_srun() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  std::filesystem::path path;
  mpdecor::slurm_options settings;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_slurm_step_connects_back_over_tcp_and_carries_results_and_errors) {
  const fake_srun srun;
  BOOST_TEST(mpdecor::proc_wait(add).slurm(srun.settings)(2, 3) == 5);
  // The step's channel is a TCP connection, not srun's standard streams.
  BOOST_TEST(mpdecor::proc_wait(connected_tcp_sockets).slurm(srun.settings)() == 1);
  const auto bytes = mpdecor::proc_wait(make_bytes).slurm(srun.settings)(3u << 20);
  BOOST_TEST(bytes.size() == 3u << 20);
  BOOST_TEST(bytes[12345] == pattern_at(12345));
  BOOST_CHECK_THROW(mpdecor::proc_wait(throw_runtime_error).slurm(srun.settings)("over tcp"),
                    mpdecor::remote_error);
  BOOST_CHECK_EXCEPTION(
      mpdecor::proc_wait(raise_segfault).slurm(srun.settings)(), mpdecor::child_crashed,
      [](const mpdecor::child_crashed& e) { return e.signal() && *e.signal() == SIGSEGV; });
  BOOST_CHECK_THROW(mpdecor::proc_wait(sleep_ms).slurm(srun.settings).timeout(200ms)(20000),
                    mpdecor::timeout_error);
  auto running = mpdecor::proc(sleep_ms).slurm(srun.settings)(20000);
  std::this_thread::sleep_for(100ms);
  running.kill();
  BOOST_CHECK_THROW(running.get(), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_CASE(a_pool_of_slurm_workers_uses_direct_channels) {
  const fake_srun srun;
  mpdecor::pool_options settings;
  settings.workers = 2;
  settings.worker_options.start = mpdecor::start_method::slurm;
  settings.worker_options.slurm = srun.settings;
  mpdecor::pool workers(settings);
  const std::vector<int> items{1, 2, 3, 4, 5, 6, 7, 8};
  BOOST_TEST(workers.map(square, items) == (std::vector<int>{1, 4, 9, 16, 25, 36, 49, 64}));
  BOOST_TEST(workers.submit(connected_tcp_sockets)().get() == 1);
}

BOOST_AUTO_TEST_CASE(
    srun_standard_streams_carry_the_call_when_asked_or_when_no_connection_can_be_made) {
  fake_srun srun;
  srun.settings.channel = mpdecor::slurm_channel::standard_streams;
  BOOST_TEST(mpdecor::proc_wait(add).slurm(srun.settings)(4, 5) == 9);
  BOOST_TEST(mpdecor::proc_wait(connected_tcp_sockets).slurm(srun.settings)() == 0);
  // A step that cannot reach the program (here: sent to a port nothing listens on) says
  // so and falls back to srun's streams.
  fake_srun unreachable("export MPDECOR_CONNECT=127.0.0.1:1");
  BOOST_TEST(mpdecor::proc_wait(add).slurm(unreachable.settings)(6, 7) == 13);
  BOOST_TEST(mpdecor::proc_wait(connected_tcp_sockets).slurm(unreachable.settings)() == 0);
  // The step's message, and its prints, reach the call's standard error, as srun passes
  // them on.
  const auto call = mpdecor::proc(print_lines)
                        .slurm(unreachable.settings)
                        .output(mpdecor::output_target::capture())("line", 2);
  BOOST_TEST(call.get() == 2);
  const auto output = call.output();
  BOOST_TEST(output.err.find("could not connect back to 127.0.0.1:1") != std::string::npos,
             output.err);
  BOOST_TEST(output.err.find("line out 1") != std::string::npos, output.err);
}

BOOST_AUTO_TEST_CASE(connections_without_the_key_are_refused_and_delay_no_call) {
  // Before the step connects: one connection that sends nothing and stays open, one that
  // sends a wrong key, one that sends garbage. The call must come back well before the
  // handshake's time limit (5 s) for the silent one.
  const fake_srun srun("exec 3<>/dev/tcp/$host/$port\n"
                       "exec 4<>/dev/tcp/$host/$port; printf '%064d' 0 >&4\n"
                       "exec 5<>/dev/tcp/$host/$port; head -c 100000 /dev/urandom >&5 2>/dev/null\n"
                       "exec 4>&- 5>&-");
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(mpdecor::proc_wait(add).slurm(srun.settings)(20, 22) == 42);
  BOOST_TEST((std::chrono::steady_clock::now() - started < 4s));
  // A connection made with the key of a call that has finished runs nothing either: each
  // step's listener is gone with its step.
  BOOST_TEST(mpdecor::proc_wait(connected_tcp_sockets).slurm(srun.settings)() == 1);
}

BOOST_AUTO_TEST_CASE(a_listen_address_that_is_no_ip_address_is_a_launch_error) {
  fake_srun srun;
  srun.settings.listen_address = "not-an-address";
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(add).slurm(srun.settings)(1, 2), mpdecor::launch_error,
                        [](const mpdecor::launch_error& e) {
                          return std::string(e.what()).find("'not-an-address'") !=
                                 std::string::npos;
                        });
}
#endif

BOOST_AUTO_TEST_CASE(a_slurm_call_without_srun_is_a_launch_error) {
  mpdecor::slurm_options nowhere;
  nowhere.srun_program = "/no/such/srun";
  BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(add).slurm(nowhere)(1, 2), mpdecor::launch_error,
                        [](const mpdecor::launch_error& e) {
                          return std::string(e.what()).find("srun") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_SUITE_END()
