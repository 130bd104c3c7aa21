// SPDX-License-Identifier: BSL-1.0
// mpdecor: starting and ending children on POSIX systems.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "channel.hpp"
#include "launch.hpp"
#include "os.hpp"
#include "shared_memory.hpp"
#include "spawn_posix.hpp"

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/init.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

extern char** environ;

namespace mpdecor::detail {
namespace {

// Reaps child `pid`, which has exited, and ends what remains of its process tree first
// (a grandchild still running, a forked copy holding the channel), while the group's id is
// still the child's own.
exit_status reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  const pid_t got = os::waitpid(pid, &status, WNOHANG);
  exit_status how;
  if (got == pid)
    how = decode_exit_status(status);
  else // reaped by someone else: the program's own SIGCHLD handling
    how.notes = "its exit status was collected by another part of the program";
  return how;
}

// A spawned child watched through its pidfd on the event loop. Not Boost.Process v2's
// process, whose wait reaps the child before its process group can be ended.
class pidfd_child final : public child_process {
public:
  pidfd_child(boost::asio::io_context& io, pid_t pid, int pidfd) : pid_(pid), pidfd_(io, pidfd) {}

  ~pidfd_child() override {
    if (!reaped_) { // the event loop is going away with the child still unreaped
      end_tree(pid_);
      os::waitpid(pid_, nullptr, 0);
    }
  }

  pid_type id() const noexcept override { return pid_; }

  void async_wait(std::function<void(exit_status)> ended) override {
    pidfd_.async_wait(
        boost::asio::posix::descriptor_base::wait_read,
        [this, ended = std::move(ended)](const boost::system::error_code& error) mutable {
          // Aborted: this child is being destroyed, and its destructor reaps.
          if (error == boost::asio::error::operation_aborted || reaped_)
            return;
          reaped_ = true;
          boost::system::error_code ignored;
          pidfd_.close(ignored); // done with: gone before the call's outcome
          ended(reap(pid_));
        });
  }

  void kill() noexcept override {
    if (!reaped_)
      end_tree(pid_);
  }

  void terminate() noexcept override {
    if (!reaped_)
      ask_tree_to_end(pid_);
  }

private:
  pid_t pid_;
  boost::asio::posix::stream_descriptor pidfd_;
  bool reaped_ = false;
};

// A spawned child watched by a thread of mpdecor's, where no pidfd can be had (Linux before
// 5.3, seccomp filters, valgrind). The thread only waits for the exit (WNOWAIT), leaving
// the child unreaped, so that its pid stays its own until the event loop's thread reaps it;
// kill() runs on that thread too, so it never signals a pid that was reused.
class thread_watched_child final : public child_process {
public:
  struct state {
    bool exited = false;
    bool reaped = false;
    std::function<void(exit_status)> ended;
  };

  thread_watched_child(pid_t pid, std::shared_ptr<state> shared)
      : pid_(pid), state_(std::move(shared)) {}

  pid_type id() const noexcept override { return pid_; }

  void async_wait(std::function<void(exit_status)> ended) override {
    state_->ended = std::move(ended);
    if (state_->exited)
      on_exit(pid_, *state_);
  }

  void kill() noexcept override {
    if (!state_->reaped)
      end_tree(pid_);
  }

  void terminate() noexcept override {
    if (!state_->reaped)
      ask_tree_to_end(pid_);
  }

  // On the event loop's thread, once the watcher saw the exit.
  static void on_exit(pid_t pid, state& watched) {
    watched.exited = true;
    if (!watched.ended || watched.reaped)
      return;
    watched.reaped = true;
    auto ended = std::move(watched.ended);
    ended(reap(pid));
  }

private:
  pid_t pid_;
  std::shared_ptr<state> state_;
};

// Watches child `pid` through a pidfd, or a thread where no pidfd can be had. On failure
// the child is killed and reaped, and nothing is returned, with `error` and `what` set.
std::unique_ptr<child_process> watch_child(boost::asio::io_context& io, pid_t pid,
                                           std::error_code& error, std::string& what) {
  const int pidfd = os::pidfd_open(pid);
  if (pidfd >= 0) {
    try {
      return std::make_unique<pidfd_child>(io, pid, pidfd);
    } catch (const std::system_error& e) {
      error = e.code(); // the event loop could not watch it (epoll: out of memory)
    }
  } else if (errno == ENOSYS || errno == EPERM || errno == EACCES) {
    auto shared = std::make_shared<thread_watched_child::state>();
    error = os::start_thread([pid, shared, executor = io.get_executor()] {
      siginfo_t info{};
      os::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
      boost::asio::post(executor, [pid, shared] { thread_watched_child::on_exit(pid, *shared); });
    });
    if (!error)
      return std::make_unique<thread_watched_child>(pid, std::move(shared));
  } else {
    error.assign(errno, std::system_category());
  }
  // Not watched, so not kept: a child nobody reaps would stay a zombie.
  end_tree(pid);
  os::waitpid(pid, nullptr, 0);
  what = "watching the child (pid " + std::to_string(pid) + ")";
  return nullptr;
}

} // namespace

