// SPDX-License-Identifier: BSL-1.0
// mpdecor's benchmark suite (Linux): what a call in a child costs, against the floors that
// the operating system sets for the same work.
//
//     mpdecor_bench [--quick] [Google Benchmark flags, e.g. --benchmark_filter=roundtrip]
//
// Every figure is wall-clock time (UseRealTime), reported as the median of several
// repetitions. scripts/run-benchmarks.sh runs it with JSON output and turns the results into
// docs/performance.md.
//
// Baselines, in this same executable:
//   roundtrip/posix_spawn        posix_spawn of this executable, an int over a pipe and back
//                                (+1), waitpid: the floor for a fresh process
//   roundtrip/boost_process_v2   the same through a bare Boost.Process v2 launch
//   start/fork_wait              fork, the child _exits at once, waitpid: the floor for a
//                                fork server
//   roundtrip/fork_pipe          fork with the same pipe round trip
//   roundtrip/warm_pipe          the round trip to a process that is already running: the
//                                floor for a pool
//   roundtrip/warm_pipe_same_core, roundtrip/warm_pipe_cross_core
//                                the same with this thread and that process pinned to one
//                                core, or to two: a wake-up on the same core against one
//                                that crosses cores
// The raw children are this executable started as `--bench-echo` (one round trip),
// `--bench-echo-loop` (round trips until end of input) or `--bench-exit` (nothing); main
// serves those modes before mpdecor::init.

#include <mpdecor/mpdecor.hpp>

// The library's own system-call helpers (lib/, through the mpdecor_internal target).
#include "channel.hpp"
#include "launch.hpp"
#include "os.hpp"
#include "spawn_posix.hpp"

#include <benchmark/benchmark.h>

// Boost 1.81's Process v2 uses Boost.Optional and type_traits without including them.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
#include <boost/version.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

int increment(int x) { return x + 1; }
MPDECOR_REGISTER(increment);

std::vector<double> identity(std::vector<double> values) { return values; }
MPDECOR_REGISTER(identity);

mpdecor::shared_array<double> identity_array(mpdecor::shared_array<double> values) {
  return values;
}
MPDECOR_REGISTER(identity_array);

namespace {

namespace detail = mpdecor::detail;

// ---------------------------------------------------------------------------------------
// Raw building blocks: pipes, posix_spawn, fork.

[[noreturn]] void fail(const char* what, int code = errno) {
  throw std::system_error(code, std::generic_category(), what);
}

// Reads exactly `size` bytes through the library's detail::read_some (one read a call,
// EINTR retried, std::system_error on failure); false at end of input.
bool read_exact(int fd, void* data, std::size_t size) {
  char* bytes = static_cast<char*>(data);
  while (size > 0) {
    const std::size_t got = detail::read_some(fd, bytes, size);
    if (got == 0)
      return false;
    bytes += got;
    size -= got;
  }
  return true;
}

// Kept, not detail::write_all: that one tries send() first, which on a pipe fails
// (ENOTSOCK) before its write, one more system call per write than the pipe floors pay.
bool raw_write(int fd, const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t done = ::write(fd, bytes, size);
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0)
      return false;
    bytes += done;
    size -= static_cast<std::size_t>(done);
  }
  return true;
}

// Kept, not read_exact: a raw child never throws (a forked one must not unwind into the
// fork helper's code), so it uses only read, write and _exit.
bool raw_read(int fd, void* data, std::size_t size) {
  char* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t done = ::read(fd, bytes, size);
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0)
      return false;
    bytes += done;
    size -= static_cast<std::size_t>(done);
  }
  return true;
}

// The raw children.
[[noreturn]] void serve_echo(int input, int output, bool loop) {
  int value = 0;
  do {
    if (!raw_read(input, &value, sizeof value))
      ::_exit(0);
    ++value;
    if (!raw_write(output, &value, sizeof value))
      ::_exit(1);
  } while (loop);
  ::_exit(0);
}

// Kept: the library has no pipe helper (its channels are socket pairs, os::socket_pair).
struct pipe_ends {
  int read = -1;
  int write = -1;
};

