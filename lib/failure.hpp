// SPDX-License-Identifier: BSL-1.0
// mpdecor: the error of a call, as plain data.
//
// The supervisor's thread records what went wrong; the thread that asks for the result
// builds the exception and throws it. Exception objects thus never cross threads: their
// reference counts live in the uninstrumented C++ runtime, where ThreadSanitizer cannot see
// that one thread's release happens after another's use.
#ifndef MPDECOR_LIB_FAILURE_HPP
#define MPDECOR_LIB_FAILURE_HPP

#include <mpdecor/errors.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <system_error>

namespace mpdecor::detail {

struct failure {
  enum class kind {
    none,
    remote,
    memory_limit,
    crashed,
    launch,
    timeout,
    not_registered,
    protocol,
    cancelled,
    result_too_large
  };
  kind what = kind::none;
  std::string function;
  pid_type pid = 0;
  std::string type;    ///< remote: the exception's type
  std::string message; ///< remote: its what(); crashed: detail; launch: what was being
                       ///< done; not_registered, protocol, cancelled: the whole message;
                       ///< result_too_large: what could not be allocated
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::error_code code;
  std::chrono::milliseconds timeout{0};
  std::size_t memory_limit = 0;
  std::uint64_t size = 0; ///< result_too_large: the result's size
  captured_output output; ///< what the child wrote to its captured streams
  std::string trace;      ///< remote, crashed: the child's stack trace, encoded (stack_trace.hpp)

  explicit operator bool() const noexcept { return what != kind::none; }

  /// The call to `function` was cancelled before it started; `message` says when.
  static failure cancellation(std::string function, std::string message);
  /// The child for `function` could not be started: `code`, while doing `doing`.
  static failure launch_failed(std::string function, std::error_code code, std::string doing);
  /// The call to `function` ran past `limit`.
  static failure timed_out(std::string function, pid_type pid, std::chrono::milliseconds limit);
  /// Throws the error this describes, as its own type.
  [[noreturn]] void raise() const;
  /// The error as an exception_ptr, or nullptr when there is none.
  std::exception_ptr as_exception_ptr() const;
};

/// The operating system's error behind an exception thrown while starting a child (a
/// std::system_error, or Asio's boost::system::system_error); ENOMEM for bad_alloc, EAGAIN
/// for anything else (lib/errors.cpp).
std::error_code error_code_of(const std::exception& e) noexcept;

} // namespace mpdecor::detail

#endif