void ask_tree_to_end(pid_type pid) noexcept {
  if (pid <= 0)
    return; // 0 or -1 would signal this process's group or every process: never
  ::kill(static_cast<pid_t>(-pid), SIGTERM);
  ::kill(static_cast<pid_t>(pid), SIGTERM);
}

void end_tree(pid_t pid) noexcept {
  if (pid <= 0)
    return; // 0 or -1 would signal this process's group or every process: never
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

std::vector<std::string> inherited_environment(const options& settings) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto name = text.substr(0, text.find('='));
    bool replaced = name == launch_key_variable || name == parent_pid_variable ||
                    name == memory_limit_variable || name == connect_variable;
    for (const auto& setting : settings.environment)
      replaced = replaced || setting.first == name;
    if (!replaced)
      result.emplace_back(text);
  }
  for (const auto& [name, value] : settings.environment)
    result.push_back(name + "=" + value);
  return result;
}

std::vector<std::string> child_environment(const options& settings, const std::string& key,
                                           bool watch_parent) {
  std::vector<std::string> result = inherited_environment(settings);
  result.push_back(std::string(launch_key_variable) + "=" + key);
  if (watch_parent)
    result.push_back(std::string(parent_pid_variable) + "=" + std::to_string(::getpid()));
  if (settings.memory_limit != 0)
    result.push_back(std::string(memory_limit_variable) + "=" +
                     std::to_string(settings.memory_limit));
  return result;
}

bool make_channel(channel_ends& channel, os::unique_fd& child_end, std::error_code& error,
                  std::string& what) {
  // SOCK_CLOEXEC: no other child, and nothing the program starts itself, inherits either
  // end; spawn hands the child's end to this one child only.
  int ends[2];
  if (os::socket_pair(ends) != 0) {
    error.assign(errno, std::system_category());
    what = "creating the channel";
    return false;
  }
  os::unique_fd ours(ends[0]);
  os::unique_fd theirs(ends[1]);
  boost::system::error_code ec;
  channel.stream.assign(boost::asio::local::stream_protocol(), ours.get(), ec);
  if (ec) {
    error = ec;
    what = "creating the channel";
    return false;
  }
  ours.release(); // the stream's now
  child_end = std::move(theirs);
  return true;
}

const std::string& executable_to_run() {
  // Never destroyed, like own_executable(). In a child that posix_spawn starts, /proc/self/exe
  // still names this process's executable (the child shares its memory until exec): the
  // file this process runs, whatever the path names now.
  static const std::string* const program = [] {
    const std::filesystem::path running = "/proc/self/exe";
    std::error_code error;
    return new std::string(std::filesystem::exists(running, error) ? running.string()
                                                                   : own_executable().string());
  }();
  return *program;
}

std::vector<std::string> spawned_arguments(const char* flag, const std::string& name) {
  std::vector<std::string> arguments = child_arguments(
      flag, name, std::to_string(channel_descriptor) + "," + std::to_string(channel_descriptor));
  arguments.insert(arguments.begin(), own_executable().string());
  return arguments;
}

std::unique_ptr<child_process> launch_spawned(const launch_request& launch,
                                              launch_failure& failed) {
  os::unique_fd child_end;
  if (!make_channel(launch.channel, child_end, failed.error, failed.what))
    return nullptr;
  spawn_request request{executable_to_run(),
                        spawned_arguments(mode_argument(launch.mode), launch.function),
                        child_environment(launch.settings, launch.key, true),
                        {{child_end.get(), channel_descriptor}},
                        launch.settings.working_directory};
  for (const int which : {STDOUT_FILENO, STDERR_FILENO})
    if (const int fd = launch.output.child_stream(which); fd != no_output_handle)
      request.descriptors.emplace_back(fd, which);
  // A child or a worker may leave a large result to shared memory, as its parent may.
  if (const auto threshold = sharing_threshold(launch.settings))
    request.environment.push_back(std::string(sharing_threshold_variable) + "=" +
                                  std::to_string(*threshold));
  const pid_t pid = spawn(request, failed.error);
  child_end.reset(); // the child has its own
  if (pid <= 0) {
    launch.channel.close();
    failed.what = launch.settings.working_directory.empty()
                      ? "starting " + own_executable().string()
                      : "starting " + own_executable().string() + " in " +
                            launch.settings.working_directory.string();
    return nullptr;
  }
  return watch_child(launch.io, pid, failed.error, failed.what);
}

std::unique_ptr<child_process> launch_child(const launch_request& launch, launch_failure& failed) {
  switch (launch.method) {
  case start_method::slurm:
    return launch_slurm_step(launch, failed);
  case start_method::fork_server:
#if defined(MPDECOR_FORK_SERVER)
    return launch_forked(launch, failed);
#else
    break; // the fork server needs Linux's signalfd and pidfd: start a fresh process
#endif
  case start_method::spawn:
    break;
  }
  return launch_spawned(launch, failed);
}

void kill_child(process_v2::process& child) noexcept {
  // The child has not been reaped (only the supervisor's wait reaps it), so its pid cannot
  // have been reused yet.
  // A pid of 0 or -1 would signal a whole group or every process: never pass one on.
  const auto pid = static_cast<pid_t>(child.id());
  if (pid > 0)
    ::kill(pid, SIGKILL);
}

} // namespace mpdecor::detail

#endif
