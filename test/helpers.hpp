// SPDX-License-Identifier: BSL-1.0
// What the tests observe of real processes: the output of whole programs, the children of
// this process, its open descriptors.
#ifndef MPDECOR_TEST_HELPERS_HPP
#define MPDECOR_TEST_HELPERS_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace helpers {

/// The most intervals [start, end] (steady-clock nanoseconds, as `fixtures::timed_sleep`
/// returns them) that overlap at one moment.
inline std::size_t
max_overlap(const std::vector<std::pair<std::int64_t, std::int64_t>>& intervals) {
  std::vector<std::pair<std::int64_t, int>> events;
  for (const auto& [start, end] : intervals) {
    events.emplace_back(start, +1);
    events.emplace_back(end, -1);
  }
  std::sort(events.begin(), events.end()); // an end sorts before a start at the same time
  std::size_t now = 0;
  std::size_t most = 0;
  for (const auto& event : events) {
    now += static_cast<std::size_t>(event.second);
    most = std::max(most, now);
  }
  return most;
}

struct program_result {
  int exit_code = -1; ///< the program's exit code; -1 if it did not exit normally
  std::string output; ///< stdout and stderr together
};

/// Runs a command line through the shell (cmd.exe on Windows) and collects its output.
program_result run(const std::string& command);

/// Full path of a helper program built from test/programs/<name>/.
std::string program(const std::string& name);

/// Path of the running test executable.
std::string self();

/// Pids of the processes whose parent is this process, zombies included (from /proc; on
/// Windows from a Toolhelp32 snapshot), except mpdecor's fork server, which lives as long
/// as the program once started.
std::vector<long> children();

#if defined(__linux__)
/// Pids of this process's running fork servers (at most one).
std::vector<long> fork_servers();

/// True once `pid` has ended: gone, or a zombie waiting for whoever adopted it.
bool has_ended(long pid);

/// A program started through the shell that prints "parent PID", then one "LABEL PID"
/// line per child it started, then "ready" (test/programs/parent, pool_parent).
struct parent_program {
  std::FILE* output = nullptr; ///< its standard output; close with pclose
  long parent = 0;
  std::vector<long> children;
};
/// Starts `command` and reads what it prints up to "ready".
parent_program start_parent_program(const std::string& command, const std::string& label);

/// Kills `program` with `signal` and reports, for each child, whether it ended before
/// `limit` had passed.
std::vector<std::pair<long, bool>> kill_parent(parent_program& program, int signal,
                                               std::chrono::milliseconds limit);
#endif

/// Pids of this process's children that are zombies (none on Windows, which has no
/// zombies: an ended process leaves only the handles still open to it, which
/// open_descriptors() counts).
std::vector<long> zombie_children();

/// Number of open file descriptors of this process (from /proc/self/fd; on Windows the
/// number of open handles).
int open_descriptors();

/// True if a process with this pid exists (a zombie counts; on Windows, while it runs).
bool process_exists(long pid);

/// True when this Windows program runs under Wine, which lacks a few Windows features.
bool under_wine();

} // namespace helpers

#endif