pipe_ends make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    fail("pipe2");
  return {fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

// Kept: the library has no blocking wait for a pid (it watches its children through pidfds
// on its event loop).
void wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) == -1)
    if (errno != EINTR)
      fail("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("a raw child failed");
}

// posix_spawn of this executable as `mode`, with its standard input and output on the given
// ends (-1: inherited), through the library's detail::spawn, as mpdecor starts its children.
pid_t spawn_self(const char* mode, int input, int output) {
  // Built once: the program's path and the environment's copy stay out of the timed loops.
  static detail::spawn_request request = [] {
    detail::spawn_request first;
    first.program = detail::own_executable().string();
    first.arguments = {first.program, std::string()};
    for (char** entry = environ; *entry != nullptr; ++entry)
      first.environment.emplace_back(*entry);
    return first;
  }();
  request.arguments[1] = mode;
  request.descriptors.clear();
  if (input >= 0)
    request.descriptors.emplace_back(input, STDIN_FILENO);
  if (output >= 0)
    request.descriptors.emplace_back(output, STDOUT_FILENO);
  std::error_code error;
  const pid_t pid = detail::spawn(request, error);
  if (pid <= 0)
    throw std::system_error(error, "posix_spawn");
  return pid;
}

int exchange(int to_child, int from_child, int value) {
  int answer = 0;
  if (!raw_write(to_child, &value, sizeof value) || !read_exact(from_child, &answer, sizeof answer))
    throw std::runtime_error("the raw child did not answer");
  return answer;
}

int spawn_round_trip(int value) {
  pipe_ends down = make_pipe();
  pipe_ends up = make_pipe();
  const pid_t pid = spawn_self("--bench-echo", down.read, up.write);
  close_fd(down.read);
  close_fd(up.write);
  const int answer = exchange(down.write, up.read, value);
  close_fd(down.write);
  close_fd(up.read);
  wait_child(pid);
  return answer;
}

int fork_round_trip(int value) {
  pipe_ends down = make_pipe();
  pipe_ends up = make_pipe();
  const pid_t pid = ::fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0)
    serve_echo(down.read, up.write, false);
  close_fd(down.read);
  close_fd(up.write);
  const int answer = exchange(down.write, up.read, value);
  close_fd(down.write);
  close_fd(up.read);
  wait_child(pid);
  return answer;
}

void fork_and_wait() {
  const pid_t pid = ::fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0)
    ::_exit(0);
  wait_child(pid);
}

namespace process_v2 = boost::process::v2;

int boost_process_round_trip(int value) {
  boost::asio::io_context io;
  boost::asio::writable_pipe input(io);
  boost::asio::readable_pipe output(io);
  process_v2::process child(io.get_executor(), detail::own_executable(), {"--bench-echo"},
                            process_v2::process_stdio{input, output, {}});
  int answer = 0;
  boost::asio::write(input, boost::asio::buffer(&value, sizeof value));
  boost::asio::read(output, boost::asio::buffer(&answer, sizeof answer));
  child.wait();
  return answer;
}

