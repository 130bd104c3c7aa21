// SPDX-License-Identifier: BSL-1.0
// Calls as Slurm job steps, against a real cluster: scripts/slurm-cluster.sh starts one on
// this machine (nodes n1 and n2, 2 CPUs each) and scripts/slurm-test.sh runs this suite
// twice, inside an allocation (`salloc -N2`: each call is a step of it) and outside one
// (each call is a job of its own). The cases that only make sense in one of the two skip
// themselves in the other.
#include <boost/test/unit_test.hpp>

#include <mpdecor/mpdecor.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace slurm_fixtures {

int add(int a, int b) { return a + b; }
std::string greet(std::string name) { return "hello, " + name; }
void throw_invalid_argument(std::string message) { throw std::invalid_argument(message); }
void raise_segfault() { std::raise(SIGSEGV); }
void call_abort() { std::abort(); }
int exit_with(int code) { std::exit(code); }

std::string environment_variable(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "<unset>" : value;
}
std::string working_directory() { return std::filesystem::current_path().string(); }
std::string node_name() { return environment_variable("SLURMD_NODENAME"); }
// Holds its CPU for a while, so that calls started together overlap.
std::string node_name_after(int milliseconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
  return node_name();
}

// Writes its pid where the test can find it, then sleeps: the test checks that the
// process is gone after a timeout or a kill.
int sleep_and_report(std::string pid_file, int milliseconds) {
  std::ofstream(pid_file) << ::getpid() << "\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
  return milliseconds;
}

std::vector<std::uint8_t> reverse_and_flip(std::vector<std::uint8_t> bytes) {
  std::reverse(bytes.begin(), bytes.end());
  for (auto& byte : bytes)
    byte = static_cast<std::uint8_t>(byte ^ 0x5a);
  return bytes;
}

// Prints to its standard output in three ways (iostreams, stdio, the descriptor itself);
// the step's standard output is the call's channel, so each must go elsewhere.
int print_and_add(std::string marker, int a, int b) {
  std::cout << marker << " via std::cout" << std::endl;
  std::printf("%s via printf\n", marker.c_str());
  std::fflush(stdout);
  const std::string raw = marker + " via write(1)\n";
  if (::write(STDOUT_FILENO, raw.data(), raw.size()) < 0)
    throw std::runtime_error("write to standard output failed");
  return a + b;
}

int square(int x) { return x * x; }
std::string node_of_item(int) { return node_name(); }

} // namespace slurm_fixtures

MPDECOR_REGISTER(slurm_fixtures::add);
MPDECOR_REGISTER(slurm_fixtures::greet);
MPDECOR_REGISTER(slurm_fixtures::throw_invalid_argument);
MPDECOR_REGISTER(slurm_fixtures::raise_segfault);
MPDECOR_REGISTER(slurm_fixtures::call_abort);
MPDECOR_REGISTER(slurm_fixtures::exit_with);
MPDECOR_REGISTER(slurm_fixtures::environment_variable);
MPDECOR_REGISTER(slurm_fixtures::working_directory);
MPDECOR_REGISTER(slurm_fixtures::node_name);
MPDECOR_REGISTER(slurm_fixtures::node_name_after);
MPDECOR_REGISTER(slurm_fixtures::sleep_and_report);
MPDECOR_REGISTER(slurm_fixtures::reverse_and_flip);
MPDECOR_REGISTER(slurm_fixtures::print_and_add);
MPDECOR_REGISTER(slurm_fixtures::square);
MPDECOR_REGISTER(slurm_fixtures::node_of_item);

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

bool in_allocation() { return std::getenv("SLURM_JOB_ID") != nullptr; }

