// SPDX-License-Identifier: BSL-1.0
// mpdecor: how a child ended, on POSIX systems (lib/exit_status.hpp).
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "exit_status.hpp"

#include <csignal>
#include <sys/wait.h>

namespace mpdecor::detail {

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
