// SPDX-License-Identifier: BSL-1.0
// mpdecor: what the supervisor asks of the platform (lib/launch_posix.cpp,
// lib/launch_windows.cpp): start a child with a private channel, kill it, and describe how
// it ended.
#ifndef MPDECOR_LIB_LAUNCH_HPP
#define MPDECOR_LIB_LAUNCH_HPP

#include "config.hpp"
#include "exit_status.hpp"
#include "launch_key.hpp"
#include "output.hpp"
#include "protocol.hpp"
#include "shared_memory.hpp"

#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#if defined(MPDECOR_POSIX)
#include <boost/asio/local/stream_protocol.hpp>
#else
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#endif

namespace mpdecor::detail {

/// The parent's end of a child's channel: the parent writes the call to `writer()` and
/// reads the result from `reader()`.
#if defined(MPDECOR_POSIX)
// One socket pair: writes to it never raise SIGPIPE in the parent (asio sends with
// MSG_NOSIGNAL), unlike a pipe whose reader has died.
struct channel_ends {
  explicit channel_ends(boost::asio::io_context& io) : stream(io) {}
  boost::asio::local::stream_protocol::socket stream;
  boost::asio::local::stream_protocol::socket& reader() { return stream; }
  boost::asio::local::stream_protocol::socket& writer() { return stream; }
  void close() {
    boost::system::error_code ignored;
    stream.close(ignored);
  }
  /// True while bytes wait in the channel, unread.
  bool has_unread() {
    boost::system::error_code ec;
    return stream.available(ec) > 0 && !ec;
  }
  /// Ends the pending read (with operation_aborted) without closing the channel.
  void cancel_read() {
    boost::system::error_code ignored;
    stream.cancel(ignored);
  }
  /// Calls `done(error_code)` once a descriptor can be sent (`send_descriptor`), or once
  /// one has come (`receive_descriptor`); see wire.hpp for where descriptors go.
  template <class Handler>
  void async_wait_to_send(Handler&& done) {
    stream.async_wait(boost::asio::socket_base::wait_write, std::forward<Handler>(done));
  }
  template <class Handler>
  void async_wait_to_receive(Handler&& done) {
    stream.async_wait(boost::asio::socket_base::wait_read, std::forward<Handler>(done));
  }
  void send_descriptors(const std::vector<int>& fds) { send_fds(stream.native_handle(), fds); }
  std::vector<int> receive_descriptors() {
    return receive_fds(stream.native_handle(), max_shared_arrays + 1);
  }
  /// Nothing: on POSIX the child's process group is ended with the child (lib/launch_posix.cpp).
  void end_tree() noexcept {}
};
#else
/// Closes a job object handle (lib/launch_windows.cpp).
struct job_closer {
  void operator()(void* job) const noexcept;
};

// Two pipes: Windows has no socket pair whose ends a child can use as plain handles.
struct channel_ends {
  explicit channel_ends(boost::asio::io_context& io) : in(io), out(io) {}
  boost::asio::readable_pipe in;
  boost::asio::writable_pipe out;
  /// The child's own job object, which holds its whole process tree. Closing it kills
  /// what remains of the tree, so it lives until the child has ended or is killed.
  std::unique_ptr<void, job_closer> job;
  /// Ends what remains of the child's process tree: closes its job.
  void end_tree() noexcept { job.reset(); }
  boost::asio::readable_pipe& reader() { return in; }
  boost::asio::writable_pipe& writer() { return out; }
  void close() {
    boost::system::error_code ignored;
    in.close(ignored);
    out.close(ignored);
  }
  /// True while bytes wait in the channel, unread (lib/launch_windows.cpp).
  bool has_unread();
  /// Ends the pending read (with operation_aborted) without closing the channel.
  void cancel_read() {
    boost::system::error_code ignored;
    in.cancel(ignored);
  }
  /// Pipes carry no descriptors: the waits end with operation_not_supported, and sending
  /// or receiving one throws std::system_error (no shared memory on this platform).
  template <class Handler>
  void async_wait_to_send(Handler&& done) {
    boost::asio::post(out.get_executor(), [done = std::forward<Handler>(done)]() mutable {
      done(boost::system::error_code(boost::asio::error::operation_not_supported));
    });
  }
  template <class Handler>
  void async_wait_to_receive(Handler&& done) {
    async_wait_to_send(std::forward<Handler>(done));
  }
  void send_descriptors(const std::vector<int>& fds) { send_fds(-1, fds); }
  std::vector<int> receive_descriptors() { return receive_fds(-1, max_shared_arrays + 1); }
};
#endif

/// What a launched child does: serve one call and exit, or serve calls until its channel
/// closes (a pool's worker).
enum class launch_mode { call, worker };

/// The first argument of a child, which `init` reads to choose what the child does.
inline const char* mode_argument(launch_mode mode) noexcept {
  return mode == launch_mode::worker ? worker_flag : call_flag;
}

/// A started child as the supervisor and the pools see it, whatever started it: a
/// process of our own, a fork of the fork server, or an srun.
class child_process {
public:
  virtual ~child_process() = default;
  /// Calls `done` once the child exists, with no error; or, when it could not be started,
  /// with the error and what was being done. A child only asked for (a fork server's)
  /// answers later, through the executor it was launched with; the others at once, on this
  /// thread. The call can be written to its channel meanwhile. Call once, before id(),
  /// async_wait() and kill(); destroying the child before `done` is called abandons it
  /// (a fork server then kills the child it starts).
  virtual void async_started(std::function<void(std::error_code, std::string)> done) {
    done({}, {});
  }
  /// False for a child whose channel is only made after it has started (a Slurm step that
  /// connects back): nothing may be written to or read from the channel until
  /// async_channel_ready says so.
  virtual bool channel_ready() const noexcept { return true; }
  /// Calls `ready` once the channel can be used, on the loop's thread (at once where it
  /// can be used from the launch); always, if only once the child has ended (the channel
  /// then reads nothing). Call after async_started has said the child started.
  virtual void async_channel_ready(std::function<void()> ready) { ready(); }
  /// The process id the caller sees (the srun's, for a Slurm step).
  virtual pid_type id() const noexcept = 0;
  /// Calls `ended` once, on the thread of the io_context the child was launched with, when
  /// the child has ended and been reaped. Called at most once per child.
  virtual void async_wait(std::function<void(exit_status)> ended) = 0;
  /// Kills the child at once; nothing once it has ended.
  virtual void kill() noexcept = 0;
  /// Asks the child to end: SIGTERM to its process group on POSIX (an srun passes it on to
  /// its step). Where there is no such request (Windows) it is killed at once. Nothing
  /// once it has ended.
  virtual void terminate() noexcept { kill(); }
};

/// Everything a launcher needs to start one child, resolved once per launch.
struct launch_request {
  boost::asio::io_context& io; ///< the event loop that watches the child
  const std::string& function; ///< the registered name (a pool worker: a label)
  const options& settings;     ///< the call's settings
  start_method method;         ///< the start method, resolved from `settings`
  const std::string& key;      ///< the child's launch key
  channel_ends& channel;       ///< the parent's end of the child's channel, to fill in
  launch_mode mode;            ///< one call, or a pool's worker
  const child_output& output;  ///< where the child's standard output and error go
};

/// Why a launch failed: the operating system's error and what was being done.
struct launch_failure {
  std::error_code error;
  std::string what;
};

/// Starts `--mp-child function` (or `--mp-worker label` for a pool's worker) from the
/// program's own executable with a fresh channel, handing it the launch key in its
/// environment (and nowhere else), by the request's start method. On failure returns
/// nothing and fills in `failed`. One launcher per start method and platform:
/// launch_posix.cpp (spawn, with spawn_posix.cpp), launch_forked_posix.cpp, slurm_posix.cpp,
/// launch_windows.cpp (with executable_windows.cpp).
std::unique_ptr<child_process> launch_child(const launch_request& launch, launch_failure& failed);

/// Checks the settings of a call to `function` (or of a pool's workers) on the caller's
/// thread, and fixes what depends on the caller's state at the call: a relative working
/// directory is made absolute against the current directory, for every start method
/// alike. Throws usage_error for an environment variable whose name is empty, holds '='
/// or a NUL, or is one of mpdecor's own (lib/protocol.hpp), or whose value holds a NUL
/// (lib/settings.cpp).
void prepare_settings(options& settings, const std::string& function);

/// The start method and Slurm settings a call with `settings` uses (lib/settings.cpp).
start_method effective_start_method(const options& settings);
slurm_options effective_slurm_options(const options& settings);

/// Reserves room for a reply of `length` bytes before it is read, up to 1 GiB: a buffer
/// that doubled as a large result arrives would touch, and copy, twice its memory. Beyond
/// that the buffer grows as the data arrives, so that a damaged length costs at most
/// address space (reserving touches no page); a reservation that fails is not an error.
void reserve_for_reply(std::string& buffer, std::uint64_t length) noexcept;

/// Sends SIGTERM to the process group led by `pid` (and to `pid` itself), the graceful end
/// `terminate()` asks for; POSIX only (lib/launch_posix.cpp). `pid` must not have been
/// reaped yet.
void ask_tree_to_end(pid_type pid) noexcept;

/// Kills the child at once without reaping it (its wait reaps it).
void kill_child(process_v2::process& child) noexcept;

/// A child that is a Boost.Process v2 process of this program's.
std::unique_ptr<child_process> own_child(process_v2::process process);

/// The executable of this program (found with Boost.DLL), computed once.
const std::filesystem::path& own_executable();

#if defined(MPDECOR_WINDOWS)
/// Where this program's own executable file is now (lib/executable_windows.cpp): the path
/// it started from, or, once an upgrade renamed the file away and put another at that
/// path, the file's new path, so that children run the program's own code. Empty, with
/// `error` set, when no path to the file can be found.
std::filesystem::path own_executable_now(std::error_code& error);
#endif

} // namespace mpdecor::detail

#endif
