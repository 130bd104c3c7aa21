// mpdecor: starting and ending children on POSIX systems.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "launch.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/init.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
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

// Lets the child inherit its end of the channel across exec. Boost.Process 1.81's
// posix::bind_fd cannot be used (see config.hpp), and the fd keeps its number: the child
// learns it from --mp-channel.
struct inherit_channel {
  int fd;
  pid_t parent;              // this process, to detect a parent that died during the fork
  std::size_t memory_limit;  // 0: none

  process_v2::error_code on_setup(process_v2::posix::default_launcher& launcher,
                                  const std::filesystem::path&, const char* const*) {
    launcher.fd_whitelist.push_back(fd);
    return {};
  }

  // Runs between fork and exec, so only async-signal-safe calls: fcntl, prctl, setrlimit.
  process_v2::error_code on_exec_setup(process_v2::posix::default_launcher&,
                                       const std::filesystem::path&, const char* const*) {
#if defined(__linux__)
    // The child dies with the thread that forked it: the supervisor's thread, which lives
    // until the program ends. The setting survives exec. If the parent died before the
    // setting took effect, no signal will come: check and stop.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
      return {errno, boost::system::system_category()};
    if (::getppid() != parent)
      ::_exit(exit_parent_gone);
#endif
    if (memory_limit != 0) {
      const rlimit limit{static_cast<rlim_t>(memory_limit), static_cast<rlim_t>(memory_limit)};
      if (::setrlimit(RLIMIT_AS, &limit) == -1)
        return {errno, boost::system::system_category()};
    }
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags == -1 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == -1)
      return {errno, boost::system::system_category()};
    return {};
  }

  // The launcher calls ::exit after a failed exec, which would run this program's atexit
  // handlers in the child; end it at once instead (the parent has the errno already).
  // Variadic because Boost 1.81 detects this hook with one argument more than it passes.
  template <class... Ignored>
  void on_exec_error(Ignored&&...) {
    ::_exit(127);
  }

  // Boost 1.81 reports a failed exec without reaping the child it forked, which would stay
  // a zombie; it is exiting already, so this wait is short.
  template <class... Ignored>
  void on_error(process_v2::posix::default_launcher& launcher, Ignored&&...) {
    if (launcher.pid > 0)
      while (::waitpid(launcher.pid, nullptr, 0) == -1 && errno == EINTR) {
      }
  }
};

std::vector<std::string> child_environment(const options& settings, const std::string& key) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto name = text.substr(0, text.find('='));
    bool replaced = name == launch_key_variable;
    for (const auto& setting : settings.environment)
      replaced = replaced || setting.first == name;
    if (!replaced)
      result.emplace_back(text);
  }
  for (const auto& [name, value] : settings.environment)
    result.push_back(name + "=" + value);
  result.push_back(std::string(launch_key_variable) + "=" + key);
  return result;
}

} // namespace

const std::filesystem::path& own_executable() {
  static const std::filesystem::path path = boost::dll::program_location();
  return path;
}

std::optional<process_v2::process> launch_child(boost::asio::io_context& io,
                                                const std::string& function,
                                                const options& settings,
                                                const std::string& launch_key,
                                                channel_ends& channel, std::error_code& error,
                                                std::string& what, launch_mode mode) {
  // SOCK_CLOEXEC: no other child, and nothing the program starts itself, inherits either
  // end; the child's end is made inheritable for this one exec only (inherit_channel).
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    error.assign(errno, std::system_category());
    what = "creating the channel";
    return std::nullopt;
  }
  boost::system::error_code ec;
  channel.stream.assign(boost::asio::local::stream_protocol(), ends[0], ec);
  if (ec) {
    ::close(ends[0]);
    ::close(ends[1]);
    error = ec;
    what = "creating the channel";
    return std::nullopt;
  }
  const int child_end = ends[1];
  const std::string channel_argument = std::to_string(child_end) + "," + std::to_string(child_end);
  const std::vector<std::string> arguments{mode_argument(mode), function, "--mp-channel",
                                           channel_argument};

  std::optional<process_v2::process> child;
  process_v2::default_process_launcher launcher;
  const auto start_dir = settings.working_directory.empty() ? std::filesystem::current_path(ec)
                                                            : settings.working_directory;
  child.emplace(launcher(io.get_executor(), ec, own_executable(), arguments,
                         inherit_channel{child_end, ::getpid(), settings.memory_limit},
                         process_v2::process_start_dir{start_dir},
                         process_v2::process_environment{child_environment(settings, launch_key)}));
  ::close(child_end);
  if (ec) {
    channel.close();
    error = ec;
    what = settings.working_directory.empty()
               ? "starting " + own_executable().string()
               : "starting " + own_executable().string() + " in " +
                     settings.working_directory.string();
    return std::nullopt;
  }
  return child;
}

void kill_child(process_v2::process& child) noexcept {
  // The child has not been reaped (only the supervisor's wait reaps it), so its pid cannot
  // have been reused yet.
  // A pid of 0 or -1 would signal a whole group or every process: never pass one on.
  const auto pid = static_cast<pid_t>(child.id());
  if (pid > 0)
    ::kill(pid, SIGKILL);
}

exit_status decode_exit_status(process_v2::native_exit_code_type status) noexcept {
  exit_status result;
  if (WIFSIGNALED(status))
    result.signal = WTERMSIG(status);
  else if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string describe_signal(int signal) {
  struct named {
    int number;
    const char* name;
  };
  static const named names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
      {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
      {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
      {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
  };
  for (const auto& entry : names)
    if (entry.number == signal)
      return entry.name;
  return "signal " + std::to_string(signal);
}

} // namespace mpdecor::detail

#endif
