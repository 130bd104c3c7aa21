// SPDX-License-Identifier: BSL-1.0
// mpdecor: the system calls the engine depends on, in one place, with a test hook.
//
// Each wrapper makes its call once, retrying EINTR where the call may be retried (never
// close), and reports failure as the call does (-1 and errno, or an error code). A
// descriptor that must be closed on every way out of a function is held by a unique_fd.
// Tests make the next uses of a call fail with an error of their choice (inject_failure),
// which is how they prove that each failure ends as the affected call's typed error while
// the program keeps serving calls, without waiting for a machine that produces EMFILE or
// ENOSYS.
#ifndef MPDECOR_LIB_OS_HPP
#define MPDECOR_LIB_OS_HPP

#include "config.hpp"

#include <cstddef>
#include <functional>
#include <system_error>

#if defined(MPDECOR_POSIX)
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#endif

namespace mpdecor::detail::os {

/// The calls whose failures tests can inject.
enum class operation : unsigned {
  socketpair,   ///< a call's channel (POSIX)
  pidfd_open,   ///< watching a spawned child (Linux)
  spawn,        ///< posix_spawn of a child (POSIX)
  start_thread, ///< a thread of mpdecor's own (the fork server's reader, a child's watcher)
  memfd_create, ///< a shared-memory segment (Linux)
  mmap,         ///< mapping a shared-memory segment (Linux)
  count
};

/// Makes the next `times` uses of `call`, in this process, fail with `error` (an errno
/// value). For tests; a program never calls it.
void inject_failure(operation call, int error, unsigned times = 1) noexcept;

/// Consumes one injected failure of `call`: its error, or 0 when none is pending.
int injected_failure(operation call) noexcept;

/// Starts a detached thread running `body`; the error (EAGAIN when the process or system
/// is out of threads) if it could not.
std::error_code start_thread(std::function<void()> body) noexcept;

#if defined(MPDECOR_POSIX)
/// Owner of one file descriptor, closed when the owner goes: a function that holds a
/// descriptor across several ways out closes it on each of them, exceptions included.
/// Move-only; -1 is "none".
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  /// Gives the descriptor up, unclosed, to the caller; none is owned afterwards.
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the descriptor owned (if any) and owns `fd` instead. close() is never retried:
  /// on Linux the descriptor is gone even when close says EINTR, and a second close could
  /// close a descriptor that another thread has opened meanwhile under the same number.
  void reset(int fd = -1) noexcept;
  explicit operator bool() const noexcept { return fd_ != -1; }

private:
  int fd_ = -1;
};

// The blocking calls, retried while they fail with EINTR (a signal handler installed by
// the program without SA_RESTART), so that no call site repeats the loop. Each returns
// what the call returns: -1 with errno set on any other failure.

/// read(2).
::ssize_t read(int fd, void* data, std::size_t size) noexcept;
/// write(2).
::ssize_t write(int fd, const void* data, std::size_t size) noexcept;
/// pwrite(2).
::ssize_t pwrite(int fd, const void* data, std::size_t size, ::off_t offset) noexcept;
/// send(2): with MSG_NOSIGNAL, a closed peer is EPIPE instead of SIGPIPE.
::ssize_t send(int socket, const void* data, std::size_t size, int flags) noexcept;
/// sendmsg(2).
::ssize_t sendmsg(int socket, const ::msghdr* message, int flags) noexcept;
/// recvmsg(2). An interrupted call received nothing, descriptors included, so the retry
/// reuses `message` as it is.
::ssize_t recvmsg(int socket, ::msghdr* message, int flags) noexcept;
/// poll(2), for an infinite (-1) or zero timeout only: a retry starts the timeout over,
/// so an interrupted finite wait would last longer than asked.
int poll(::pollfd* watched, ::nfds_t count, int timeout) noexcept;
/// waitpid(2).
::pid_t waitpid(::pid_t pid, int* status, int options) noexcept;
/// waitid(2).
int waitid(::idtype_t type, ::id_t id, ::siginfo_t* info, int options) noexcept;

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC).
int socket_pair(int ends[2]) noexcept;
/// A pidfd for child `pid` (close-on-exec); -1 and errno (ENOSYS before Linux 5.3 and
/// outside Linux, EPERM or ENOSYS under seccomp filters and valgrind, EMFILE).
int pidfd_open(int pid) noexcept;
#endif

} // namespace mpdecor::detail::os

#endif
