// SPDX-License-Identifier: BSL-1.0
// mpdecor: the system-call seam (lib/os.hpp), POSIX calls.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "os.hpp"

#include <cerrno>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mpdecor::detail::os {
namespace {

// Makes `call` until it ends otherwise than with EINTR.
template <class Call>
auto retrying(Call call) noexcept {
  for (;;) {
    const auto result = call();
    if (result != -1 || errno != EINTR)
      return result;
  }
}

} // namespace

void unique_fd::reset(int fd) noexcept {
  const int old = fd_;
  fd_ = fd;
  if (old != -1 && old != fd)
    ::close(old); // never retried: see the declaration
}

::ssize_t read(int fd, void* data, std::size_t size) noexcept {
  return retrying([&] { return ::read(fd, data, size); });
}

::ssize_t write(int fd, const void* data, std::size_t size) noexcept {
  return retrying([&] { return ::write(fd, data, size); });
}

::ssize_t pwrite(int fd, const void* data, std::size_t size, ::off_t offset) noexcept {
  return retrying([&] { return ::pwrite(fd, data, size, offset); });
}

::ssize_t send(int socket, const void* data, std::size_t size, int flags) noexcept {
  return retrying([&] { return ::send(socket, data, size, flags); });
}

::ssize_t sendmsg(int socket, const ::msghdr* message, int flags) noexcept {
  return retrying([&] { return ::sendmsg(socket, message, flags); });
}

::ssize_t recvmsg(int socket, ::msghdr* message, int flags) noexcept {
  return retrying([&] { return ::recvmsg(socket, message, flags); });
}

int poll(::pollfd* watched, ::nfds_t count, int timeout) noexcept {
  return retrying([&] { return ::poll(watched, count, timeout); });
}

::pid_t waitpid(::pid_t pid, int* status, int options) noexcept {
  return retrying([&] { return ::waitpid(pid, status, options); });
}

int waitid(::idtype_t type, ::id_t id, ::siginfo_t* info, int options) noexcept {
  return retrying([&] { return ::waitid(type, id, info, options); });
}

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
