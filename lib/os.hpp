// mpdecor: the system calls the engine depends on, in one place, with a test hook.
//
// Each wrapper makes its call once, retrying EINTR where the call may be retried (never
// close), and reports failure as the call does (-1 and errno, or an error code). Tests make
// the next uses of a call fail with an error of their choice (inject_failure), which is how
// they prove that each failure ends as the affected call's typed error while the program
// keeps serving calls, without waiting for a machine that produces EMFILE or ENOSYS.
#ifndef MPDECOR_LIB_OS_HPP
#define MPDECOR_LIB_OS_HPP

#include "config.hpp"

#include <functional>
#include <system_error>

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
/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC).
int socket_pair(int ends[2]) noexcept;
/// A pidfd for child `pid` (close-on-exec); -1 and errno (ENOSYS before Linux 5.3 and
/// outside Linux, EPERM or ENOSYS under seccomp filters and valgrind, EMFILE).
int pidfd_open(int pid) noexcept;
#endif

} // namespace mpdecor::detail::os

#endif
