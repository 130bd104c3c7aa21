// SPDX-License-Identifier: BSL-1.0
// mpdecor: the fork server itself (lib/fork_server.hpp): a child started like any other,
// with a launch key, that runs nothing of the program but its start-up and init(), and
// then forks one child per call. Written with blocking reads and poll: it must stay
// single-threaded, since it forks.
#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "fork_server.hpp"
#include "channel.hpp"
#include "protocol.hpp"
#include "launch.hpp"
#include "os.hpp"
#include "shared_memory.hpp"
#include "spawn_posix.hpp"
#include "worker.hpp"

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/init.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

// --- the server ------------------------------------------------------------------------

[[noreturn]] void server_stop(int code, const std::string& message) {
  std::fprintf(stderr, "mpdecor fork server: %s\n", message.c_str());
  std::_Exit(code);
}

// In the fork: becomes the call's child. Never returns.
[[noreturn]] void become_child(int control, int signals, const sigset_t& original_mask,
                               const struct sigaction& original_sigchld, pid_t server,
                               const std::string& server_directory, control_message& request,
                               int channel_fd, const int (&streams)[2]) {
  ::close(control);
  ::close(signals);
  // The call's standard output and error, where the call sends them elsewhere.
  for (int i = 0; i < 2; ++i)
    if (streams[i] != -1) {
      std::fflush(i == 0 ? stdout : stderr);
      ::dup2(streams[i], i + 1);
      ::close(streams[i]);
    }
  ::sigaction(SIGCHLD, &original_sigchld, nullptr); // as a spawned child would have it
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  // Leads a process group of its own, which its whole process tree shares: the server
  // ends it when the child ends or is killed. The tree ends with the server, which ends
  // with the parent (its channel closes, or the parent-death signal).
  ::setpgid(0, 0);
  if (end_tree_with_parent(server) || ::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0)
    mark_dies_with_parent();
  if (::getppid() != server)
    std::_Exit(exit_parent_gone);
  // The caller's environment, umask and limits at the call, as a spawned child takes them.
  ::clearenv();
  for (const auto& entry : request.environment) {
    const auto equals = entry.find('=');
    if (equals != std::string::npos && equals != 0)
      ::setenv(entry.substr(0, equals).c_str(), entry.c_str() + equals + 1, 1);
  }
  if (request.file_mask >= 0)
    ::umask(static_cast<mode_t>(request.file_mask));
  for (const auto& limit : request.limits) {
    const auto resource = static_cast<decltype(RLIMIT_AS)>(limit.resource);
    rlimit now{};
    if (::getrlimit(resource, &now) == 0 && now.rlim_cur == limit.soft &&
        now.rlim_max == limit.hard)
      continue;
    const rlimit wanted{static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)};
    if (::setrlimit(resource, &wanted) != 0) {
      std::fprintf(stderr, "mpdecor: cannot take the caller's resource limit %d: %s\n",
                   static_cast<int>(limit.resource), std::strerror(errno));
      std::_Exit(exit_not_started_by_mpdecor);
    }
  }
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
  prepare_child_process(/*may_start_threads=*/false); // it forks
  child_start start;
  if (!read_child_start(utf8_arguments(argc, argv), start))
    server_stop(exit_not_started_by_mpdecor, "started with --mp-fork-server but not by mpdecor "
                                             "(no channel or no launch key); it forks nothing");
  const int control = static_cast<int>(start.channel.in);
  std::string problem;
  if (read_hello(control, start.key, problem) != hello_result::accepted)
    server_stop(exit_not_started_by_mpdecor,
                "the requests do not come from the process that started this server");

  // The server's children must stay for it to reap and report: with SIGCHLD ignored (set
  // by the program, or inherited from whatever started it) the kernel would reap them
  // itself, and their ends would never be seen. The server takes the default; each child
  // gets back the disposition the server inherited.
  struct sigaction original_sigchld {};
  {
    struct sigaction reported {};
    reported.sa_handler = SIG_DFL;
    sigemptyset(&reported.sa_mask);
    ::sigaction(SIGCHLD, &reported, &original_sigchld);
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
      // Each ended child's process group (the rest of its tree) is ended before the child
      // is reaped, while the group's id is still the child's own.
      siginfo_t info{};
      if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid <= 0)
        return;
      ::kill(-info.si_pid, SIGKILL);
      int status = 0;
      const pid_t pid = ::waitpid(info.si_pid, &status, WNOHANG);
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
      if (os::poll(watched, 2, -1) < 0)
        break;
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
      int streams[2] = {-1, -1};
      for (int i = 0; i < 2; ++i)
        if (request.kind == message_kind::fork && (request.outputs & (1U << i)) != 0)
          streams[i] = receive_fd(control);
      if (request.kind == message_kind::kill || request.kind == message_kind::terminate) {
        // Only a child not reaped yet: its pid cannot be another process's.
        if (alive.count(static_cast<pid_t>(request.pid)) != 0) {
          if (request.kind == message_kind::kill)
            end_tree(static_cast<pid_t>(request.pid));
          else
            ask_tree_to_end(request.pid);
        }
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
          become_child(control, signals, original, original_sigchld, self, directory_now, request,
                       fd, streams);
        if (pid < 0) {
          started.value = errno;
        } else {
          ::setpgid(pid, pid); // as the child does: a kill that comes first finds the group
          alive.insert(pid);
        }
        started.pid = pid;
      }
      if (fd != -1)
        ::close(fd);
      for (const int stream : streams)
        if (stream != -1)
          ::close(stream);
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
    end_tree(pid);
  std::_Exit(0);
}

} // namespace mpdecor::detail

#endif