// Starts `count` trivial children with at most `limit` alive at once (0: no limit), each
// reaped as soon as it exits. Pidfds tell which ones have exited without waiting for "any
// child", which would also reap mpdecor's.
void spawn_many(int count, std::size_t limit) {
  std::vector<pollfd> alive;
  std::vector<pid_t> pids;
  int started = 0;
  while (started < count || !alive.empty()) {
    while (started < count && (limit == 0 || alive.size() < limit)) {
      const pid_t pid = spawn_self("--bench-exit", -1, -1);
      const int fd = detail::os::pidfd_open(pid);
      if (fd < 0)
        fail("pidfd_open");
      alive.push_back({fd, POLLIN, 0});
      pids.push_back(pid);
      ++started;
    }
    if (::poll(alive.data(), alive.size(), -1) < 0 && errno != EINTR)
      fail("poll");
    for (std::size_t i = alive.size(); i-- > 0;) {
      if (alive[i].revents == 0)
        continue;
      wait_child(pids[i]);
      ::close(alive[i].fd);
      alive.erase(alive.begin() + static_cast<std::ptrdiff_t>(i));
      pids.erase(pids.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

// A process started once that answers round trips until its input closes.
class warm_echo {
public:
  warm_echo() {
    pipe_ends down = make_pipe();
    pipe_ends up = make_pipe();
    pid_ = spawn_self("--bench-echo-loop", down.read, up.write);
    close_fd(down.read);
    close_fd(up.write);
    to_child_ = down.write;
    from_child_ = up.read;
  }
  warm_echo(const warm_echo&) = delete;
  warm_echo& operator=(const warm_echo&) = delete;
  ~warm_echo() {
    close_fd(to_child_);
    close_fd(from_child_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) == -1 && errno == EINTR) {
    }
  }
  int operator()(int value) const { return exchange(to_child_, from_child_, value); }
  pid_t pid() const noexcept { return pid_; }

private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

// A small process, freshly started from this executable, that forks on request and times
// it: the fork floors are measured there, since the cost of a fork grows with the forking
// process's memory, and a fork server is such a small process. This process grows as the
// suite runs (a big payload leaves memory in malloc's arenas), which would blur the floor.
class fork_helper {
public:
  fork_helper() {
    pipe_ends down = make_pipe();
    pipe_ends up = make_pipe();
    pid_ = spawn_self("--bench-fork-helper", down.read, up.write);
    close_fd(down.read);
    close_fd(up.write);
    to_child_ = down.write;
    from_child_ = up.read;
  }
  fork_helper(const fork_helper&) = delete;
  fork_helper& operator=(const fork_helper&) = delete;
  ~fork_helper() {
    close_fd(to_child_);
    close_fd(from_child_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) == -1 && errno == EINTR) {
    }
  }
  // Seconds that one fork took in the helper: `with_pipe` false: fork, _exit, waitpid;
  // true: fork, an int over a pipe and back, waitpid. The exchange with the helper is not
  // timed, so it goes through the library's helpers.
  double operator()(bool with_pipe) const {
    const char command = with_pipe ? 'p' : 'w';
    detail::write_all(to_child_, std::string_view(&command, 1));
    double seconds = -1;
    if (!read_exact(from_child_, &seconds, sizeof seconds) || seconds < 0)
      throw std::runtime_error("the fork helper failed");
    return seconds;
  }

  // The helper's side: serves commands until its input closes.
  [[noreturn]] static void serve() {
    try {
      char command = 0;
      while (read_exact(STDIN_FILENO, &command, 1)) {
        double seconds = -1;
        try {
          const auto start = std::chrono::steady_clock::now();
          if (command == 'p') {
            if (fork_round_trip(41) != 42)
              ::_exit(1);
          } else {
            fork_and_wait();
          }
          seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } catch (const std::exception&) {
        }
        detail::write_all(STDOUT_FILENO, std::string_view(reinterpret_cast<const char*>(&seconds),
                                                          sizeof seconds));
      }
    } catch (const std::exception&) {
      ::_exit(1);
    }
    ::_exit(0);
  }

private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

// ---------------------------------------------------------------------------------------
// Touched memory in the parent, for the cost against the parent's size. One block at most:
// a new size replaces the old block, and the same size keeps it between repetitions.

class ballast {
public:
  static void hold(std::size_t bytes) {
    if (bytes == bytes_)
      return;
    release();
    if (bytes == 0)
      return;
    void* block =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED)
      fail("mmap");
    std::memset(block, 0x5a, bytes); // every page touched, as a program's own data would be
    block_ = block;
    bytes_ = bytes;
  }
  // Also hands what it can of malloc's free memory back to the system: a big payload freed
  // by an earlier case would otherwise stay in the heap and make every fork that follows
  // slower.
  static void release() {
    if (block_ != nullptr)
      ::munmap(block_, bytes_);
    block_ = nullptr;
    bytes_ = 0;
    ::malloc_trim(0);
  }

private:
  static inline void* block_ = nullptr;
  static inline std::size_t bytes_ = 0;
};

long resident_kilobytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// ---------------------------------------------------------------------------------------
// Settings of one run.

struct run_settings {
  int repetitions = 7;     // medians over this many repetitions
  double min_time = 0.2;   // seconds per repetition of the short benchmarks
  int big_repetitions = 3; // for the long ones (1,000 calls and more per iteration)
  std::vector<long> parent_megabytes{0, 100, 1000, 4000};
  std::vector<long> fan_out{10, 100, 1000, 10000};
  std::vector<long> payload_bytes{1L << 10, 64L << 10, 1L << 20, 16L << 20, 128L << 20, 512L << 20};
  int rss_calls = 10000;
  int map_items = 100000;
};

run_settings settings;

std::string wrong(int expected, int got) {
  return "wrong answer: expected " + std::to_string(expected) + ", got " + std::to_string(got);
}

// ---------------------------------------------------------------------------------------
// Round trips of int f(int).

// Runs `call` once per iteration and times each call on its own: besides Google
// Benchmark's mean per iteration, the counter call_median_us is the median of those times,
// which a burst of load from other processes moves far less than the mean.
void report_call_median(benchmark::State& state, std::vector<double>& microseconds) {
  if (microseconds.empty())
    return;
  const auto middle = microseconds.begin() + static_cast<std::ptrdiff_t>(microseconds.size() / 2);
  std::nth_element(microseconds.begin(), middle, microseconds.end());
  state.counters["call_median_us"] = *middle;
}

template <class Call>
void timed_calls(benchmark::State& state, Call&& call) {
  std::vector<double> samples;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (!call())
      break;
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  report_call_median(state, samples);
}

template <class Call>
void round_trip(benchmark::State& state, Call&& call) {
  int value = 0;
  timed_calls(state, [&] {
    const int answer = call(value);
    if (answer != value + 1) {
      state.SkipWithError(wrong(value + 1, answer).c_str());
      return false;
    }
    ++value;
    return true;
  });
}

void bm_posix_spawn(benchmark::State& state) { round_trip(state, spawn_round_trip); }
void bm_boost_process(benchmark::State& state) { round_trip(state, boost_process_round_trip); }

// The fork floors, timed in a small helper process (manual time).
void fork_in_helper(benchmark::State& state, bool with_pipe) {
  const fork_helper helper;
  std::vector<double> samples;
  for (auto _ : state) {
    const double seconds = helper(with_pipe);
    state.SetIterationTime(seconds);
    samples.push_back(seconds * 1e6);
  }
  report_call_median(state, samples);
}
void bm_fork_wait_small(benchmark::State& state) { fork_in_helper(state, false); }
void bm_fork_pipe_small(benchmark::State& state) { fork_in_helper(state, true); }

// fork + waitpid in this process, for the cost against the parent's size.
void bm_fork_wait(benchmark::State& state) {
  timed_calls(state, [] {
    fork_and_wait();
    return true;
  });
}
void bm_warm_pipe(benchmark::State& state) {
  const warm_echo echo;
  round_trip(state, [&](int value) { return echo(value); });
}

// The warm round trip with this thread and the echoing process pinned to one core
// (`same_core`) or to two different ones; this thread's affinity is restored after.
void warm_pipe_pinned(benchmark::State& state, bool same_core) {
  cpu_set_t original;
  CPU_ZERO(&original);
  if (::sched_getaffinity(0, sizeof original, &original) != 0) {
    state.SkipWithError("sched_getaffinity failed");
    return;
  }
  std::vector<int> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &original))
      cores.push_back(cpu);
  if (cores.empty() || (!same_core && cores.size() < 2)) {
    state.SkipWithError("needs two cores to run on");
    return;
  }
  const warm_echo echo;
  const auto pin = [](pid_t pid, int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return ::sched_setaffinity(pid, sizeof one, &one) == 0;
  };
  if (!pin(0, cores[0]) || !pin(echo.pid(), same_core ? cores[0] : cores[1])) {
    ::sched_setaffinity(0, sizeof original, &original);
    state.SkipWithError("sched_setaffinity failed");
    return;
  }
  round_trip(state, [&](int value) { return echo(value); });
  ::sched_setaffinity(0, sizeof original, &original);
}

void bm_warm_pipe_same_core(benchmark::State& state) { warm_pipe_pinned(state, true); }
void bm_warm_pipe_cross_core(benchmark::State& state) { warm_pipe_pinned(state, false); }

void bm_proc_wait(benchmark::State& state) {
  round_trip(state, [](int value) { return mpdecor::proc_wait(increment)(value); });
}

void bm_proc_wait_fork_server(benchmark::State& state) {
  const auto call = mpdecor::proc_wait(increment).start_method(mpdecor::start_method::fork_server);
  call(0); // the fork server starts with its first call
  round_trip(state, [&](int value) { return call(value); });
}

void bm_pool(benchmark::State& state) {
  mpdecor::pool_options options;
  options.workers = 2;
  mpdecor::pool workers(options);
  const auto call = workers.submit(increment);
  for (int i = 0; i < 50; ++i) // the workers start before the timing
    call(i).get();
  round_trip(state, [&](int value) { return call(value).get(); });
}

// ---------------------------------------------------------------------------------------
// Many calls at once.

void bm_fire_and_forget_proc(benchmark::State& state) {
  const int calls = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < calls; ++i)
      mpdecor::proc(increment)(i);
    mpdecor::wait_all();
  }
  state.counters["calls"] = calls;
  state.counters["limit"] = static_cast<double>(mpdecor::max_running());
}

