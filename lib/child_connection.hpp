// SPDX-License-Identifier: BSL-1.0
// mpdecor: one child as the parent's event loop sees it. Calls (lib/supervisor.cpp) and
// pool workers (lib/pool_scheduler.cpp) are two drivers of this one connection.
#ifndef MPDECOR_LIB_CHILD_CONNECTION_HPP
#define MPDECOR_LIB_CHILD_CONNECTION_HPP

#include "failure.hpp"
#include "frame_reader.hpp"
#include "launch.hpp"
#include "shared_memory.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace mpdecor::detail {

/// Everything seen of a child once its connection has ended.
struct child_report {
  exit_status how;              ///< how the process ended
  std::string read_problem;     ///< what was wrong with what it sent, or where it stopped
  bool damaged = false;         ///< it sent something that is not a valid frame: killed
  std::string out_of_memory;    ///< this process could not hold a frame: the child was killed
  std::uint64_t frame_size = 0; ///< the size of that frame
  int reported_signal = 0;      ///< the crash signal the child said it got (POSIX), or 0
  std::string crash_trace;      ///< the stack where it crashed, encoded, if it sent one
  /// It said how it ended (a crash_signal frame: a crash, or a worker's exit inside a chunk,
  /// number 0), after sending the replies it held back.
  bool end_reported = false;
};

/// What a connection tells its driver: always on the event loop's thread, never from
/// inside a call the driver made.
struct child_events {
  /// The child exists; pid() is known.
  std::function<void()> started;
  /// The child could not be started: the error and what was being done.
  std::function<void(std::error_code, std::string)> not_started;
  /// A complete frame; return true to read the next one, false to read no more.
  std::function<bool(incoming_frame)> frame;
  /// Once, after the child has exited and its channel has been read to the end (or no more
  /// frames were wanted).
  std::function<void(child_report)> ended;
};

/// One child process and its channel. It launches the child with a fresh launch key (the
/// hello frame goes first), writes frames to it in order, reads its frames, and reports
/// once when the child has both exited and been read to the end. A frame read in full
/// before the exit stands, whatever the exit. After the exit everything the child wrote is
/// in the channel: it is read until nothing is left unread, so a grandchild that holds the
/// channel neither delays the end nor gets to write into it. No handler throws.
class child_connection : public std::enable_shared_from_this<child_connection> {
public:
  /// Launches `--mp-child function` (or a worker) with `settings`. Returns nullptr, with
  /// `error` and `what` set, when the launch failed at once; otherwise `events.started` or
  /// `events.not_started` follows.
  static std::shared_ptr<child_connection>
  launch(boost::asio::io_context& io, const std::string& function, const options& settings,
         launch_mode mode, child_events events, std::error_code& error, std::string& what);

  /// Queues `frame` for the child. With `shared`, the segment's descriptor goes alone
  /// right after the frame's header (wire.hpp). A write that fails is dropped: a child that
  /// cannot take its frames is dead or dying, and its exit says why.
  void send(std::shared_ptr<const std::string> frame,
            std::shared_ptr<const segment> shared = nullptr);

  /// Kills the child at once; nothing before it has started or once it has exited.
  void kill() noexcept;

  /// Asks the child to end (SIGTERM to its process group; on Windows it is killed at once)
  /// and kills it if it is still running `grace` later. Nothing before it has started or
  /// once it has exited; a second request keeps the first one's deadline.
  void terminate(std::chrono::steady_clock::duration grace);

  /// Marks what the child sent as damaged (`problem`) and kills it: it cannot be trusted
  /// any more. Only from a frame handler that finds a frame it cannot use.
  void reject(std::string problem) noexcept;

  /// Closes the channel, a worker's signal to exit once idle; a child still running
  /// `grace` later is killed.
  void close(std::chrono::steady_clock::duration grace);

  /// Gives up a child that has not started yet: its launcher kills it if it starts after
  /// all, and no event follows.
  void abandon() noexcept;

  /// What the child wrote to its captured streams since the last take (a pool's worker:
  /// up to the mark it sent before its latest result). Empty when nothing is captured.
  captured_output take_output() noexcept;

  pid_type pid() const noexcept { return pid_; }
  bool started() const noexcept { return started_; }
  bool exited() const noexcept { return exited_; }

  child_connection(boost::asio::io_context& io, child_events events);

private:
  struct outgoing {
    std::shared_ptr<const std::string> frame;
    std::shared_ptr<const segment> shared;
  };

  void on_started(std::error_code error, std::string what);
  void on_channel_ready();
  void read_next();
  void on_frame(incoming_frame frame);
  // One frame, alone or out of a batch: an output mark is kept, anything else goes to the
  // events. False when no more is to be read.
  bool take(incoming_frame frame);
  void on_exit(exit_status how);
  void stop_reading_when_drained(std::chrono::steady_clock::time_point give_up);
  void write_next();
  void write_rest(const outgoing& item);
  void finish_read();
  void check_done();

  boost::asio::io_context& io_;
  child_events events_;
  std::unique_ptr<channel_ends> channel_;
  std::unique_ptr<child_process> process_;
  child_output output_;                       // where its standard output and error go
  std::optional<output_mark> mark_;           // a worker's latest mark, not yet taken
  boost::asio::steady_timer timer_;           // a closed worker's grace, then the drain after exit
  boost::asio::steady_timer terminate_timer_; // terminate()'s grace
  bool terminating_ = false;
  std::deque<outgoing> outgoing_;
  child_report report_;
  pid_type pid_ = 0;
  bool started_ = false;
  bool abandoned_ = false;
  bool writing_ = false;
  bool channel_ready_ = true; ///< see child_process::channel_ready
  bool closed_ = false;
  bool exited_ = false;
  bool read_done_ = false;
  bool reported_ = false;
};

/// The failure of `function`, run by child `pid`, when the child ended as `report` says
/// without a result to show for it: a result too large for this process to hold, a
/// damaged frame (the message starts with `damaged`, which names what sent it), or else
/// the child's end, told by `lead` (what the driver knows of it, may be empty), the read
/// problem and the launcher's notes. When the exit status was lost (the program's own
/// SIGCHLD handling took it), the signal the child reported stands in for it.
failure failure_of_ended_child(const std::string& function, pid_type pid,
                               const child_report& report, const std::string& damaged,
                               const std::string& lead);

} // namespace mpdecor::detail

#endif