boost::test_tools::assertion_result inside_an_allocation(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(in_allocation());
  result.message() << "runs only inside an allocation (SLURM_JOB_ID set)";
  return result;
}
boost::test_tools::assertion_result outside_an_allocation(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(!in_allocation());
  result.message() << "runs only outside an allocation (SLURM_JOB_ID unset)";
  return result;
}
boost::test_tools::assertion_result slurm_by_environment(boost::unit_test::test_unit_id) {
  const char* method = std::getenv("MPDECOR_START_METHOD");
  boost::test_tools::assertion_result result(method != nullptr && std::string(method) == "slurm");
  result.message() << "runs only with MPDECOR_START_METHOD=slurm";
  return result;
}

// The Slurm start method with default settings: srun from PATH, SLURM_CONF from the
// environment.
mpdecor::slurm_options on_slurm() { return mpdecor::slurm_options{}; }

template <class Function>
auto step_wait(Function* function) {
  return mpdecor::proc_wait(function).slurm(on_slurm());
}
template <class Function>
auto step(Function* function) {
  return mpdecor::proc(function).slurm(on_slurm());
}

// Output of a shell command, or "<failed>" if it could not run.
std::string command_output(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return "<failed>";
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr)
    output += buffer.data();
  if (::pclose(pipe) != 0)
    return "<failed>";
  return output;
}

// Steps and live (pending or running) jobs whose name mentions `function`: mpdecor names
// each step (and each job it creates) "mpdecor:<function>".
std::string slurm_work_named(const std::string& function) {
  std::string found;
  for (const char* command : {"squeue -h -s -o '%i %j'", "squeue -h -t PD,R,CF -o '%i %j'"}) {
    const std::string output = command_output(command);
    if (output == "<failed>")
      return "<squeue failed>";
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);)
      if (line.find(function) != std::string::npos)
        found += line + "; ";
  }
  return found;
}

// Waits until no step or job of `function` is left; returns what is left after `limit`.
std::string wait_until_no_slurm_work(const std::string& function, std::chrono::seconds limit) {
  const auto deadline = clock_type::now() + limit;
  std::string left = slurm_work_named(function);
  while (!left.empty() && clock_type::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    left = slurm_work_named(function);
  }
  return left;
}

bool process_alive(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("State:", 0) == 0)
      return line.find('Z') == std::string::npos; // a zombie has ended
  return false;
}

long read_pid(const std::filesystem::path& file) {
  long pid = 0;
  std::ifstream(file) >> pid;
  return pid;
}

// A fresh file name for a pid written by a child (all nodes share this machine's disk).
std::filesystem::path pid_file_path(const std::string& what) {
  static int counter = 0;
  return std::filesystem::temp_directory_path() /
         ("mpdecor-slurm-" + std::to_string(::getpid()) + "-" + what + "-" +
          std::to_string(++counter) + ".pid");
}

// Sends this process's standard error (descriptor 2) to a file while it lives.
class stderr_capture {
public:
  stderr_capture() : file_(std::tmpfile()), saved_(::dup(STDERR_FILENO)) {
    if (file_ == nullptr || saved_ < 0)
      throw std::runtime_error("cannot capture standard error");
    std::fflush(stderr);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~stderr_capture() { restore(); }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;

  std::string text() const {
    std::string result;
    std::ifstream in("/proc/self/fd/" + std::to_string(::fileno(file_)));
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
  }
  void restore() {
    if (saved_ < 0)
      return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
    std::fclose(file_);
  }

private:
  std::FILE* file_;
  int saved_;
};

// Lifts the limit on children running at once for one test, and puts it back.
class no_running_limit {
public:
  no_running_limit() : saved_(mpdecor::max_running()) { mpdecor::set_max_running(0); }
  ~no_running_limit() { mpdecor::set_max_running(saved_); }
  no_running_limit(const no_running_limit&) = delete;
  no_running_limit& operator=(const no_running_limit&) = delete;

private:
  std::size_t saved_;
};

double milliseconds_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

} // namespace

BOOST_AUTO_TEST_SUITE(slurm)

BOOST_AUTO_TEST_CASE(an_int_result_comes_back) {
  BOOST_TEST(step_wait(slurm_fixtures::add)(2, 40) == 42);
}