void bm_fire_and_forget_spawn(benchmark::State& state) {
  const int calls = static_cast<int>(state.range(0));
  const std::size_t limit = mpdecor::max_running();
  for (auto _ : state)
    spawn_many(calls, limit);
  state.counters["calls"] = calls;
  state.counters["limit"] = static_cast<double>(limit);
}

void bm_pool_map(benchmark::State& state) {
  std::vector<int> items(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < items.size(); ++i)
    items[i] = static_cast<int>(i);
  mpdecor::pool_options options;
  options.workers = 2;
  mpdecor::pool workers(options);
  for (int i = 0; i < 50; ++i)
    workers.submit(increment)(i).get();
  mpdecor::map_options map_settings;
  map_settings.chunk = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const std::vector<int> results = workers.map(increment, items, map_settings);
    if (results.size() != items.size() || results.back() != items.back() + 1) {
      state.SkipWithError("pool map returned wrong results");
      break;
    }
  }
  state.counters["items"] = static_cast<double>(items.size());
}

// ---------------------------------------------------------------------------------------
// Cost against the parent's size (range 0: megabytes of touched memory, 10^6 bytes each).

// Holds the case's block, and reports what the parent holds in all (VmRSS).
std::size_t parent_bytes(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0)) * 1000 * 1000;
  ballast::hold(bytes);
  state.counters["parent_rss_kB"] = static_cast<double>(resident_kilobytes());
  return bytes;
}

