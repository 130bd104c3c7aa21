// SPDX-License-Identifier: BSL-1.0
// mpdecor: the fork server, a child that forks one child per call (Linux). Its control
// channel; the parent's connection to it (lib/fork_server_posix.cpp); the server itself is
// lib/fork_server_main_posix.cpp, the start method that uses it lib/launch_forked_posix.cpp.
//
// First the hello that opens every channel (lib/protocol.hpp), then control messages: frames
// of kind `control` (wire.hpp), one each way at a time. The parent asks "fork" (followed by the
// call's channel end, passed with send_fd) and "kill"; the server answers "started" (pid or errno)
// and "ended" (the wait status, once the server has reaped the child). The server reaps its
// children, so it is also the one that kills them: a pid it has reaped is never signalled, whatever
// reused it.
#ifndef MPDECOR_LIB_FORK_SERVER_HPP
#define MPDECOR_LIB_FORK_SERVER_HPP

#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "launch.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <sys/types.h>
#include <system_error>
#include <utility>
#include <vector>

namespace mpdecor::detail {

// The glibc dynamic linker's switch for binding every symbol at start-up.
constexpr const char* bind_now_variable = "LD_BIND_NOW";

enum class message_kind : std::uint8_t {
  fork = 1,
  kill = 2,
  started = 3,
  ended = 4,
  terminate = 5
};

/// One of the caller's resource limits (getrlimit), as the fork request carries it.
struct resource_limit {
  std::int32_t resource = 0;
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

/// One message on the control channel.
struct control_message {
  message_kind kind{};
  std::uint64_t id = 0;    // fork, started: which request
  std::int64_t pid = 0;    // started, ended, kill
  std::int32_t value = 0;  // started: errno (0: fine); ended: wait status
  std::string function;    // fork
  std::uint8_t worker = 0; // fork: 1 for a pool's worker
  std::string key;         // fork: the child's launch key
  std::string directory;   // fork: working directory
  // fork: the child's whole environment ("NAME=VALUE" each), the caller's at the call with
  // the call's settings, as a spawned child's would be
  std::vector<std::string> environment;
  std::int32_t file_mask = -1; // fork: the caller's umask at the call; -1: unknown
  // fork: the caller's resource limits at the call, which the child takes
  std::vector<resource_limit> limits;
  std::uint64_t memory_limit = 0; // fork: RLIMIT_AS, after `limits`
  /// fork: which of the child's standard streams the parent sends after the channel end,
  /// each alone with its descriptor (send_fd), stdout first: bit 0 stdout, bit 1 stderr.
  std::uint8_t outputs = 0;
};

/// Sends one message; a fork request's channel end `fd` follows it alone, as a segment's
/// descriptor follows its frame header (see wire.hpp). Throws std::system_error.
void send_message(int socket, const control_message& message, int fd = -1);

/// Receives one message, and a fork request's descriptor into `fd` when asked. False when
/// the channel closed; throws std::system_error or decode_failure on a broken message.
bool receive_message(int socket, control_message& message, int* fd = nullptr);

// --- the parent's side (lib/fork_server_posix.cpp) ---------------------------------------

/// The parent's connection to its fork server, started on first use and again after the
/// server has died. Launches may come from any thread (the supervisor's, pools').
class fork_server {
public:
  static fork_server& instance() {
    static fork_server* const the = new fork_server; // its reader runs until the very end
    return *the;
  }

  /// Asks for a child whose channel end is `child_end` and whose standard streams go where
  /// `output` says, without waiting for it: the call
  /// can be written to the channel while the server forks. Returns the request's number
  /// for `when_started`, or 0 with `error` and `what` set.
  std::uint64_t request_fork(const std::string& function, launch_mode mode, const std::string& key,
                             const options& settings, int child_end, const child_output& output,
                             std::error_code& error, std::string& what);

  /// Calls `done` through `executor` with the server's answer to request `id`: the child's
  /// pid, or -1 with the error (connection_aborted: the server ended first). Never waits:
  /// a stopped server delays only the calls that wait for it.
  void when_started(std::uint64_t id, boost::asio::any_io_executor executor,
                    std::function<void(pid_t, std::error_code)> done);

  /// Kills child `pid`, whose start was answered to a caller that is gone.
  void discard(pid_t pid);

  /// Forgets request `id`, whose caller no longer wants it (its call timed out or was
  /// cancelled before the server answered): the child it starts is killed, and its end
  /// reported to no one.
  void abandon(std::uint64_t id);

  /// Calls `ended` through `executor` once the server reports the child's end.
  void watch(pid_t pid, boost::asio::any_io_executor executor,
             std::function<void(exit_status)> ended);

  /// Kills child `pid`, unless the server has reaped it already.
  void kill(pid_t pid);
  /// Asks the server to send SIGTERM to child `pid`'s process group (nothing once the
  /// server has reaped it).
  void terminate(pid_t pid);

private:
  struct watcher {
    boost::asio::any_io_executor executor;
    std::function<void(exit_status)> ended;
  };
  struct start_waiter {
    boost::asio::any_io_executor executor;
    std::function<void(pid_t, std::error_code)> done;
  };

  static void post_started(const boost::asio::any_io_executor& executor,
                           std::function<void(pid_t, std::error_code)> done, std::int64_t pid,
                           int code);

  // With `mutex_` held.
  void kill_abandoned(pid_t pid);

  // With `mutex_` held.
  void send_kill(pid_t pid, message_kind kind = message_kind::kill);

  bool start(std::unique_lock<std::mutex>&, std::error_code& error, std::string& what);

  // The reader thread of one server: dispatches its answers until it ends.
  void read(int control, pid_t server);

  std::mutex mutex_;
  int control_ = -1;
  pid_t server_ = 0;
  int generation_ = 0;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::pair<std::int64_t, int>> started_;
  // Requests not yet answered, with the generation of the server they went to.
  std::map<std::uint64_t, int> pending_;
  std::map<pid_t, int> ended_;
  std::map<pid_t, watcher> watchers_;
  std::map<std::uint64_t, start_waiter> waiting_; // requests whose caller waits for the answer
  std::set<std::uint64_t> abandoned_;             // requests whose caller is gone
  std::set<pid_t> ignored_;                       // children of abandoned requests
};

} // namespace mpdecor::detail

#endif
#endif
