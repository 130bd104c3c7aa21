// SPDX-License-Identifier: BSL-1.0
// mpdecor: where a child's standard output and standard error go (options::standard_output,
// options::standard_error). The parent opens what each goes to (the null device, a file, or
// a spool for a captured stream) before the launch, and the launcher makes it the child's
// own stream: a posix_spawn action, descriptors passed to the fork server, srun's own
// streams for a Slurm step (srun forwards the step's output to them), STARTUPINFO on
// Windows.
//
// A captured stream goes to a spool: an unlinked temporary file that the parent reads when
// the call ends (or, for a pool's worker, when a task's result arrives). A pipe would make
// the parent read all the time, and a child writing faster than that would block; a file
// never blocks the child, costs the parent nothing while the call runs, survives any crash
// of the child, and lets the parent read only the beginning and the end of a long output,
// which is all it keeps.
#ifndef MPDECOR_LIB_OUTPUT_HPP
#define MPDECOR_LIB_OUTPUT_HPP

#include "config.hpp"

#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace mpdecor::detail {

/// A handle the child gets as one of its standard streams: a descriptor on POSIX, a HANDLE
/// on Windows (inheritable; the launcher lists it in the child's inherited handles).
#if defined(MPDECOR_POSIX)
using output_handle = int;
inline constexpr output_handle no_output_handle = -1;
#else
using output_handle = void*;
inline const output_handle no_output_handle = nullptr;
#endif

/// The sizes a pool's worker reports its captured streams to have reached when a task
/// ends, sent just before the task's result (frame_kind::output_mark): what lies before
/// them is that task's output, whatever the worker writes for the next task meanwhile.
struct output_mark {
  std::uint64_t out = 0;
  std::uint64_t err = 0;
};

/// The environment variable that tells a pool's worker to mark its captured streams.
inline constexpr const char* output_marks_variable = "MPDECOR_OUTPUT_MARKS";

/// Where one child's standard output and standard error go, from the parent's side.
class child_output {
public:
  child_output();
  ~child_output();
  child_output(const child_output&) = delete;
  child_output& operator=(const child_output&) = delete;

  /// Opens what `settings` asks for. False, with `error` and `what` set, when something
  /// cannot be opened (a file in a missing folder, a temporary directory that is full).
  bool open(const options& settings, std::error_code& error, std::string& what);

  /// The child's standard output (`which` 1) or standard error (2), or `no_output_handle`
  /// when it inherits the parent's.
  output_handle child_stream(int which) const noexcept;

  /// True when the child's standard output or standard error is captured.
  bool captures() const noexcept;

  /// Closes the parent's copies of the child's streams, once the child has its own.
  void close_child_ends() noexcept;

  /// What the child wrote to its captured streams since the last take: up to `mark` where
  /// one came, to the end otherwise. Each stream is cut to the capture limit, keeping its
  /// beginning and its end. Never throws: what cannot be read is said in the text.
  captured_output take(const std::optional<output_mark>& mark) noexcept;

private:
  struct stream;
  std::unique_ptr<stream> out_;
  std::unique_ptr<stream> err_;
  bool same_file_ = false; // both streams go to one opened file
  std::size_t limit_ = 0;
};

/// Flushes the C and C++ standard streams and returns the sizes of this process's standard
/// output and standard error where they are files (0 otherwise): a worker's mark.
output_mark current_output_mark() noexcept;

} // namespace mpdecor::detail

#endif