void bm_parent_proc_wait(benchmark::State& state) {
  parent_bytes(state);
  bm_proc_wait(state);
}
void bm_parent_proc_wait_fork_server(benchmark::State& state) {
  parent_bytes(state);
  bm_proc_wait_fork_server(state);
}
void bm_parent_posix_spawn(benchmark::State& state) {
  parent_bytes(state);
  bm_posix_spawn(state);
}
void bm_parent_fork_wait(benchmark::State& state) {
  parent_bytes(state);
  bm_fork_wait(state);
}

// ---------------------------------------------------------------------------------------
// Throughput of a std::vector<double> sent to the child and back (range 0: bytes each way).

// Sets the shared-memory threshold for one benchmark and restores it afterwards.
class threshold_scope {
public:
  explicit threshold_scope(std::size_t bytes) : saved_(mpdecor::shared_memory_threshold()) {
    mpdecor::set_shared_memory_threshold(bytes);
  }
  threshold_scope(const threshold_scope&) = delete;
  threshold_scope& operator=(const threshold_scope&) = delete;
  ~threshold_scope() { mpdecor::set_shared_memory_threshold(saved_); }

private:
  std::size_t saved_;
};

// `round_trip(input)` returns what the identity function returned for `input`.
template <class RoundTrip>
void throughput(benchmark::State& state, RoundTrip&& round_trip) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  std::vector<double> input(bytes / sizeof(double));
  for (std::size_t i = 0; i < input.size(); ++i)
    input[i] = static_cast<double>(i);
  timed_calls(state, [&] {
    const std::vector<double> output = round_trip(input);
    if (output.size() != input.size() || output.back() != input.back()) {
      state.SkipWithError("the identity function returned another vector");
      return false;
    }
    benchmark::DoNotOptimize(output.data());
    return true;
  });
  // Argument and result: (argument bytes + result bytes) per round trip.
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * bytes));
}

