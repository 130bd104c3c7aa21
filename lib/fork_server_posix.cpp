// mpdecor: the fork-server start method (Linux).
//
// The server is an ordinary child (started like any other, with a launch key) that runs
// nothing of the program but its start-up and init(), and then forks one child per call.
// A fork of that small, clean process is a fresh process for the call, at a fraction of
// the cost of starting the executable again.
//
// Control channel (a socket pair between the parent and the server), one message each:
// 8-byte length, then a payload in the wire archive. The parent asks "fork" (followed by
// the call's channel end, passed with send_fd) and "kill"; the server answers "started" (pid or
// errno) and "ended" (the wait status, once the server has reaped the child). The server
// reaps its children, so it is also the one that kills them: a pid it has reaped is never
// signalled, whatever reused it.
//
// Written with blocking reads and poll: the server must stay single-threaded (it forks),
// and the parent's side runs on its own reader thread, shared by the supervisor and pools.
#include "config.hpp"

#if defined(__linux__)

#include "channel.hpp"
#include "launch.hpp"
#include "os.hpp"
#include "shared_memory.hpp"
#include "spawn_posix.hpp"
#include "worker.hpp"

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/init.hpp>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <poll.h>
#include <set>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

// The glibc dynamic linker's switch for binding every symbol at start-up.
constexpr const char* bind_now_variable = "LD_BIND_NOW";

enum class message_kind : std::uint8_t { fork = 1, kill = 2, started = 3, ended = 4 };

/// One message on the control channel.
struct control_message {
  message_kind kind{};
  std::uint64_t id = 0;        // fork, started: which request
  std::int64_t pid = 0;        // started, ended, kill
  std::int32_t value = 0;      // started: errno (0: fine); ended: wait status
  std::string function;        // fork
  std::uint8_t worker = 0;     // fork: 1 for a pool's worker
  std::string key;             // fork: the child's launch key
  std::string directory;       // fork: working directory
  std::vector<std::pair<std::string, std::string>> environment; // fork: variables to set
  std::uint64_t memory_limit = 0; // fork
};

// Sends one message; a fork request's channel end `fd` follows it alone, as a segment's
// descriptor follows its frame header (see wire.hpp). Throws std::system_error.
void send_message(int socket, const control_message& message, int fd = -1) {
  std::string bytes(8, '\0');
  {
    output_archive archive(bytes);
    archive(static_cast<std::uint8_t>(message.kind), message.id, message.pid, message.value,
            message.function, message.worker, message.key, message.directory);
    archive(static_cast<std::uint64_t>(message.environment.size()));
    for (const auto& [name, value] : message.environment)
      archive(name, value);
    archive(message.memory_limit);
  }
  const std::uint64_t length = bytes.size() - 8;
  std::memcpy(bytes.data(), &length, 8);
  write_all(socket, bytes);
  if (fd != -1)
    send_fd(socket, fd);
}

// Reads exactly `size` bytes. False when the other end closed before the first byte.
// Throws std::system_error.
bool receive_exact(int socket, char* data, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const std::size_t done = read_some(socket, data + got, size - got);
    if (done == 0) {
      if (got == 0)
        return false;
      throw std::system_error(std::make_error_code(std::errc::connection_reset),
                              "fork server channel closed within a message");
    }
    got += done;
  }
  return true;
}

// Reads one message, and with `fd` the channel end that follows a fork request; false when
// the channel closed between messages.
bool receive_message(int socket, control_message& message, int* fd = nullptr) {
  std::uint64_t length = 0;
  if (!receive_exact(socket, reinterpret_cast<char*>(&length), 8))
    return false;
  if (length > (std::uint64_t{1} << 24))
    throw decode_failure("fork server message of " + std::to_string(length) + " bytes");
  std::string payload(static_cast<std::size_t>(length), '\0');
  if (!payload.empty() && !receive_exact(socket, payload.data(), payload.size()))
    throw decode_failure("fork server message ended early");
  input_archive archive(payload);
  std::uint8_t kind = 0;
  archive(kind);
  message.kind = static_cast<message_kind>(kind);
  archive(message.id, message.pid, message.value, message.function,
          message.worker, message.key, message.directory);
  std::uint64_t count = 0;
  archive(count);
  archive.check_length(count);
  message.environment.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::pair<std::string, std::string> entry;
    archive(entry.first, entry.second);
    message.environment.push_back(std::move(entry));
  }
  archive(message.memory_limit);
  if (fd != nullptr && message.kind == message_kind::fork)
    *fd = receive_fd(socket);
  return true;
}

// --- the server ------------------------------------------------------------------------

[[noreturn]] void server_stop(int code, const std::string& message) {
  std::fprintf(stderr, "mpdecor fork server: %s\n", message.c_str());
  std::_Exit(code);
}

// In the fork: becomes the call's child. Never returns.
[[noreturn]] void become_child(int control, int signals, const sigset_t& original_mask,
                               pid_t server, const std::string& server_directory,
                               control_message& request, int channel_fd) {
  ::close(control);
  ::close(signals);
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  // Dies with the server, which dies with the parent (its channel closes).
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0)
    mark_dies_with_parent();
  if (::getppid() != server)
    std::_Exit(exit_parent_gone);
  for (const auto& [name, value] : request.environment)
    ::setenv(name.c_str(), value.c_str(), 1);
  if (!request.directory.empty() && request.directory != server_directory &&
      ::chdir(request.directory.c_str()) != 0) {
    std::fprintf(stderr, "mpdecor: cannot enter %s: %s\n", request.directory.c_str(),
                 std::strerror(errno));
    std::_Exit(exit_not_started_by_mpdecor);
  }
  if (request.memory_limit != 0) {
    const rlimit limit{static_cast<rlim_t>(request.memory_limit),
                       static_cast<rlim_t>(request.memory_limit)};
    ::setrlimit(RLIMIT_AS, &limit);
  }
  child_channel channel;
  channel.in = channel_fd;
  channel.out = channel_fd;
  if (request.worker != 0)
    serve_worker(channel, request.key);
  serve_child(channel, request.function, request.key);
}

} // namespace

