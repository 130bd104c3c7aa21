// SPDX-License-Identifier: BSL-1.0
// mpdecor: the handle `proc` returns.
#ifndef MPDECOR_HANDLE_HPP
#define MPDECOR_HANDLE_HPP

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/options.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace mpdecor {

/// A call running (or queued) in a child process: what `proc` returns, and what a pool's
/// `submit` returns (as `pool_handle`, the same type).
///
/// Handles are cheap to copy; all copies refer to the same call. A handle may be dropped at
/// any time: the child keeps running and mpdecor still reaps it (a pool task still runs).
template <class Result>
class handle {
public:
  handle() = default;
  explicit handle(std::shared_ptr<detail::task_state> state) : state_(std::move(state)) {}

  /// Waits until the call has finished, however it ended. Never throws the call's error.
  void wait() const { detail::wait(*state_); }

  /// Waits at most `timeout`; true when the call has finished. A timeout of a century or
  /// more (`hours::max()`) waits as long as it takes.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    // In milliseconds first: a long duration cast straight to nanoseconds would overflow.
    const auto limit = detail::saturating_milliseconds(timeout);
    if (limit >= std::chrono::hours(24 * 365 * 100)) {
      wait();
      return true;
    }
    return detail::wait_for(*state_, limit);
  }

  /// Waits until `deadline`; true when the call has finished.
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> deadline) const {
    const auto left = deadline - Clock::now();
    return wait_for(left < decltype(left)::zero() ? decltype(left)::zero() : left);
  }

  /// Waits, then returns the function's result or throws the call's error
  /// (`remote_error`, `child_crashed`, `timeout_error`, `launch_error`, ...).
  /// May be called more than once; each call decodes the result again.
  Result get() const {
    const std::string_view payload = detail::result(*state_);
    if constexpr (!std::is_void_v<Result>) {
      Result value{};
      try {
        detail::input_archive archive(payload, detail::result_segment(*state_));
        archive(value);
      } catch (const std::exception& e) {
        throw protocol_error("mpdecor: the result of '" + function() +
                                 "' could not be decoded: " + e.what(),
                             function(), detail::last_pid(*state_));
      }
      return value;
    }
  }

  /// `get()`, waiting at most `timeout`: throws `wait_timeout` if the call has not finished
  /// by then (it runs on, and can be waited for again), as Python's `Future.result(timeout)`.
  template <class Rep, class Period>
  Result get(std::chrono::duration<Rep, Period> timeout) const {
    if (!wait_for(timeout))
      throw wait_timeout("mpdecor: '" + function() +
                             "' had not finished when get() stopped waiting",
                         function(), detail::last_pid(*state_));
    return get();
  }

  /// Waits, then returns the call's error without throwing it, or nullptr when the function
  /// returned (Python's `Future.exception()`). A result that cannot be decoded shows in
  /// `get()` alone.
  std::exception_ptr exception() const { return detail::error_of(*state_); }

  /// Waits, then returns what the child wrote to the streams the call captures
  /// (`output_target::capture()`), whether the call returned or failed; its error carries
  /// the same in `error::output()`. A pool task's is what its worker wrote while running it.
  captured_output output() const { return detail::output_of(*state_); }

  /// True once the call has finished as `cancelled`: withdrawn before its child started.
  /// A call killed while running is not cancelled; it fails with `child_crashed`.
  bool cancelled() const { return detail::was_cancelled(*state_); }

  /// Calls `callback(handle)` once the call has finished, however it ended: at once, on
  /// this thread, if it has; otherwise on the mpdecor thread that finishes it, so it must
  /// be quick and must not wait for other calls. What it throws is reported through the
  /// log handler (stderr by default) and otherwise ignored, as Python's
  /// `Future.add_done_callback` does.
  template <class Callback>
  void on_finished(Callback callback) const {
    detail::when_finished(*state_, [copy = *this, callback = std::move(callback)]() mutable {
      detail::run_callback(*copy.state_, [&] { callback(std::as_const(copy)); });
    });
  }

  /// Kills the child (the call then fails with `child_crashed`; a pool replaces its
  /// worker), or cancels the call if it has not started yet (it then fails with
  /// `cancelled`). Does nothing once finished.
  void kill() const { detail::kill(*state_); }
  /// Same as `kill`, named as Python's `Future.cancel`.
  void cancel() const { detail::kill(*state_); }

  /// Asks the child to end, then kills it if it still runs `grace` later: SIGTERM to the
  /// child's process group on POSIX (a Slurm step's srun passes it on to the step), so that
  /// a function can clean up; on Windows the child is killed at once (its job is ended).
  /// A child that dies of it fails the call with `child_crashed` (signal SIGTERM); one that
  /// returns its result within the grace period succeeds. A call that has not started yet
  /// is cancelled, as with `kill`. On a pool task, the pool replaces its worker.
  template <class Rep, class Period>
  void terminate(std::chrono::duration<Rep, Period> grace) const {
    detail::terminate(*state_, detail::saturating_milliseconds(grace));
  }
  /// `terminate` with a grace period of 10 seconds (as `docker stop` gives).
  void terminate() const { terminate(std::chrono::seconds(10)); }

  /// The child's pid (a pool task: its worker's); waits until the child has been started.
  /// Throws `launch_error` if it could not be, and `cancelled` if the call was cancelled
  /// before it started.
  pid_type pid() const { return detail::pid(*state_); }

  /// True while the child is running (false while queued and once finished).
  bool running() const { return detail::running(*state_); }

  /// True once the call has finished (result, error, crash or cancellation).
  bool finished() const { return detail::finished(*state_); }

  /// Registered name of the function.
  const std::string& function() const { return detail::function_name(*state_); }

  /// False for a default-constructed handle.
  explicit operator bool() const noexcept { return static_cast<bool>(state_); }

  /// The shared state, for mpdecor's own extensions (async_call, pool::map).
  const std::shared_ptr<detail::task_state>& state() const noexcept { return state_; }

private:
  std::shared_ptr<detail::task_state> state_;
};

} // namespace mpdecor

#endif
