// SPDX-License-Identifier: BSL-1.0
// mpdecor: the error types' constructors.
#include "config.hpp"
#include "failure.hpp"
#include "launch.hpp"

#include <mpdecor/errors.hpp>

#include <boost/system/system_error.hpp>

#include <new>

namespace mpdecor {
namespace {

std::string child_of(const std::string& function, pid_type pid) {
  return "'" + function + "' (pid " + std::to_string(pid) + ")";
}

std::string remote_message(const std::string& function, pid_type pid, const std::string& type,
                           const std::string& message) {
  std::string text = "mpdecor: " + child_of(function, pid) + " threw " + type;
  if (!message.empty())
    text += ": " + message;
  return text;
}

std::string crash_message(const std::string& function, pid_type pid, std::optional<int> exit_code,
                          std::optional<int> signal, const std::string& detail) {
  std::string text = "mpdecor: " + child_of(function, pid);
  if (signal)
    text += " was killed by " + detail::describe_signal(*signal);
  else if (exit_code)
    text += " exited with code " + std::to_string(*exit_code);
  else
    text += " ended";
  text += " before it sent a result";
  if (!detail.empty())
    text += " (" + detail + ")";
  return text;
}

} // namespace

remote_error::remote_error(const std::string& function, pid_type pid, std::string type,
                           std::string message)
    : error(remote_message(function, pid, type, message), function, pid), type_(std::move(type)),
      message_(std::move(message)) {}

memory_limit_exceeded::memory_limit_exceeded(const std::string& function, pid_type pid,
                                             std::size_t limit)
    : remote_error(function, pid, "std::bad_alloc",
                   "out of memory under its limit of " + std::to_string(limit) + " bytes"),
      limit_(limit) {}

child_crashed::child_crashed(const std::string& function, pid_type pid,
                             std::optional<int> exit_code, std::optional<int> signal,
                             std::string detail)
    : error(crash_message(function, pid, exit_code, signal, detail), function, pid),
      exit_code_(exit_code), signal_(signal) {}

std::string child_crashed::signal_name() const {
  return signal_ ? detail::describe_signal(*signal_) : std::string();
}

launch_error::launch_error(const std::string& function, std::error_code code,
                           const std::string& what)
    : error("mpdecor: could not start a child for '" + function + "' (" + what +
                "): " + code.message(),
            function, 0),
      code_(code) {}

timeout_error::timeout_error(const std::string& function, pid_type pid,
                             std::chrono::milliseconds timeout)
    : error("mpdecor: " + child_of(function, pid) + " did not finish within " +
                std::to_string(timeout.count()) + " ms and was killed",
            function, pid),
      timeout_(timeout) {}

result_too_large::result_too_large(const std::string& function, pid_type pid, std::uint64_t size,
                                   const std::string& what)
    : error("mpdecor: the result of " + child_of(function, pid) + " (" + std::to_string(size) +
                " bytes) could not be received: this process ran out of memory (" + what +
                "); the child was killed",
            function, pid),
      size_(size) {}

} // namespace mpdecor

namespace mpdecor::detail {

namespace {

// Throws `e` with what the child left besides the error: its captured output and its
// stack trace.
template <class Error>
[[noreturn]] void raise_with_details(Error e, const failure& from) {
  if (!from.output.empty())
    e.set_output(from.output);
  if (!from.trace.empty())
    e.set_encoded_stack_trace(from.trace);
  throw e;
}

} // namespace

void failure::raise() const {
  switch (what) {
  case kind::remote:
    raise_with_details(remote_error(function, pid, type, message), *this);
  case kind::memory_limit:
    raise_with_details(memory_limit_exceeded(function, pid, memory_limit), *this);
  case kind::crashed:
    raise_with_details(child_crashed(function, pid, exit_code, signal, message), *this);
  case kind::launch:
    raise_with_details(launch_error(function, code, message), *this);
  case kind::timeout:
    raise_with_details(timeout_error(function, pid, timeout), *this);
  case kind::not_registered:
    raise_with_details(not_registered(message, function, pid), *this);
  case kind::protocol:
    raise_with_details(protocol_error(message, function, pid), *this);
  case kind::cancelled:
    raise_with_details(cancelled(message, function, pid), *this);
  case kind::result_too_large:
    raise_with_details(result_too_large(function, pid, size, message), *this);
  case kind::none:
    break;
  }
  raise_with_details(error("mpdecor: internal error: no failure to raise", function, pid), *this);
}

failure failure::cancellation(std::string function, std::string message) {
  failure result;
  result.what = kind::cancelled;
  result.function = std::move(function);
  result.message = std::move(message);
  return result;
}

failure failure::launch_failed(std::string function, std::error_code code, std::string doing) {
  failure result;
  result.what = kind::launch;
  result.function = std::move(function);
  result.code = code;
  result.message = std::move(doing);
  return result;
}

failure failure::timed_out(std::string function, pid_type pid, std::chrono::milliseconds limit) {
  failure result;
  result.what = kind::timeout;
  result.function = std::move(function);
  result.pid = pid;
  result.timeout = limit;
  return result;
}

std::error_code error_code_of(const std::exception& e) noexcept {
  if (const auto* system = dynamic_cast<const std::system_error*>(&e))
    return system->code();
  if (const auto* asio = dynamic_cast<const boost::system::system_error*>(&e))
    return asio->code(); // Asio's reactor, made on first use
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr)
    return std::make_error_code(std::errc::not_enough_memory);
  return std::make_error_code(std::errc::resource_unavailable_try_again);
}

std::exception_ptr failure::as_exception_ptr() const {
  if (what == kind::none)
    return nullptr;
  try {
    raise();
  } catch (...) {
    return std::current_exception();
  }
}

} // namespace mpdecor::detail
