// mpdecor: the fork-server start method (Linux).
//
// The server is an ordinary child (started like any other, with a launch key) that runs
// nothing of the program but its start-up and init(), and then forks one child per call.
// A fork of that small, clean process is a fresh process for the call, at a fraction of
// the cost of starting the executable again.
//
// This file is the parent's side: its connection to the server, whose reader thread (one,
// shared by the supervisor and the pools) dispatches the server's answers to the event
// loops that wait for them. The control channel is described in lib/fork_server.hpp, the
// server in lib/fork_server_main_posix.cpp.
#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "fork_server.hpp"
#include "channel.hpp"
#include "launch.hpp"
#include "os.hpp"
#include "shared_memory.hpp"
#include "spawn_posix.hpp"

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/wire.hpp>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mpdecor::detail {

namespace {

// --- the parent's side -----------------------------------------------------------------

/// The parent's connection to its fork server, started on first use and again after the
/// server has died. Launches may come from any thread (the supervisor's, pools').
class fork_server {
public:
  static fork_server& instance() {
    static fork_server* const the = new fork_server; // its reader runs until the very end
    return *the;
  }

  /// Asks for a child whose channel end is `child_end`, without waiting for it: the call
  /// can be written to the channel while the server forks. Returns the request's number
  /// for `wait_started`, or 0 with `error` and `what` set.
  std::uint64_t request_fork(const std::string& function, launch_mode mode,
                             const std::string& key, const options& settings, int child_end,
                             std::error_code& error, std::string& what) {
    std::unique_lock lock(mutex_);
    if (control_ == -1 && !start(lock, error, what))
      return 0;
    control_message request;
    request.kind = message_kind::fork;
    request.id = ++next_id_;
    request.function = function;
    request.worker = mode == launch_mode::worker ? 1 : 0;
    request.key = key;
    std::error_code ignored;
    request.directory = settings.working_directory.empty()
                            ? std::filesystem::current_path(ignored).string()
                            : settings.working_directory.string();
    request.environment = settings.environment;
    if (const auto threshold = sharing_threshold(settings);
        threshold != 0 && mode == launch_mode::call)
      request.environment.emplace_back(sharing_threshold_variable, std::to_string(threshold));
    request.memory_limit = settings.memory_limit;
    try {
      send_message(control_, request, child_end);
    } catch (const std::system_error& e) {
      error = e.code();
      what = "asking the fork server for a child";
      return 0;
    }
    pending_[request.id] = generation_;
    return request.id;
  }

  /// Calls `done` through `executor` with the server's answer to request `id`: the child's
  /// pid, or -1 with the error (connection_aborted: the server ended first). Never waits:
  /// a stopped server delays only the calls that wait for it.
  void when_started(std::uint64_t id, boost::asio::any_io_executor executor,
                    std::function<void(pid_t, std::error_code)> done) {
    std::lock_guard lock(mutex_);
    if (pending_.count(id) == 0) {
      boost::asio::post(executor, [done = std::move(done)] {
        done(-1, std::make_error_code(std::errc::invalid_argument));
      });
      return;
    }
    const auto found = started_.find(id);
    if (found != started_.end()) { // answered already
      const auto [pid, code] = found->second;
      started_.erase(found);
      pending_.erase(id);
      post_started(executor, std::move(done), pid, code);
      return;
    }
    waiting_[id] = {std::move(executor), std::move(done)};
  }

  /// Kills child `pid`, whose start was answered to a caller that is gone.
  void discard(pid_t pid) {
    std::lock_guard lock(mutex_);
    kill_abandoned(pid);
  }

  /// Forgets request `id`, whose caller no longer wants it (its call timed out or was
  /// cancelled before the server answered): the child it starts is killed, and its end
  /// reported to no one.
  void abandon(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    waiting_.erase(id);
    if (pending_.erase(id) == 0)
      return;
    const auto found = started_.find(id);
    if (found == started_.end()) {
      abandoned_.insert(id);
      return;
    }
    const auto pid = static_cast<pid_t>(found->second.first);
    started_.erase(found);
    if (pid > 0)
      kill_abandoned(pid);
  }

  /// Calls `ended` through `executor` once the server reports the child's end.
  void watch(pid_t pid, boost::asio::any_io_executor executor,
             std::function<void(exit_status)> ended) {
    std::lock_guard lock(mutex_);
    const auto early = ended_.find(pid);
    if (early != ended_.end()) {
      const int status = early->second;
      ended_.erase(early);
      boost::asio::post(executor, [ended = std::move(ended), status] {
        ended(decode_exit_status(status));
      });
      return;
    }
    watchers_[pid] = {std::move(executor), std::move(ended)};
  }

  void kill(pid_t pid) {
    std::lock_guard lock(mutex_);
    send_kill(pid);
  }

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
                           int code) {
    boost::asio::post(executor, [done = std::move(done), pid, code] {
      if (pid > 0)
        done(static_cast<pid_t>(pid), {});
      else
        done(-1, std::error_code(code, std::system_category()));
    });
  }

  // With `mutex_` held.
  void kill_abandoned(pid_t pid) {
    if (ended_.erase(pid) != 0)
      return; // ended already (and reaped by the server): the pid may be another's by now
    ignored_.insert(pid);
    send_kill(pid);
  }

  // With `mutex_` held.
  void send_kill(pid_t pid) {
    if (control_ == -1)
      return;
    control_message request;
    request.kind = message_kind::kill;
    request.pid = pid;
    try {
      send_message(control_, request);
    } catch (const std::system_error&) {
      // The server is gone, and its children with it; the reader reports their end.
    }
  }

  bool start(std::unique_lock<std::mutex>&, std::error_code& error, std::string& what) {
    int ends[2];
    if (os::socket_pair(ends) != 0) {
      error.assign(errno, std::system_category());
      what = "creating the fork server's channel";
      return false;
    }
    const std::string key = new_launch_key();
    // Not told to die with the launching thread, which may be a pool's that ends before
    // the program does: the server ends when its channel closes, at the latest when this
    // process ends.
    spawn_request request{own_executable().string(),
                          spawned_arguments(fork_server_flag, "-"),
                          child_environment(options{}, key, false),
                          {{ends[1], channel_descriptor}},
                          {}};
    // The dynamic linker resolves every symbol when the server starts, once, instead of
    // lazily in each fork, which would resolve again each function the server itself
    // never called (measured: a third of a fork-server call). The server removes the
    // variable at once, so that nothing the calls start inherits it.
    request.environment.push_back(std::string(bind_now_variable) + "=1");
    const pid_t pid = spawn(request, error);
    ::close(ends[1]);
    if (pid <= 0) {
      ::close(ends[0]);
      what = "starting the fork server " + own_executable().string();
      return false;
    }
    try {
      write_frame(ends[0], hello_frame(key)); // the hello that opens every channel
    } catch (const std::system_error& e) {
      ::close(ends[0]);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      error = e.code();
      what = "starting the fork server";
      return false;
    }
    // The reader must run before the server is used: nothing else would reap it.
    error = os::start_thread([this, control = ends[0], pid] { read(control, pid); });
    if (error) {
      ::close(ends[0]);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
      }
      what = "starting the fork server's reader thread";
      return false;
    }
    control_ = ends[0];
    server_ = pid;
    return true;
  }

  // The reader thread of one server: dispatches its answers until it ends.
  void read(int control, pid_t server) {
    try {
      control_message message;
      while (receive_message(control, message)) {
        std::lock_guard lock(mutex_);
        if (message.kind == message_kind::started) {
          const auto waiter = waiting_.find(message.id);
          if (abandoned_.erase(message.id) != 0) {
            if (message.pid > 0)
              kill_abandoned(static_cast<pid_t>(message.pid));
          } else if (waiter != waiting_.end()) {
            pending_.erase(message.id);
            post_started(waiter->second.executor, std::move(waiter->second.done), message.pid,
                         message.value);
            waiting_.erase(waiter);
          } else {
            started_[message.id] = {message.pid, message.value};
          }
        } else if (message.kind == message_kind::ended) {
          const auto pid = static_cast<pid_t>(message.pid);
          const auto found = watchers_.find(pid);
          if (ignored_.erase(pid) != 0) {
            // An abandoned child: no one waits for its end.
          } else if (found == watchers_.end()) {
            ended_[pid] = message.value;
          } else {
            auto entry = std::move(found->second);
            watchers_.erase(found);
            const int status = message.value;
            boost::asio::post(entry.executor, [ended = std::move(entry.ended), status] {
              ended(decode_exit_status(status));
            });
          }
        }
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mpdecor: the fork server's channel failed: %s\n", e.what());
    }
    // The server is gone, and its children with it (they die with it): every call still
    // watched has ended.
    ::kill(server, SIGKILL);
    while (::waitpid(server, nullptr, 0) == -1 && errno == EINTR) {
    }
    std::lock_guard lock(mutex_);
    ::close(control);
    control_ = -1;
    ++generation_;
    // Requests not answered yet never will be.
    for (auto& [id, waiter] : waiting_) {
      pending_.erase(id);
      post_started(waiter.executor, std::move(waiter.done), -1, ECONNABORTED);
    }
    waiting_.clear();
    for (auto it = pending_.begin(); it != pending_.end();)
      it = it->second != generation_ ? pending_.erase(it) : std::next(it);
    abandoned_.clear();
    ignored_.clear();
    for (auto& [pid, entry] : watchers_) {
      boost::asio::post(entry.executor, [ended = std::move(entry.ended)] {
        exit_status gone;
        gone.signal = SIGKILL;
        gone.notes = "the fork server ended";
        ended(gone);
      });
    }
    watchers_.clear();
    ended_.clear();
  }

  std::mutex mutex_;
  int control_ = -1;
  pid_t server_ = 0;
  int generation_ = 0;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::pair<std::int64_t, int>> started_;
  std::map<std::uint64_t, int> pending_; // requests not yet answered, with their server's generation
  std::map<pid_t, int> ended_;
  std::map<pid_t, watcher> watchers_;
  std::map<std::uint64_t, start_waiter> waiting_; // requests whose caller waits for the answer
  std::set<std::uint64_t> abandoned_;              // requests whose caller is gone
  std::set<pid_t> ignored_;                        // children of abandoned requests
};

class forked_child final : public child_process {
public:
  forked_child(std::uint64_t request, boost::asio::any_io_executor executor,
               std::filesystem::path directory)
      : request_(request), executor_(std::move(executor)), directory_(std::move(directory)) {}

  ~forked_child() override {
    if (pid_ <= 0 && !answered_)
      fork_server::instance().abandon(request_);
  }

  void async_started(std::function<void(std::error_code, std::string)> done) override {
    fork_server::instance().when_started(
        request_, executor_,
        [this, alive = std::weak_ptr<int>(alive_), done = std::move(done)](pid_t pid,
                                                                          std::error_code error) {
          if (alive.expired()) { // abandoned after the answer was posted
            if (pid > 0)
              fork_server::instance().discard(pid);
            return;
          }
          answered_ = true;
          if (pid > 0) {
            pid_ = pid;
            return done({}, {});
          }
          std::string what = error == std::errc::connection_aborted
                                 ? "forking from the fork server (it ended)"
                             : directory_.empty()
                                 ? "forking from the fork server"
                                 : "forking from the fork server into " + directory_.string();
          done(error, std::move(what));
        });
  }

  pid_type id() const noexcept override { return pid_ > 0 ? pid_ : 0; }

  void async_wait(std::function<void(exit_status)> ended) override {
    fork_server::instance().watch(pid_, executor_,
                                  [this, ended = std::move(ended)](exit_status how) {
                                    ended_ = true;
                                    ended(std::move(how));
                                  });
  }

  void kill() noexcept override {
    if (ended_ || pid_ <= 0)
      return;
    try {
      fork_server::instance().kill(pid_);
    } catch (...) {
      // Only memory could fail here; the call's timeout or end reports the rest.
    }
  }

private:
  std::uint64_t request_;
  pid_t pid_ = 0;
  boost::asio::any_io_executor executor_;
  std::filesystem::path directory_;
  bool ended_ = false;    // on the executor's thread only
  bool answered_ = false; // the server answered the request (executor's thread only)
  std::shared_ptr<int> alive_ = std::make_shared<int>(0); // expires with this object
};

} // namespace

std::unique_ptr<child_process> launch_forked(const launch_request& launch,
                                             launch_failure& failed) {
  int child_end = -1;
  if (!make_channel(launch.channel, child_end, failed.error, failed.what))
    return nullptr;
  const std::uint64_t request = fork_server::instance().request_fork(
      launch.function, launch.mode, launch.key, launch.settings, child_end, failed.error, failed.what);
  ::close(child_end);
  if (request == 0) {
    launch.channel.close();
    return nullptr;
  }
  return std::make_unique<forked_child>(request, launch.io.get_executor(), launch.settings.working_directory);
}

} // namespace mpdecor::detail

#endif
