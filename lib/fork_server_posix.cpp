// SPDX-License-Identifier: BSL-1.0
// mpdecor: the fork server, the parent's side (Linux).
//
// The server is an ordinary child (started like any other, with a launch key) that runs
// nothing of the program but its start-up and init(), and then forks one child per call.
// A fork of that small, clean process is a fresh process for the call, at a fraction of
// the cost of starting the executable again.
//
// This file is the parent's connection to the server, whose reader thread (one, shared by
// the supervisor and the pools) dispatches the server's answers to the event loops that
// wait for them. The control channel is described in lib/fork_server.hpp, the server in
// lib/fork_server_main_posix.cpp, the start method in lib/launch_forked_posix.cpp.
#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "fork_server.hpp"
#include "channel.hpp"
#include "launch.hpp"
#include "log.hpp"
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
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

// This process's file mode creation mask. umask() cannot read it without setting it, for
// every thread of the program at once, so it is read where Linux shows it (since 4.7).
std::int32_t current_file_mask() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Umask:", 0) == 0) {
      const long mask = std::strtol(line.c_str() + 6, nullptr, 8);
      return mask < 0 || mask > 0777 ? -1 : static_cast<std::int32_t>(mask);
    }
  return -1;
}

// This process's resource limits: a spawned child inherits them as they are at its start,
// and so does a fork server's child, from its request.
std::vector<resource_limit> current_limits() {
  static constexpr int resources[] = {
      RLIMIT_AS,      RLIMIT_CORE,     RLIMIT_CPU,        RLIMIT_DATA,   RLIMIT_FSIZE, RLIMIT_LOCKS,
      RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE,       RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_RSS,
      RLIMIT_RTPRIO,  RLIMIT_RTTIME,   RLIMIT_SIGPENDING, RLIMIT_STACK};
  std::vector<resource_limit> limits;
  limits.reserve(std::size(resources));
  for (const int resource : resources) {
    rlimit now{};
    if (::getrlimit(static_cast<decltype(RLIMIT_AS)>(resource), &now) == 0)
      limits.push_back({resource, now.rlim_cur, now.rlim_max});
  }
  return limits;
}

} // namespace

std::uint64_t fork_server::request_fork(const std::string& function, launch_mode mode,
                                        const std::string& key, const options& settings,
                                        int child_end, const child_output& output,
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
  // What a spawned child would get from this process now, rather than what the server got
  // when it started: the environment, the umask and the resource limits.
  request.environment = inherited_environment(settings);
  if (const auto threshold = sharing_threshold(settings))
    request.environment.push_back(std::string(sharing_threshold_variable) + "=" +
                                  std::to_string(*threshold));
  request.file_mask = current_file_mask();
  request.limits = current_limits();
  request.memory_limit = settings.memory_limit;
  const int streams[2] = {output.child_stream(1), output.child_stream(2)};
  for (int i = 0; i < 2; ++i)
    if (streams[i] != no_output_handle)
      request.outputs = static_cast<std::uint8_t>(request.outputs | (1U << i));
  try {
    send_message(control_, request, child_end);
    for (const int stream : streams)
      if (stream != no_output_handle)
        send_fd(control_, stream);
  } catch (const std::system_error& e) {
    error = e.code();
    what = "asking the fork server for a child";
    return 0;
  }
  pending_[request.id] = generation_;
  return request.id;
}

void fork_server::when_started(std::uint64_t id, boost::asio::any_io_executor executor,
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

void fork_server::discard(pid_t pid) {
  std::lock_guard lock(mutex_);
  kill_abandoned(pid);
}

void fork_server::abandon(std::uint64_t id) {
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

void fork_server::watch(pid_t pid, boost::asio::any_io_executor executor,
                        std::function<void(exit_status)> ended) {
  std::lock_guard lock(mutex_);
  const auto early = ended_.find(pid);
  if (early != ended_.end()) {
    const int status = early->second;
    ended_.erase(early);
    boost::asio::post(executor,
                      [ended = std::move(ended), status] { ended(decode_exit_status(status)); });
    return;
  }
  watchers_[pid] = {std::move(executor), std::move(ended)};
}

void fork_server::kill(pid_t pid) {
  std::lock_guard lock(mutex_);
  send_kill(pid);
}

void fork_server::terminate(pid_t pid) {
  std::lock_guard lock(mutex_);
  send_kill(pid, message_kind::terminate);
}

void fork_server::post_started(const boost::asio::any_io_executor& executor,
                               std::function<void(pid_t, std::error_code)> done, std::int64_t pid,
                               int code) {
  boost::asio::post(executor, [done = std::move(done), pid, code] {
    if (pid > 0)
      done(static_cast<pid_t>(pid), {});
    else
      done(-1, std::error_code(code, std::system_category()));
  });
}

void fork_server::kill_abandoned(pid_t pid) {
  if (ended_.erase(pid) != 0)
    return; // ended already (and reaped by the server): the pid may be another's by now
  ignored_.insert(pid);
  send_kill(pid);
}

void fork_server::send_kill(pid_t pid, message_kind kind) {
  if (control_ == -1)
    return;
  control_message request;
  request.kind = kind;
  request.pid = pid;
  try {
    send_message(control_, request);
  } catch (const std::system_error&) {
    // The server is gone, and its children with it; the reader reports their end.
  }
}

bool fork_server::start(std::unique_lock<std::mutex>&, std::error_code& error, std::string& what) {
  int ends[2];
  if (os::socket_pair(ends) != 0) {
    error.assign(errno, std::system_category());
    what = "creating the fork server's channel";
    return false;
  }
  os::unique_fd control(ends[0]);
  os::unique_fd server_end(ends[1]);
  const std::string key = new_launch_key();
  // Not told to die with the launching thread, which may be a pool's that ends before
  // the program does: the server ends when its channel closes, at the latest when this
  // process ends.
  spawn_request request{executable_to_run(),
                        spawned_arguments(fork_server_flag, "-"),
                        child_environment(options{}, key, false),
                        {{server_end.get(), channel_descriptor}},
                        {}};
  // The dynamic linker resolves every symbol when the server starts, once, instead of
  // lazily in each fork, which would resolve again each function the server itself
  // never called (measured: a third of a fork-server call). The server removes the
  // variable at once, so that nothing the calls start inherits it.
  request.environment.push_back(std::string(bind_now_variable) + "=1");
  const pid_t pid = spawn(request, error);
  server_end.reset(); // the server has its own
  if (pid <= 0) {
    what = "starting the fork server " + own_executable().string();
    return false;
  }
  try {
    write_frame(control.get(), hello_frame(key)); // the hello that opens every channel
  } catch (const std::system_error& e) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    error = e.code();
    what = "starting the fork server";
    return false;
  }
  // The reader must run before the server is used: nothing else would reap it.
  error = os::start_thread([this, control = control.get(), pid] { read(control, pid); });
  if (error) {
    ::kill(pid, SIGKILL);
    os::waitpid(pid, nullptr, 0);
    what = "starting the fork server's reader thread";
    return false;
  }
  control_ = control.release(); // the reader thread closes it
  server_ = pid;
  return true;
}

void fork_server::read(int control, pid_t server) {
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
    log(log_level::error, std::string("the fork server's channel failed: ") + e.what());
  }
  // The server is gone, and its children with it (they die with it): every call still
  // watched has ended.
  ::kill(server, SIGKILL);
  os::waitpid(server, nullptr, 0);
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

} // namespace mpdecor::detail

#endif