// The floor of any transfer that ends in a new vector: one copy of the payload in this
// process into freshly allocated memory (every page of it faulted in on first touch).
void bm_vector_copy(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  const std::vector<double> input(bytes / sizeof(double), 1.0);
  timed_calls(state, [&] {
    const std::vector<double> copy(input);
    benchmark::DoNotOptimize(copy.data());
    return true;
  });
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

std::vector<double> call_identity(const std::vector<double>& input) {
  return mpdecor::proc_wait(identity)(input);
}

void bm_throughput_default(benchmark::State& state) {
  const threshold_scope scope(0);
  throughput(state, call_identity);
}

void bm_throughput_shared_memory(benchmark::State& state) {
  const threshold_scope scope(std::size_t{1} << 20);
  throughput(state, call_identity);
}

// The same through a warm pool's one worker (started, with the threshold set, before the
// clock runs).
void bm_throughput_pool_shared_memory(benchmark::State& state) {
  const threshold_scope scope(std::size_t{1} << 20);
  mpdecor::pool_options one;
  one.workers = 1;
  mpdecor::pool workers(one);
  workers.submit(identity)(std::vector<double>(1, 1.0)).get();
  throughput(state, [&](const std::vector<double>& input) {
    return workers.submit(identity)(input).get();
  });
}

// The zero-copy path: the same round trip of a shared_array, made once before the clock
// runs, as a program keeps its data in one. Only descriptors travel; the check reads the
// first and last elements of what came back, not every page.
template <class RoundTrip>
void array_throughput(benchmark::State& state, RoundTrip&& round_trip) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  mpdecor::array_writer<double> writer(bytes / sizeof(double));
  for (std::size_t i = 0; i < writer.size(); ++i)
    writer[i] = static_cast<double>(i);
  const mpdecor::shared_array<double> input = std::move(writer).share();
  timed_calls(state, [&] {
    const mpdecor::shared_array<double> output = round_trip(input);
    if (output.size() != input.size() || output.front() != input.front() ||
        output.back() != input.back()) {
      state.SkipWithError("the identity function returned another array");
      return false;
    }
    benchmark::DoNotOptimize(output.data());
    return true;
  });
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * bytes));
}

void bm_throughput_shared_array(benchmark::State& state) {
  array_throughput(state, [](const mpdecor::shared_array<double>& input) {
    return mpdecor::proc_wait(identity_array)(input);
  });
}

void bm_throughput_pool_shared_array(benchmark::State& state) {
  mpdecor::pool_options one;
  one.workers = 1;
  mpdecor::pool workers(one);
  workers.submit(identity_array)(mpdecor::shared_array<double>{1.0}).get();
  array_throughput(state, [&](const mpdecor::shared_array<double>& input) {
    return workers.submit(identity_array)(input).get();
  });
}

// ---------------------------------------------------------------------------------------
// The parent's memory over many calls.

