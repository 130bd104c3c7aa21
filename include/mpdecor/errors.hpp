// SPDX-License-Identifier: BSL-1.0
// mpdecor: errors a call can end with.
//
// Every failure of a call reaches the caller as one of these types, thrown from
// `handle::get()` or from a `proc_wait` call. All derive from `mpdecor::error`, which
// carries the registered name of the function and the pid of its child (0 when no
// child was started).
#ifndef MPDECOR_ERRORS_HPP
#define MPDECOR_ERRORS_HPP

#include <mpdecor/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace mpdecor {

/// Process id of a child, wide enough for every platform.
using pid_type = std::int64_t;

/// What a call's child wrote to the streams it was asked to capture
/// (`output_target::capture()`); empty for a stream not captured. Each holds at most
/// `options::capture_limit` bytes of what was written: past that, its beginning and its
/// end, with a line in between that says how many bytes were left out.
struct captured_output {
  std::string out; ///< standard output
  std::string err; ///< standard error
  bool empty() const noexcept { return out.empty() && err.empty(); }
};

/// Base of every error mpdecor reports.
class MPDECOR_DECL error : public std::runtime_error {
public:
  error(const std::string& message, std::string function, pid_type pid)
      : std::runtime_error(message), function_(std::move(function)), pid_(pid) {}

  /// Registered name of the function the call was for (may be empty for set-up errors).
  const std::string& function() const noexcept { return function_; }
  /// Pid of the child that ran the call, or 0 if none was started.
  pid_type pid() const noexcept { return pid_; }
  /// What the child wrote to its captured streams before the call failed (see
  /// `output_target::capture()`); empty when nothing was captured.
  const captured_output& output() const noexcept { return output_; }
  /// Attaches captured output to the error (mpdecor does, before throwing it).
  void set_output(captured_output output) { output_ = std::move(output); }
  /// The child's stack, one frame per line from the innermost ("#0 function at
  /// file:line", or "#0 function in module" where no line is known): where the function
  /// threw, for a `remote_error`, or where the child crashed, for a `child_crashed` (a
  /// crash signal on Linux; abort() or an unhandled exception on Windows). Empty where
  /// none was recorded: on other systems, for other errors, or with
  /// `set_stack_traces(false)`.
  /// Frames are named when this is called, from this program's own copy of the code.
  std::string stack_trace() const;
  /// Attaches a child's stack trace as it came from the child (mpdecor does).
  void set_encoded_stack_trace(std::string trace) { trace_ = std::move(trace); }

private:
  std::string function_;
  pid_type pid_;
  captured_output output_;
  std::string trace_;
};

/// The function threw in the child; its exception's type and message travel back.
class MPDECOR_DECL remote_error : public error {
public:
  remote_error(const std::string& function, pid_type pid, std::string type, std::string message);

  /// Demangled type of the exception thrown in the child (e.g. "std::runtime_error", "int").
  const std::string& type() const noexcept { return type_; }
  /// The exception's `what()` (empty when it was not a `std::exception`).
  const std::string& message() const noexcept { return message_; }

private:
  std::string type_;
  std::string message_;
};

/// The child ran out of memory under its `memory_limit` (it threw std::bad_alloc).
class MPDECOR_DECL memory_limit_exceeded : public remote_error {
public:
  memory_limit_exceeded(const std::string& function, pid_type pid, std::size_t limit);
  /// The limit the child ran into, in bytes.
  std::size_t limit() const noexcept { return limit_; }

private:
  std::size_t limit_;
};

/// The child ended without sending a result: killed by a signal, aborted, or exited.
class MPDECOR_DECL child_crashed : public error {
public:
  child_crashed(const std::string& function, pid_type pid, std::optional<int> exit_code,
                std::optional<int> signal, std::string detail);

  /// Exit code, when the child exited by itself.
  std::optional<int> exit_code() const noexcept { return exit_code_; }
  /// Signal number (POSIX) or NTSTATUS code (Windows) when the child was killed or crashed.
  std::optional<int> signal() const noexcept { return signal_; }
  /// Readable name of the signal or crash code, e.g. "SIGSEGV"; empty for a plain exit.
  std::string signal_name() const;

private:
  std::optional<int> exit_code_;
  std::optional<int> signal_;
};

/// The child could not be started (the executable could not be run, no resources...).
class MPDECOR_DECL launch_error : public error {
public:
  launch_error(const std::string& function, std::error_code code, const std::string& what);
  /// The operating system's error.
  std::error_code code() const noexcept { return code_; }

private:
  std::error_code code_;
};

/// The call ran longer than its timeout; the child was killed.
class MPDECOR_DECL timeout_error : public error {
public:
  timeout_error(const std::string& function, pid_type pid, std::chrono::milliseconds timeout);
  /// With a message of its own (a whole map's timeout).
  timeout_error(const std::string& message, const std::string& function,
                std::chrono::milliseconds timeout)
      : error(message, function, 0), timeout_(timeout) {}
  /// The timeout that expired.
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
  std::chrono::milliseconds timeout_;
};

/// The function is not registered: in the parent (decorating an unregistered function)
/// or in the child (a call by a name the child does not know).
class MPDECOR_DECL not_registered : public error {
public:
  using error::error;
};

/// A message between parent and child could not be decoded: arguments that do not
/// match the function's parameters, or a damaged result.
class MPDECOR_DECL protocol_error : public error {
public:
  using error::error;
};

/// The parent ran out of memory while receiving the result (the child was not at fault;
/// it is killed). Return large data through shared memory, or in parts.
class MPDECOR_DECL result_too_large : public error {
public:
  result_too_large(const std::string& function, pid_type pid, std::uint64_t size,
                   const std::string& what);
  /// The size of the result, in bytes, as the child announced it.
  std::uint64_t size() const noexcept { return size_; }

private:
  std::uint64_t size_;
};

/// The call was cancelled before its child started (`handle::kill()` on a queued call, or
/// the program exiting with `at_exit::kill`).
class MPDECOR_DECL cancelled : public error {
public:
  using error::error;
};

/// Waiting gave up before the call finished (`handle::get(timeout)`); the call runs on.
/// Not the call's own timeout, which kills the child (`timeout_error`).
class MPDECOR_DECL wait_timeout : public error {
public:
  using error::error;
};

/// Two registrations share a name, or mpdecor is used before `mpdecor::init`.
class MPDECOR_DECL usage_error : public error {
public:
  explicit usage_error(const std::string& message) : error(message, {}, 0) {}
};

} // namespace mpdecor

#endif