BOOST_AUTO_TEST_CASE(a_string_result_comes_back) {
  BOOST_TEST(step_wait(slurm_fixtures::greet)("cluster") == "hello, cluster");
}

BOOST_AUTO_TEST_CASE(the_call_runs_in_a_slurm_step_on_a_node_of_the_cluster) {
  BOOST_TEST(step_wait(slurm_fixtures::environment_variable)("SLURM_STEP_ID") != "<unset>");
  const std::string node = step_wait(slurm_fixtures::node_name)();
  BOOST_TEST((node == "n1" || node == "n2"), "ran on " << node);
}

BOOST_AUTO_TEST_CASE(an_exception_comes_back_as_remote_error_with_type_and_message) {
  try {
    step_wait(slurm_fixtures::throw_invalid_argument)("no such model");
    BOOST_FAIL("expected remote_error");
  } catch (const mpdecor::remote_error& error) {
    BOOST_TEST(error.type() == "std::invalid_argument");
    BOOST_TEST(error.message() == "no such model");
    BOOST_TEST(error.function() == "slurm_fixtures::throw_invalid_argument");
  }
}

BOOST_AUTO_TEST_CASE(a_segfault_comes_back_as_child_crashed_with_sigsegv) {
  try {
    step_wait(slurm_fixtures::raise_segfault)();
    BOOST_FAIL("expected child_crashed");
  } catch (const mpdecor::child_crashed& error) {
    BOOST_TEST_MESSAGE("child_crashed: " << error.what());
    BOOST_TEST(error.signal().value_or(0) == SIGSEGV);
    BOOST_TEST(error.signal_name() == "SIGSEGV");
  }
}

BOOST_AUTO_TEST_CASE(an_abort_comes_back_as_child_crashed_with_sigabrt) {
  try {
    step_wait(slurm_fixtures::call_abort)();
    BOOST_FAIL("expected child_crashed");
  } catch (const mpdecor::child_crashed& error) {
    BOOST_TEST(error.signal().value_or(0) == SIGABRT);
    BOOST_TEST(error.signal_name() == "SIGABRT");
  }
}

BOOST_AUTO_TEST_CASE(an_exit_comes_back_as_child_crashed_with_its_exit_code) {
  try {
    step_wait(slurm_fixtures::exit_with)(7);
    BOOST_FAIL("expected child_crashed");
  } catch (const mpdecor::child_crashed& error) {
    BOOST_TEST(error.exit_code().value_or(-1) == 7);
    BOOST_TEST(!error.signal().has_value());
  }
}