void bm_parent_rss(benchmark::State& state) {
  const int calls = static_cast<int>(state.range(0));
  for (int i = 0; i < 100; ++i) // threads, buffers and caches that the first calls set up
    mpdecor::proc_wait(increment)(i);
  long before = 0;
  long after = 0;
  for (auto _ : state) {
    before = resident_kilobytes();
    for (int i = 0; i < calls; ++i)
      if (mpdecor::proc_wait(increment)(i) != i + 1) {
        state.SkipWithError("wrong answer");
        break;
      }
    after = resident_kilobytes();
  }
  state.counters["calls"] = calls;
  state.counters["rss_before_kB"] = static_cast<double>(before);
  state.counters["rss_growth_kB"] = static_cast<double>(after - before);
}

// ---------------------------------------------------------------------------------------

benchmark::internal::Benchmark* common(benchmark::internal::Benchmark* b, bool manual = false) {
  if (manual)
    b->UseManualTime();
  else
    b->UseRealTime();
  return b->Unit(benchmark::kMicrosecond)->ReportAggregatesOnly(true);
}

// Short benchmarks: many iterations per repetition.
benchmark::internal::Benchmark* quick_case(benchmark::internal::Benchmark* b, bool manual = false) {
  return common(b, manual)->Repetitions(settings.repetitions)->MinTime(settings.min_time);
}

// Long benchmarks: one iteration per repetition.
benchmark::internal::Benchmark* long_case(benchmark::internal::Benchmark* b, int repetitions) {
  return common(b)->Repetitions(repetitions)->Iterations(1)->Unit(benchmark::kMillisecond);
}

// Registers a benchmark whose failure (an exception: a launch that failed, a call's error)
// marks that case failed in the results instead of ending the run.
template <class Function>
benchmark::internal::Benchmark* guarded(const char* name, Function function) {
  return benchmark::RegisterBenchmark(name, [function](benchmark::State& state) {
    try {
      function(state);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  });
}

// Registers a benchmark that runs with a small parent: it drops the block that a
// parent-size case may have left, since repetitions may be interleaved
// (--benchmark_enable_random_interleaving).
template <class Function>
benchmark::internal::Benchmark* small_parent(const char* name, Function function) {
  return guarded(name, [function](benchmark::State& state) {
    ballast::release();
    function(state);
  });
}

void register_benchmarks() {
  quick_case(small_parent("roundtrip/warm_pipe", bm_warm_pipe));
  quick_case(small_parent("roundtrip/warm_pipe_same_core", bm_warm_pipe_same_core));
  quick_case(small_parent("roundtrip/warm_pipe_cross_core", bm_warm_pipe_cross_core));
  quick_case(small_parent("roundtrip/pool", bm_pool));
  quick_case(small_parent("start/fork_wait", bm_fork_wait_small), true);
  quick_case(small_parent("roundtrip/fork_pipe", bm_fork_pipe_small), true);
  quick_case(small_parent("roundtrip/proc_wait_fork_server", bm_proc_wait_fork_server));
  quick_case(small_parent("roundtrip/posix_spawn", bm_posix_spawn));
  quick_case(small_parent("roundtrip/boost_process_v2", bm_boost_process));
  quick_case(small_parent("roundtrip/proc_wait", bm_proc_wait));

  long_case(small_parent("fire_and_forget/proc", bm_fire_and_forget_proc), settings.repetitions)
      ->Arg(1000);
  long_case(small_parent("fire_and_forget/posix_spawn", bm_fire_and_forget_spawn),
            settings.repetitions)
      ->Arg(1000);

  for (const long n : settings.fan_out)
    long_case(small_parent("fan_out/proc", bm_fire_and_forget_proc), n >= 10000 ? 1
                                                                     : n >= 1000
                                                                         ? settings.big_repetitions
                                                                         : settings.repetitions)
        ->Arg(n);

  for (const long bytes : settings.payload_bytes) {
    const int repetitions = bytes >= (128L << 20) ? settings.big_repetitions : settings.repetitions;
    for (const auto& [name, function] :
         {std::pair{"throughput/default", bm_throughput_default},
          std::pair{"throughput/shared_memory", bm_throughput_shared_memory},
          std::pair{"throughput/pool_shared_memory", bm_throughput_pool_shared_memory},
          std::pair{"throughput/shared_array", bm_throughput_shared_array},
          std::pair{"throughput/pool_shared_array", bm_throughput_pool_shared_array},
          std::pair{"throughput/vector_copy", bm_vector_copy}}) {
      auto* b = common(small_parent(name, function))->Arg(bytes)->Repetitions(repetitions);
      if (bytes >= (128L << 20))
        b->Iterations(1)->Unit(benchmark::kMillisecond);
      else
        b->MinTime(settings.min_time);
    }
  }

  long_case(small_parent("pool_map/pool", bm_pool_map), settings.big_repetitions)
      ->Args({settings.map_items, 1})
      ->Args({settings.map_items, 100})
      ->Args({settings.map_items, 1000})
      ->Args({settings.map_items, 0}); // the default: chunks sized as the map runs

  long_case(small_parent("parent_rss/proc_wait", bm_parent_rss), 1)->Arg(settings.rss_calls);

  // Grouped by size, so that without interleaving each block is touched once.
  for (const long megabytes : settings.parent_megabytes) {
    quick_case(guarded("parent_size/proc_wait", bm_parent_proc_wait))->Arg(megabytes);
    quick_case(guarded("parent_size/proc_wait_fork_server", bm_parent_proc_wait_fork_server))
        ->Arg(megabytes);
    quick_case(guarded("parent_size/posix_spawn", bm_parent_posix_spawn))->Arg(megabytes);
    quick_case(guarded("parent_size/fork_wait", bm_parent_fork_wait))->Arg(megabytes);
  }
}

// --quick: a short run that exercises every benchmark, with smaller sizes.
void use_quick_settings() {
  settings.repetitions = 3;
  settings.min_time = 0.05;
  settings.big_repetitions = 2;
  settings.parent_megabytes = {0, 100, 1000};
  settings.fan_out = {10, 100, 1000};
  settings.payload_bytes = {1L << 10, 1L << 20, 16L << 20, 128L << 20};
  settings.rss_calls = 1000;
  settings.map_items = 10000;
}

} // namespace

