// What the tests observe of real processes: the output of whole programs, the children of
// this process, its open descriptors.
#ifndef MPDECOR_TEST_HELPERS_HPP
#define MPDECOR_TEST_HELPERS_HPP

#include <string>
#include <vector>

namespace helpers {

struct program_result {
  int exit_code = -1; ///< the program's exit code; -1 if it did not exit normally
  std::string output; ///< stdout and stderr together
};

/// Runs a command line through the shell and collects its output.
program_result run(const std::string& command);

/// Full path of a helper program built from test/programs/<name>/.
std::string program(const std::string& name);

/// Path of the running test executable.
std::string self();

/// Pids of the processes whose parent is this process, zombies included (from /proc).
std::vector<long> children();

/// Pids of this process's children that are zombies.
std::vector<long> zombie_children();

/// Number of open file descriptors of this process (from /proc/self/fd).
int open_descriptors();

/// True if a process with this pid exists (a zombie counts).
bool process_exists(long pid);

} // namespace helpers

#endif
