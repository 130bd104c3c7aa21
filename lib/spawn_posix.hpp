// SPDX-License-Identifier: BSL-1.0
// mpdecor: the POSIX launch helpers that the start methods share (lib/spawn_posix.cpp,
// lib/launch_posix.cpp), and the start methods other than a plain spawn
// (lib/launch_forked_posix.cpp, lib/slurm_posix.cpp).
#ifndef MPDECOR_LIB_SPAWN_POSIX_HPP
#define MPDECOR_LIB_SPAWN_POSIX_HPP

#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "launch.hpp"
#include "os.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace mpdecor::detail {

/// The descriptor number a spawned child finds its channel at.
inline constexpr int channel_descriptor = 3;

/// What a spawned child executes: this process's own executable file, even once the file at
/// its path has been replaced or removed (a rebuild, an upgrade), through /proc/self/exe
/// where the system has it, so that parent and children always run the same code; the
/// path elsewhere.
const std::string& executable_to_run();

/// The argv of a spawned child: this executable, then `flag name --mp-channel 3,3`.
std::vector<std::string> spawned_arguments(const char* flag, const std::string& name);

/// What `spawn` starts.
struct spawn_request {
  std::string program;                          ///< path of the executable
  std::vector<std::string> arguments;           ///< argv, argv[0] included
  std::vector<std::string> environment;         ///< NAME=value entries
  std::vector<std::pair<int, int>> descriptors; ///< (ours, number in the child)
  std::filesystem::path directory;              ///< empty: this process's
  bool search_path = false;                     ///< look `program` up in PATH
  /// One of mpdecor's own children: it leads a process group of its own, which its whole
  /// process tree shares and the parent ends with it. Otherwise (srun) a plain child.
  bool contained = true;
};

/// Ends a contained child's whole process tree: its process group, and the child itself
/// should it have left the group. Only while the child is unreaped, so that its pid, and
/// so its group's id, cannot have been reused. Nothing for a pid of 0 or less.
void end_tree(pid_t pid) noexcept;

/// Starts a process with posix_spawn; every descriptor but the listed ones and the standard three
/// is closed in it. Returns its pid, or -1 with `error` set.
pid_t spawn(const spawn_request& request, std::error_code& error);

/// A fresh socket pair: one end becomes `channel`, the other is returned in `child_end`
/// (close-on-exec; spawn hands it on). False with `error` and `what` set on failure.
bool make_channel(channel_ends& channel, os::unique_fd& child_end, std::error_code& error,
                  std::string& what);

/// This process's environment as it is now, mpdecor's own variables left out, with the
/// call's settings ("NAME=VALUE" each; a setting replaces the variable of its name).
std::vector<std::string> inherited_environment(const options& settings);

/// This process's environment with the call's settings, the launch key, and (when
/// `watch_parent`) this process's pid, for the child to die with it.
std::vector<std::string> child_environment(const options& settings, const std::string& key,
                                           bool watch_parent);

#if defined(MPDECOR_FORK_SERVER)
/// Forks the call's child from the fork server (started on first use).
std::unique_ptr<child_process> launch_forked(const launch_request& launch, launch_failure& failed);
#endif

/// Starts the call's child as a Slurm job step through srun.
std::unique_ptr<child_process> launch_slurm_step(const launch_request& launch,
                                                 launch_failure& failed);

} // namespace mpdecor::detail

#endif
#endif
