// mpdecor: the system-call seam (lib/os.hpp), POSIX calls.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "os.hpp"

#include <cerrno>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mpdecor::detail::os {

int socket_pair(int ends[2]) noexcept {
  if (const int error = injected_failure(operation::socketpair)) {
    errno = error;
    return -1;
  }
  return ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends);
}

int pidfd_open(int pid) noexcept {
  if (const int error = injected_failure(operation::pidfd_open)) {
    errno = error;
    return -1;
  }
#if defined(MPDECOR_HAS_PIDFD_OPEN)
  // pidfds are always close-on-exec.
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

} // namespace mpdecor::detail::os

#endif