BOOST_AUTO_TEST_CASE(a_timeout_throws_timeout_error_and_leaves_no_step_or_process) {
  const auto pid_file = pid_file_path("timeout");
  const auto start = clock_type::now();
  try {
    step_wait(slurm_fixtures::sleep_and_report).timeout(1500ms)(pid_file.string(), 60'000);
    BOOST_FAIL("expected timeout_error");
  } catch (const mpdecor::timeout_error& error) {
    BOOST_TEST(error.timeout().count() == 1500);
  }
  const double thrown_after = milliseconds_since(start);
  BOOST_TEST(thrown_after < 30'000.0); // a hang detector only: the call would take a minute
  const std::string left = wait_until_no_slurm_work("sleep_and_report", 30s);
  BOOST_TEST(left.empty(), "left in Slurm 30 s after the timeout: " << left);
  const long pid = read_pid(pid_file);
  BOOST_TEST(pid > 0, "the call never started");
  BOOST_TEST(!process_alive(pid), "the function's process " << pid << " still runs");
  BOOST_TEST_MESSAGE("timeout_error after " << thrown_after << " ms (timeout 1500 ms), "
                                            << "nothing left in Slurm "
                                            << milliseconds_since(start) - thrown_after
                                            << " ms later");
  std::filesystem::remove(pid_file);
}

BOOST_AUTO_TEST_CASE(a_killed_call_ends_its_step) {
  const auto pid_file = pid_file_path("kill");
  auto handle = step(slurm_fixtures::sleep_and_report)(pid_file.string(), 60'000);
  const auto deadline = clock_type::now() + 30s;
  while (read_pid(pid_file) == 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(50ms);
  const long pid = read_pid(pid_file);
  BOOST_REQUIRE_MESSAGE(pid > 0, "the call did not start within 30 s");
  handle.kill();
  BOOST_CHECK_THROW(handle.get(), mpdecor::child_crashed);
  const std::string left = wait_until_no_slurm_work("sleep_and_report", 30s);
  BOOST_TEST(left.empty(), "left in Slurm 30 s after the kill: " << left);
  BOOST_TEST(!process_alive(pid), "the function's process " << pid << " still runs");
  std::filesystem::remove(pid_file);
}

BOOST_AUTO_TEST_CASE(a_call_whose_job_or_step_is_cancelled_fails_with_sruns_words) {
  // scancel from outside: the step inside an allocation, the whole job outside one.
  const auto pid_file = pid_file_path("cancel");
  auto handle = step(slurm_fixtures::sleep_and_report)(pid_file.string(), 60'000);
  const auto deadline = clock_type::now() + 30s;
  while (read_pid(pid_file) == 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(50ms);
  const long pid = read_pid(pid_file);
  BOOST_REQUIRE_MESSAGE(pid > 0, "the call did not start within 30 s");
  std::string id;
  std::istringstream steps(command_output("squeue -h -s -o '%i %j'"));
  for (std::string line; std::getline(steps, line);)
    if (line.find("sleep_and_report") != std::string::npos)
      id = line.substr(0, line.find(' '));
  BOOST_REQUIRE_MESSAGE(!id.empty(), "no step of the call in squeue");
  if (!in_allocation())
    id = id.substr(0, id.find('.'));
  BOOST_REQUIRE_MESSAGE(command_output("scancel " + id) != "<failed>", "scancel " << id);
  try {
    handle.get();
    BOOST_FAIL("expected child_crashed");
  } catch (const mpdecor::child_crashed& error) {
    const std::string what = error.what();
    BOOST_TEST_MESSAGE("cancelled " << id << ": " << what);
    BOOST_TEST(what.find("srun") != std::string::npos, what);
  }
  const std::string left = wait_until_no_slurm_work("sleep_and_report", 30s);
  BOOST_TEST(left.empty(), "left in Slurm 30 s after scancel: " << left);
  BOOST_TEST(!process_alive(pid), "the function's process " << pid << " still runs");
  std::filesystem::remove(pid_file);
}

BOOST_AUTO_TEST_CASE(a_64_megabyte_argument_and_result_cross_intact) {
  std::vector<std::uint8_t> bytes(std::size_t{64} << 20);
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::uint8_t>((i * 2654435761U) >> 13);
  // Over the direct channel, then over srun's standard streams, measured side by side.
  for (const auto channel :
       {mpdecor::slurm_channel::direct, mpdecor::slurm_channel::standard_streams}) {
    auto settings = on_slurm();
    settings.channel = channel;
    const auto start = clock_type::now();
    const auto result = mpdecor::proc_wait(slurm_fixtures::reverse_and_flip).slurm(settings)(bytes);
    const double ms = milliseconds_since(start);
    BOOST_TEST_MESSAGE("64 MiB there and back, "
                       << (channel == mpdecor::slurm_channel::direct ? "direct channel"
                                                                     : "srun's streams")
                       << ": " << ms << " ms, " << 2 * 67.108864 / (ms / 1000)
                       << " MB/s counting both directions");
    BOOST_REQUIRE_EQUAL(result.size(), bytes.size());
    bool intact = true;
    for (std::size_t i = 0; i < bytes.size() && intact; ++i)
      intact = result[bytes.size() - 1 - i] == static_cast<std::uint8_t>(bytes[i] ^ 0x5a);
    BOOST_TEST(intact);
  }
}

BOOST_AUTO_TEST_CASE(prints_to_stdout_reach_stderr_and_leave_the_result_intact) {
  const std::string marker = "mpdecor-slurm-print-" + std::to_string(::getpid());
  stderr_capture capture;
  const int result = step_wait(slurm_fixtures::print_and_add)(marker, 20, 22);
  // The prints travel beside the result; give them a moment in case they come later.
  std::string text = capture.text();
  const auto deadline = clock_type::now() + 30s;
  while (text.find(marker + " via write(1)") == std::string::npos && clock_type::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    text = capture.text();
  }
  capture.restore();
  BOOST_TEST(result == 42);
  for (const char* how : {" via std::cout", " via printf", " via write(1)"})
    BOOST_TEST(text.find(marker + how) != std::string::npos,
               "missing from the parent's stderr: " << marker + how << "; it got: " << text);
}

BOOST_AUTO_TEST_CASE(a_steps_output_is_captured_or_written_to_a_file) {
  // A step's standard output and error reach the program as one stream through srun: they
  // go where the call's standard error goes.
  const std::string marker = "mpdecor-slurm-capture-" + std::to_string(::getpid());
  const auto call =
      step(slurm_fixtures::print_and_add).output(mpdecor::output_target::capture())(marker, 1, 2);
  BOOST_TEST(call.get() == 3);
  const auto output = call.output();
  for (const char* how : {" via std::cout", " via printf", " via write(1)"})
    BOOST_TEST(output.err.find(marker + how) != std::string::npos,
               "missing from the captured output: " << marker + how << "; it got: " << output.err);
  BOOST_TEST(output.out.empty());

  const auto file = std::filesystem::temp_directory_path() / (marker + ".txt");
  std::filesystem::remove(file);
  BOOST_TEST(step_wait(slurm_fixtures::print_and_add)
                 .standard_error(mpdecor::output_target::file(file))(marker, 2, 3) == 5);
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(text.find(marker + " via printf") != std::string::npos, text);
  std::filesystem::remove(file);
}

BOOST_AUTO_TEST_CASE(environment_and_working_directory_reach_the_step) {
  const auto call =
      step_wait(slurm_fixtures::environment_variable).env("MPDECOR_SLURM_TEST", "value 1");
  BOOST_TEST(call("MPDECOR_SLURM_TEST") == "value 1");
  const auto directory = std::filesystem::canonical(std::filesystem::temp_directory_path());
  BOOST_TEST(step_wait(slurm_fixtures::working_directory).working_directory(directory)() ==
             directory.string());
}

BOOST_AUTO_TEST_CASE(a_missing_srun_is_a_launch_error) {
  mpdecor::slurm_options settings;
  settings.srun_program = "/nonexistent/srun";
  try {
    mpdecor::proc_wait(slurm_fixtures::add).slurm(settings)(1, 2);
    BOOST_FAIL("expected launch_error");
  } catch (const mpdecor::launch_error& error) {
    BOOST_TEST_MESSAGE("launch_error: " << error.what());
    BOOST_TEST(std::string(error.what()).find("/nonexistent/srun") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_srun_option_fails_with_sruns_message) {
  mpdecor::slurm_options settings;
  settings.srun_options = {"--no-such-srun-option"};
  try {
    mpdecor::proc_wait(slurm_fixtures::add).slurm(settings)(1, 2);
    BOOST_FAIL("expected an error");
  } catch (const mpdecor::error& error) {
    BOOST_TEST_MESSAGE("unknown srun option: " << error.what());
    const std::string what = error.what();
    BOOST_TEST(what.find("unrecognized option") != std::string::npos, what);
    BOOST_TEST(what.find("--no-such-srun-option") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(an_invalid_srun_option_value_fails_with_sruns_error_line) {
  mpdecor::slurm_options settings;
  settings.srun_options = {"--time=not-a-time"};
  try {
    mpdecor::proc_wait(slurm_fixtures::add).slurm(settings)(1, 2);
    BOOST_FAIL("expected an error");
  } catch (const mpdecor::error& error) {
    BOOST_TEST_MESSAGE("invalid srun option value: " << error.what());
    const std::string what = error.what();
    BOOST_TEST(what.find("srun: error:") != std::string::npos, what);
    BOOST_TEST(what.find("--time") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(calls_started_together_run_on_both_nodes) {
  no_running_limit unlimited;
  std::vector<mpdecor::handle<std::string>> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(step(slurm_fixtures::node_name_after)(1500));
  std::multiset<std::string> nodes;
  for (auto& call : calls)
    nodes.insert(call.get());
  std::string seen;
  for (const auto& node : nodes)
    seen += node + " ";
  BOOST_TEST_MESSAGE("4 calls ran on: " << seen);
  BOOST_TEST(nodes.count("n1") >= 1, "ran on " << seen);
  BOOST_TEST(nodes.count("n2") >= 1, "ran on " << seen);
}

BOOST_AUTO_TEST_CASE(a_pool_of_two_slurm_workers_maps) {
  mpdecor::pool_options settings;
  settings.workers = 2;
  settings.worker_options.start = mpdecor::start_method::slurm;
  settings.worker_options.slurm = on_slurm();
  mpdecor::pool workers(settings);
  std::vector<int> items;
  std::vector<int> expected;
  for (int i = 0; i < 50; ++i) {
    items.push_back(i);
    expected.push_back(i * i);
  }
  BOOST_TEST(workers.map(slurm_fixtures::square, items) == expected,
             boost::test_tools::per_element());
  BOOST_TEST(workers.submit(slurm_fixtures::add)(3, 4).get() == 7);
  BOOST_CHECK_THROW(workers.submit(slurm_fixtures::throw_invalid_argument)("bad item").get(),
                    mpdecor::remote_error);
  BOOST_TEST(workers.map(slurm_fixtures::square, items) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_pool_in_an_allocation_has_workers_on_both_nodes,
                     *boost::unit_test::precondition(inside_an_allocation)) {
  mpdecor::pool_options settings;
  settings.workers = 2;
  settings.worker_options.start = mpdecor::start_method::slurm;
  mpdecor::pool workers(settings);
  mpdecor::map_options one_at_a_time;
  one_at_a_time.chunk = 1;
  const auto nodes =
      workers.map(slurm_fixtures::node_of_item, std::vector<int>(40, 0), one_at_a_time);
  const std::set<std::string> distinct(nodes.begin(), nodes.end());
  std::string seen;
  for (const auto& node : distinct)
    seen += node + " ";
  BOOST_TEST(distinct == (std::set<std::string>{"n1", "n2"}), "workers ran on " << seen);
}

BOOST_AUTO_TEST_CASE(inside_an_allocation_a_call_is_a_step_of_it,
                     *boost::unit_test::precondition(inside_an_allocation)) {
  const std::string job = std::getenv("SLURM_JOB_ID");
  BOOST_TEST(step_wait(slurm_fixtures::environment_variable)("SLURM_JOB_ID") == job);
  BOOST_TEST(step_wait(slurm_fixtures::environment_variable)("SLURM_JOB_ID") == job);
}

BOOST_AUTO_TEST_CASE(outside_an_allocation_each_call_is_a_job_of_its_own,
                     *boost::unit_test::precondition(outside_an_allocation)) {
  const std::string first = step_wait(slurm_fixtures::environment_variable)("SLURM_JOB_ID");
  const std::string second = step_wait(slurm_fixtures::environment_variable)("SLURM_JOB_ID");
  BOOST_TEST(first != "<unset>");
  BOOST_TEST(second != "<unset>");
  BOOST_TEST(first != second);
}

BOOST_AUTO_TEST_CASE(plain_calls_follow_the_start_method_from_the_environment,
                     *boost::unit_test::precondition(slurm_by_environment)) {
  BOOST_TEST((mpdecor::default_start_method() == mpdecor::start_method::slurm));
  BOOST_TEST(mpdecor::proc_wait(slurm_fixtures::environment_variable)("SLURM_STEP_ID") !=
             "<unset>");
  // scripts/slurm-test.sh passes an srun option through MPDECOR_SRUN_OPTIONS that sets
  // this variable in the step.
  const char* expected = std::getenv("MPDECOR_SLURM_TEST_EXPECT");
  if (expected != nullptr)
    BOOST_TEST(mpdecor::proc_wait(slurm_fixtures::environment_variable)("MPDECOR_SLURM_TEST_SET") ==
               expected);
}

// Step and pool round trips over one route, printed (see below).
template <class Median>
void measure_slurm_round_trips(Median median_ms, const mpdecor::slurm_options& on_slurm,
                               const char* route) {
  const auto slurm_add = mpdecor::proc_wait(slurm_fixtures::add).slurm(on_slurm);
  const auto slurm_greet = mpdecor::proc_wait(slurm_fixtures::greet).slurm(on_slurm);
  const std::string four_kib(4096, 'x');
  const double slurm = median_ms([&](int i) { BOOST_TEST(slurm_add(i, 1) == i + 1); });
  // srun forwards a stream in messages of at most 1 KiB, without TCP_NODELAY: a message
  // longer than that waits for a delayed acknowledgement on the way.
  const double slurm_large =
      median_ms([&](int) { BOOST_TEST(slurm_greet(four_kib).size() == 4103U); });
  mpdecor::pool_options settings;
  settings.workers = 1;
  settings.worker_options.start = mpdecor::start_method::slurm;
  settings.worker_options.slurm = on_slurm;
  mpdecor::pool worker(settings);
  worker.submit(slurm_fixtures::add)(0, 0).get(); // the worker is up
  const double pool_small = median_ms(
      [&](int i) { BOOST_TEST(worker.submit(slurm_fixtures::add)(i, 1).get() == i + 1); });
  const double pool_large = median_ms([&](int) {
    BOOST_TEST(worker.submit(slurm_fixtures::greet)(four_kib).get().size() == 4103U);
  });
  BOOST_TEST_MESSAGE(route << ": pool task round trip on a Slurm worker, median of 15: "
                           << pool_small << " ms; with a 4 KiB argument and result " << pool_large
                           << " ms");
  BOOST_TEST_MESSAGE(route << ": proc_wait round trip, median of 15: Slurm step " << slurm
                           << " ms, with a 4 KiB argument and result " << slurm_large << " ms ("
                           << (in_allocation() ? "inside an allocation" : "a new job per call")
                           << ")");
}

BOOST_AUTO_TEST_CASE(round_trip_times_of_slurm_steps_and_local_children) {
  // A measurement for the record (printed with --log_level=message); it checks results only.
  auto median_ms = [](auto&& one_call) {
    std::vector<double> times;
    for (int i = 0; i < 15; ++i) {
      const auto start = clock_type::now();
      one_call(i);
      times.push_back(milliseconds_since(start));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  const auto local_add =
      mpdecor::proc_wait(slurm_fixtures::add).start_method(mpdecor::start_method::spawn);
  const double local = median_ms([&](int i) { BOOST_TEST(local_add(i, 1) == i + 1); });
  BOOST_TEST_MESSAGE("proc_wait round trip, median of 15: local spawn " << local << " ms");
  // Over the direct channel, then over srun's standard streams, measured side by side.
  for (const auto channel :
       {mpdecor::slurm_channel::direct, mpdecor::slurm_channel::standard_streams}) {
    auto step_settings = on_slurm();
    step_settings.channel = channel;
    const char* const route =
        channel == mpdecor::slurm_channel::direct ? "direct channel" : "srun's streams";
    BOOST_TEST_CONTEXT(route) { measure_slurm_round_trips(median_ms, step_settings, route); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
