// SPDX-License-Identifier: BSL-1.0
// mpdecor: per-call options and program-wide settings.
#ifndef MPDECOR_OPTIONS_HPP
#define MPDECOR_OPTIONS_HPP

#include <mpdecor/export.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mpdecor {

/// How a child is started.
enum class start_method {
  /// A fresh process from the program's own executable (posix_spawn on POSIX: its cost
  /// does not grow with the parent's memory). The default.
  spawn,
  /// POSIX: a fork of a clean server process that has run nothing but the program's
  /// start-up and `init()`; still a fresh process per call, at the cost of a fork.
  /// Elsewhere the same as `spawn`.
  fork_server,
  /// A Slurm job step (`srun`): inside the current allocation when the program runs in
  /// one, a new job otherwise. See `slurm_options`.
  slurm,
};

/// How Slurm steps share the allocation's CPUs.
enum class slurm_steps {
  automatic, ///< calls: `--exact`; a pool's long-lived workers: `--overlap`
  overlap,   ///< `--overlap`: steps may share CPUs with other steps
  exact,     ///< `--exact`: each step gets CPUs of its own and waits for them
};

/// How a Slurm step's call and result travel between the program and the step.
enum class slurm_channel {
  /// A TCP connection the step makes back to the program, authenticated with the call's
  /// launch key; srun's standard streams when the step cannot connect. The default.
  direct,
  /// srun's standard input and output, forwarded by srun and slurmstepd (slower: they
  /// move data in small pieces), for clusters whose nodes cannot reach the program.
  standard_streams,
};

/// Settings of the Slurm start method.
struct slurm_options {
  /// Extra srun options, one per element: `{"--partition=gpu", "--gpus=1", "--time=10"}`.
  std::vector<std::string> srun_options;
  /// How steps share CPUs inside an allocation.
  slurm_steps steps = slurm_steps::automatic;
  /// The srun program to run.
  std::string srun_program = "srun";
  /// How calls and results travel (see `slurm_channel`).
  slurm_channel channel = slurm_channel::direct;
  /// The address the program listens on for its steps' direct connections (an IPv4 or
  /// IPv6 address, no host name); empty: this node's own address, found by resolving its
  /// host name (a non-loopback address where it has one). Never a wildcard unless set so.
  std::string listen_address = {};
};

namespace detail {

/// `limit` in whole milliseconds, rounded up. A limit longer than milliseconds can hold
/// (`hours::max()`, `duration<double>(1e300)`) becomes `milliseconds::max()`, which never
/// expires, instead of overflowing into a negative one; a negative limit (or NaN) becomes 0.
template <class Rep, class Period>
std::chrono::milliseconds saturating_milliseconds(std::chrono::duration<Rep, Period> limit) {
  using std::chrono::milliseconds;
  // long double holds any integer or floating duration's count, in milliseconds, without
  // overflow (a rounding error near the maximum only moves a limit of 292 million years).
  const std::chrono::duration<long double, std::milli> wide(limit);
  if (!(wide.count() > 0))
    return milliseconds(0);
  if (wide.count() >= static_cast<long double>(milliseconds::max().count()) - 1)
    return milliseconds::max();
  const auto whole = std::chrono::duration_cast<milliseconds>(wide);
  return whole < wide ? whole + milliseconds(1) : whole;
}

/// The steady-clock time `timeout` from now; a timeout too long to add never expires.
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
  const auto now = std::chrono::steady_clock::now();
  const auto left = saturating_milliseconds(timeout);
  if (left >= std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::time_point::max() - now))
    return std::chrono::steady_clock::time_point::max();
  return now + left;
}

} // namespace detail

/// Where one of a child's output streams (its standard output or standard error) goes.
class output_target {
public:
  enum class kind {
    inherit, ///< the parent's own stream (the default)
    discard, ///< nowhere (/dev/null, NUL)
    file,    ///< a file, opened by the parent when the child starts
    capture, ///< kept, and returned with the call's result and with its error
  };

  /// The parent's stream, as a child started from a shell would have it.
  static output_target inherit() { return output_target(kind::inherit, {}, true); }
  /// Throws the output away.
  static output_target discard() { return output_target(kind::discard, {}, true); }
  /// Writes to the file at `path`, created if missing; appended to, or emptied first when
  /// `append` is false. A relative path is resolved against the current directory at the
  /// call. A file that cannot be opened fails the call with `launch_error` naming it.
  static output_target file(std::filesystem::path path, bool append = true) {
    return output_target(kind::file, std::move(path), append);
  }
  /// Captures the output: `handle::output()` and every error's `output()` return it,
  /// bounded by `options::capture_limit`.
  static output_target capture() { return output_target(kind::capture, {}, true); }

