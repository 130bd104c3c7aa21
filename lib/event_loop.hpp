// SPDX-License-Identifier: BSL-1.0
// mpdecor: a thread of mpdecor's own running an Asio event loop: the supervisor's (calls)
// and each pool's. Every child is started, watched and ended from such a thread.
#ifndef MPDECOR_LIB_EVENT_LOOP_HPP
#define MPDECOR_LIB_EVENT_LOOP_HPP

#include "config.hpp"

#include <mpdecor/errors.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <string>
#include <thread>
#include <utility>

namespace mpdecor::detail {

class event_loop {
public:
  /// Makes the loop and starts its thread. Throws std::system_error when the descriptor or
  /// thread limit leaves no room for them.
  event_loop();
  /// Stops the loop (see `stop`).
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  boost::asio::io_context& io() noexcept { return io_; }

  /// Runs `handler` on the loop's thread.
  template <class Handler>
  void post(Handler&& handler) {
    boost::asio::post(io_, std::forward<Handler>(handler));
  }

  /// Stops the loop once its handlers have run and joins its thread. From the loop's own
  /// thread (an exit from one of its handlers) the thread is left to end by itself; in a
  /// process forked without exec, whose copy of the thread never ran, nothing is done.
  /// Once stopped, a loop stays stopped.
  void stop() noexcept;

  /// True on the loop's own thread.
  bool on_loop_thread() const noexcept { return thread_.get_id() == std::this_thread::get_id(); }

  /// True in a process forked without exec from the one that made the loop: the loop's
  /// thread did not survive the fork, and the children it watches are not this process's.
  bool forked() const noexcept { return process_v2::current_pid() != owner_; }

private:
  const pid_type owner_ = process_v2::current_pid();
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread thread_;
};

/// Runs `io` until it is stopped. Every handler of mpdecor's handles its own failures;
/// should anything still escape one (a bug), it is reported on stderr and the loop goes
/// on, rather than ending the program through std::terminate.
void run_event_loop(boost::asio::io_context& io) noexcept;

/// The message of the usage_error that a call or a pool gets in a process forked without
/// exec after mpdecor was used: "mpdecor: " + what + why.
std::string forked_message(const std::string& what);

} // namespace mpdecor::detail

#endif
