// mpdecor: per-call options and program-wide settings.
#ifndef MPDECOR_OPTIONS_HPP
#define MPDECOR_OPTIONS_HPP

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mpdecor {

/// Options of one call, set on a decorator: `proc(f, opts)` or `proc(f).timeout(5s)`.
struct options {
  /// Kill the child and throw `timeout_error` when the call runs longer than this.
  std::optional<std::chrono::milliseconds> timeout;
  /// Variables added to (or replacing those of) the parent's environment in the child.
  std::vector<std::pair<std::string, std::string>> environment;
  /// Working directory of the child; empty means the parent's.
  std::filesystem::path working_directory;
  /// Most memory the child may use, in bytes (0: no limit). On POSIX an address-space
  /// limit (setrlimit RLIMIT_AS), on Windows a Job Object limit. A child that runs out
  /// fails with `memory_limit_exceeded` (or `child_crashed` if it dies of it).
  std::size_t memory_limit = 0;
};

/// What happens to children still running when the program exits normally.
enum class at_exit_policy {
  wait, ///< wait for them, as Python waits for its non-daemon processes (the default)
  kill, ///< kill running children and cancel queued calls
};

/// Limits how many children run at once; later calls queue. 0 means no limit.
/// The default is the number of hardware threads.
void set_max_running(std::size_t limit);
/// The current limit on children running at once (0: none).
std::size_t max_running();
/// Chooses what happens to running children at normal program exit.
void set_at_exit(at_exit_policy policy);

/// Blocks until every call started so far, queued ones included, has finished.
void wait_all();
/// Number of children running now.
std::size_t running_count();
/// Number of calls waiting for a free slot.
std::size_t queued_count();

} // namespace mpdecor

#endif