  output_target() = default;
  kind what() const noexcept { return what_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  bool append() const noexcept { return append_; }
  /// For the library's own checks (lib/settings.cpp): the file's path, made absolute.
  void set_path(std::filesystem::path path) { path_ = std::move(path); }

private:
  output_target(kind what, std::filesystem::path path, bool append)
      : what_(what), path_(std::move(path)), append_(append) {}
  kind what_ = kind::inherit;
  std::filesystem::path path_;
  bool append_ = true;
};

/// Options of one call, set on a decorator: `proc(f, opts)` or `proc(f).timeout(5s)`.
struct options {
  /// Kill the child and throw `timeout_error` when the call runs longer than this,
  /// counted from the call. `milliseconds::max()` never expires.
  std::optional<std::chrono::milliseconds> timeout;
  /// Variables added to (or replacing those of) the parent's environment in the child.
  std::vector<std::pair<std::string, std::string>> environment;
  /// Working directory of the child; empty means the parent's.
  std::filesystem::path working_directory;
  /// Most memory the child may use, in bytes (0: no limit). On POSIX an address-space
  /// limit (setrlimit RLIMIT_AS), on Windows a Job Object limit. A child that runs out
  /// fails with `memory_limit_exceeded` (or `child_crashed` if it dies of it).
  std::size_t memory_limit = 0;
  /// How the child is started; unset: the program-wide method (`set_start_method`).
  std::optional<mpdecor::start_method> start;
  /// Slurm settings; unset: the program-wide ones (`set_slurm_options`).
  std::optional<slurm_options> slurm;
  /// Where the child's standard output goes: the parent's (the default), nowhere, a file,
  /// or captured. For a pool, where its workers' output goes; a captured one is returned
  /// with the task that wrote it.
  output_target standard_output;
  /// Where the child's standard error goes; as `standard_output`.
  output_target standard_error;
  /// The most bytes of each captured stream that a call returns (1 MiB by default; at
  /// least 64). The child is never slowed or blocked by what it writes: a captured stream
  /// goes to an unlinked temporary file, read when the call ends.
  std::size_t capture_limit = std::size_t{1} << 20;
};

/// Sets the start method of calls that do not choose one. The environment variable
/// MPDECOR_START_METHOD (spawn, fork-server or slurm), read by `init`, sets it too, so a
/// program moves to a cluster without being rebuilt.
MPDECOR_DECL void set_start_method(start_method method);
/// The program-wide start method.
MPDECOR_DECL start_method default_start_method();
/// Sets the Slurm settings of calls that do not choose their own. `init` reads
/// MPDECOR_SRUN_OPTIONS (srun options separated by spaces) and MPDECOR_SLURM_STEPS
/// (automatic, overlap or exact).
MPDECOR_DECL void set_slurm_options(slurm_options settings);
/// The program-wide Slurm settings.
MPDECOR_DECL slurm_options default_slurm_options();

/// Whether children record their stack traces for `error::stack_trace()` (on by default;
/// Linux with glibc, and Windows with MinGW-w64's GCC runtime). A child that records pays a stack
/// walk at each throw (about a microsecond for a shallow stack; see docs/performance.md) and keeps
/// its last few throws' return addresses. Applies to children started afterwards, pools' new
/// workers included.
MPDECOR_DECL void set_stack_traces(bool record);
/// Whether children record their stack traces.
MPDECOR_DECL bool stack_traces();

/// What happens to children still running when the program exits normally.
enum class at_exit_policy {
  wait, ///< wait for them, as Python waits for its non-daemon processes (the default)
  kill, ///< kill running children and cancel queued calls
};

/// Limits how many children run at once; later calls queue. 0 means no limit.
/// The default is the number of hardware threads.
MPDECOR_DECL void set_max_running(std::size_t limit);
/// The current limit on children running at once (0: none).
MPDECOR_DECL std::size_t max_running();
/// Chooses what happens to running children at normal program exit.
MPDECOR_DECL void set_at_exit(at_exit_policy policy);

/// Blocks until every call started so far, queued ones included, has finished.
MPDECOR_DECL void wait_all();
/// Number of children running now.
MPDECOR_DECL std::size_t running_count();
/// Number of calls waiting for a free slot.
MPDECOR_DECL std::size_t queued_count();

} // namespace mpdecor

#endif