void run_fork_server(int argc, char** argv) {
  ::unsetenv(bind_now_variable);
  prepare_child_process();
  child_channel channel;
  if (argc != 5 || std::strcmp(argv[3], "--mp-channel") != 0 ||
      !open_child_channel(argv[4], channel))
    server_stop(exit_not_started_by_mpdecor,
                "started with --mp-fork-server but not by mpdecor; it forks nothing");
  const std::string key = take_environment_variable(launch_key_variable);
  if (key.size() != launch_key_size * 2)
    server_stop(exit_not_started_by_mpdecor,
                "started with --mp-fork-server but has no launch key; it forks nothing");
  const int control = static_cast<int>(channel.in);
  // The first message must carry the key, as a hello does for any child.
  {
    control_message hello;
    if (!receive_message(control, hello) || hello.kind != message_kind::fork ||
        hello.id != 0 || !keys_match(hello.key, key))
      server_stop(exit_not_started_by_mpdecor,
                  "the requests do not come from the process that started this server");
  }

  sigset_t children;
  sigset_t original;
  sigemptyset(&children);
  sigaddset(&children, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &children, &original);
  const int signals = ::signalfd(-1, &children, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signals == -1)
    server_stop(exit_not_started_by_mpdecor, std::string("signalfd: ") + std::strerror(errno));
  const pid_t self = ::getpid();
  std::set<pid_t> alive;
  std::error_code ignored;
  const std::string directory_now = std::filesystem::current_path(ignored).string();

  auto reap = [&] {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0)
        return;
      alive.erase(pid);
      control_message ended;
      ended.kind = message_kind::ended;
      ended.pid = pid;
      ended.value = status;
      send_message(control, ended);
    }
  };

  try {
    for (;;) {
      pollfd watched[2] = {{control, POLLIN, 0}, {signals, POLLIN, 0}};
      if (::poll(watched, 2, -1) < 0) {
        if (errno == EINTR)
          continue;
        break;
      }
      if (watched[1].revents != 0) {
        signalfd_siginfo info;
        while (::read(signals, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        }
        reap();
      }
      if (watched[0].revents == 0)
        continue;
      control_message request;
      int fd = -1;
      if (!receive_message(control, request, &fd))
        break; // the parent is gone, or done
      if (request.kind == message_kind::kill) {
        if (alive.count(static_cast<pid_t>(request.pid)) != 0)
          ::kill(static_cast<pid_t>(request.pid), SIGKILL);
        continue;
      }
      control_message started;
      started.kind = message_kind::started;
      started.id = request.id;
      // The directory is checked here, so that one the child could not enter is a failed
      // launch, as with the other start methods, not a child that exits at once.
      int unusable = 0;
      struct stat directory {};
      if (!request.directory.empty()) {
        if (::stat(request.directory.c_str(), &directory) != 0)
          unusable = errno;
        else if (!S_ISDIR(directory.st_mode))
          unusable = ENOTDIR;
      }
      if (request.kind != message_kind::fork || fd == -1) {
        started.value = EINVAL;
      } else if (unusable != 0) {
        started.value = unusable;
      } else {
        const pid_t pid = ::fork();
        if (pid == 0)
          become_child(control, signals, original, self, directory_now, request, fd);
        if (pid < 0)
          started.value = errno;
        else
          alive.insert(pid);
        started.pid = pid;
      }
      if (fd != -1)
        ::close(fd);
      send_message(control, started);
    }
  } catch (const std::system_error& e) {
    // A closed channel means the parent is gone, which needs no message.
    if (e.code() != std::errc::broken_pipe && e.code() != std::errc::connection_reset)
      std::fprintf(stderr, "mpdecor fork server: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpdecor fork server: %s\n", e.what());
  }
  // The parent is gone: so are the calls.
  for (pid_t pid : alive)
    ::kill(pid, SIGKILL);
  std::_Exit(0);
}

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
                          {own_executable().string(), "--mp-fork-server", "-", "--mp-channel",
                           std::to_string(channel_descriptor) + "," +
                               std::to_string(channel_descriptor)},
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
    control_message hello;
    hello.kind = message_kind::fork;
    hello.key = key;
    try {
      send_message(ends[0], hello);
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

std::unique_ptr<child_process> launch_forked(boost::asio::io_context& io,
                                             const std::string& function,
                                             const options& settings,
                                             const std::string& launch_key,
                                             channel_ends& channel, std::error_code& error,
                                             std::string& what, launch_mode mode) {
  int child_end = -1;
  if (!make_channel(channel, child_end, error, what))
    return nullptr;
  const std::uint64_t request = fork_server::instance().request_fork(
      function, mode, launch_key, settings, child_end, error, what);
  ::close(child_end);
  if (request == 0) {
    channel.close();
    return nullptr;
  }
  return std::make_unique<forked_child>(request, io.get_executor(), settings.working_directory);
}

} // namespace mpdecor::detail

#endif