int main(int argc, char** argv) {
  // The raw children of the baselines.
  if (argc == 2 && std::strcmp(argv[1], "--bench-echo") == 0)
    serve_echo(STDIN_FILENO, STDOUT_FILENO, false);
  if (argc == 2 && std::strcmp(argv[1], "--bench-echo-loop") == 0)
    serve_echo(STDIN_FILENO, STDOUT_FILENO, true);
  if (argc == 2 && std::strcmp(argv[1], "--bench-exit") == 0)
    ::_exit(0);
  if (argc == 2 && std::strcmp(argv[1], "--bench-fork-helper") == 0)
    fork_helper::serve();

  mpdecor::init(argc, argv);

  std::vector<char*> arguments;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      use_quick_settings();
    else
      arguments.push_back(argv[i]);
  }
  int count = static_cast<int>(arguments.size());
  arguments.push_back(nullptr);

#if defined(__clang__)
  benchmark::AddCustomContext("compiler", "Clang " __clang_version__);
#elif defined(__GNUC__)
  benchmark::AddCustomContext("compiler", "GCC " __VERSION__);
#else
  benchmark::AddCustomContext("compiler", "unknown");
#endif
  benchmark::AddCustomContext("boost", BOOST_LIB_VERSION);
  benchmark::AddCustomContext("mpdecor_max_running", std::to_string(mpdecor::max_running()));
  benchmark::AddCustomContext("quick", count == argc ? "false" : "true");
#if defined(NDEBUG)
  benchmark::AddCustomContext("mpdecor_build", "release");
#else
  benchmark::AddCustomContext("mpdecor_build", "debug");
#endif

  register_benchmarks();
  benchmark::Initialize(&count, arguments.data());
  if (benchmark::ReportUnrecognizedArguments(count, arguments.data()))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ballast::release();
  return 0;
}
