// SPDX-License-Identifier: BSL-1.0
// mpdecor: the child's channel on POSIX systems.
#include "stack_trace.hpp"
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "channel.hpp"
#include "os.hpp"
#include "protocol.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/init.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <new>
#include <csignal>
#include <cstdio>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>
#include <sys/resource.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace mpdecor::detail {
namespace {

bool parse_fd(std::string_view text, native_channel& fd) {
  int value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0)
    return false;
  fd = value;
  return true;
}

bool is_open(native_channel fd) { return ::fcntl(static_cast<int>(fd), F_GETFD) != -1; }

// The descriptor was inherited across exec on purpose; nothing this child starts may
// inherit it in turn, or the parent would not see the channel close when the child ends.
void keep_private(native_channel fd) {
  const int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
  if (flags != -1)
    ::fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC);
}

// See open_child_channel.
bool move_off_standard_streams(child_channel& channel) {
  const int in = ::fcntl(static_cast<int>(channel.in), F_DUPFD_CLOEXEC, 3);
  const int out = ::fcntl(static_cast<int>(channel.out), F_DUPFD_CLOEXEC, 3);
  const int nothing = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in == -1 || out == -1 || nothing == -1)
    return false;
  std::fflush(stdout);
  if (::dup2(nothing, STDIN_FILENO) == -1 || ::dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
    return false;
  ::close(nothing);
  channel.in = in;
  channel.out = out;
  return true;
}

} // namespace

bool open_child_channel(std::string_view argument, child_channel& channel) noexcept {
  const auto comma = argument.find(',');
  if (comma == std::string_view::npos)
    return false;
  if (!parse_fd(argument.substr(0, comma), channel.in) ||
      !parse_fd(argument.substr(comma + 1), channel.out))
    return false;
  if (!is_open(channel.in) || !is_open(channel.out))
    return false;
  if (channel.in == STDIN_FILENO || channel.out == STDOUT_FILENO)
    return move_off_standard_streams(channel);
  keep_private(channel.in);
  keep_private(channel.out);
  return true;
}

namespace {
bool parent_death_signal = false;
} // namespace

void mark_dies_with_parent() noexcept { parent_death_signal = true; }

void watch_parent(native_channel in) noexcept {
  if (parent_death_signal)
    return;
  // The parent sends nothing after the call, so the channel's read end only wakes when the
  // parent is gone. Without a thread to watch with, the call runs on unwatched.
  os::start_thread([in] {
    char byte = 0;
    try {
      if (read_some(in, &byte, 1) == 0)
        std::_Exit(exit_parent_gone);
    } catch (const std::system_error& e) {
      // A reset connection means the parent is gone; any other error (the function closed
      // the descriptor, say) leaves the call to end on its own.
      if (e.code() == std::errc::connection_reset || e.code() == std::errc::broken_pipe)
        std::_Exit(exit_parent_gone);
    }
  });
}

bool end_tree_with_parent(long parent) noexcept {
#if defined(MPDECOR_HAS_PIDFD_OPEN)
  const int pidfd = os::pidfd_open(static_cast<int>(parent));
  if (pidfd < 0)
    return false;
  const std::error_code error = os::start_thread([pidfd] {
    pollfd watched{pidfd, POLLIN, 0};
    while (os::poll(&watched, 1, -1) != 1) {
    }
    // The parent is gone. This child leads the process group of its call's whole tree:
    // the group goes at once, this child included.
    if (::getpgrp() == ::getpid())
      ::kill(-::getpid(), SIGKILL);
    std::_Exit(exit_parent_gone);
  });
  if (error) {
    ::close(pidfd);
    return false;
  }
  return true;
#else
  (void)parent;
  return false;
#endif
}

void prepare_child_process(bool may_start_threads) noexcept {
  const std::string parent = take_environment_variable(parent_pid_variable);
#if defined(__linux__)
  // The call's whole process tree ends with the parent: a thread waits for the parent's
  // end and then ends this child's process group. Where no thread may run (the fork
  // server) or none can be had, the parent-death signal ends this child alone, when the
  // thread that started it ends (the supervisor's or a pool's, which live as long as their
  // children may run). If the parent died before the watch took effect, nothing will come:
  // check, and stop.
  if (!parent.empty()) {
    long expected = 0;
    std::from_chars(parent.data(), parent.data() + parent.size(), expected);
    if (may_start_threads && end_tree_with_parent(expected))
      mark_dies_with_parent();
    else if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0)
      mark_dies_with_parent();
    if (::getppid() != static_cast<pid_t>(expected))
      std::_Exit(exit_parent_gone);
  }
#else
  (void)may_start_threads;
#endif
  const std::string limit = take_environment_variable(memory_limit_variable);
  if (!limit.empty()) {
    unsigned long long bytes = 0;
    std::from_chars(limit.data(), limit.data() + limit.size(), bytes);
    const rlimit value{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
    if (bytes != 0 && ::setrlimit(RLIMIT_AS, &value) != 0) {
      std::fprintf(stderr, "mpdecor: could not limit this child's memory to %llu bytes\n", bytes);
      std::_Exit(exit_not_started_by_mpdecor);
    }
  }
}

std::vector<std::string> utf8_arguments(int argc, char** argv) { return {argv, argv + argc}; }

std::size_t read_some(native_channel in, char* data, std::size_t size) {
  const auto got = os::read(static_cast<int>(in), data, size);
  if (got < 0)
    throw std::system_error(errno, std::system_category(), "reading the call");
  return static_cast<std::size_t>(got);
}

namespace {

// Connects to `address` ("HOST:PORT", "[V6]:PORT") and sends `key`; the connected socket,
// or -1 with `problem` set.
int connect_and_prove(const std::string& address, const std::string& key, std::string& problem) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    problem = "it is not HOST:PORT";
    return -1;
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int failed = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); failed != 0) {
    problem = ::gai_strerror(failed);
    return -1;
  }
  struct release {
    addrinfo* list;
    ~release() { ::freeaddrinfo(list); }
  } owned{found};
  os::unique_fd connection(
      ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP));
  if (!connection) {
    problem = std::strerror(errno);
    return -1;
  }
  // A bounded connect: an address that drops what it is sent would otherwise hold the step
  // for the system's whole SYN retry time (minutes) before the fallback.
  if (::connect(connection.get(), found->ai_addr, found->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      problem = std::strerror(errno);
      return -1;
    }
    pollfd wait{connection.get(), POLLOUT, 0};
    int ready;
    do
      ready = ::poll(&wait, 1, 5000);
    while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      problem = "no answer within 5 seconds";
      return -1;
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (ready < 0 || ::getsockopt(connection.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0)
      error = errno;
    if (error != 0) {
      problem = std::strerror(error);
      return -1;
    }
  }
  const int flags = ::fcntl(connection.get(), F_GETFL);
  const int on = 1;
  if (flags == -1 || ::fcntl(connection.get(), F_SETFL, flags & ~O_NONBLOCK) != 0 ||
      ::setsockopt(connection.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    problem = std::strerror(errno);
    return -1;
  }
  try {
    write_all(connection.get(), key);
  } catch (const std::system_error& e) {
    problem = e.what();
    return -1;
  }
  return connection.release();
}

} // namespace

void connect_back(const std::string& address, const std::string& key,
                  child_channel& channel) noexcept {
  std::string problem;
  const int connection = connect_and_prove(address, key, problem);
  if (connection != -1) {
    ::close(static_cast<int>(channel.in));
    if (channel.out != channel.in)
      ::close(static_cast<int>(channel.out));
    channel.in = connection;
    channel.out = connection;
    return;
  }
  std::fprintf(stderr,
               "mpdecor: this Slurm step could not connect back to %s (%s); its call and "
               "result travel through srun's standard streams\n",
               address.c_str(), problem.c_str());
  try {
    write_all(channel.out, stdio_fallback_marker);
  } catch (const std::system_error&) {
    // The parent is gone: reading its call fails next, and says so.
  }
}

std::string take_environment_variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr)
    return {};
  std::string result = value;
  // unsetenv only takes the entry out of `environ`: the bytes stay where the kernel put
  // them, which /proc/PID/environ shows to every process of the user for the child's
  // whole life. They are overwritten first (a launch key, above all, must leave no trace).
  std::memset(const_cast<char*>(value), 0, result.size());
  ::unsetenv(name);
  return result;
}

namespace {

// The crash report (report_crashes_to): where it goes, whether a frame is being sent (a
// report then would land inside it), and room for the report, reserved before any crash.
std::atomic<int> crash_channel{-1};
std::atomic<bool> sending{false};
char crash_frame[frame_header_size + sizeof(std::int32_t) + 4096];
// A worker's replies held back (hold_replies): a whole frame.
std::atomic<const char*> held_data{nullptr};
std::atomic<std::size_t> held_size{0};

// Sends all of `data`, blocking: usable in a signal handler (send and write are
// async-signal-safe). False when the channel is gone.
bool send_raw(int out, const char* data, std::size_t size) noexcept {
  while (size > 0) {
    auto sent = ::send(out, data, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == ENOTSOCK)
      sent = ::write(out, data, size);
    if (sent < 0 && errno == EINTR)
      continue;
    if (sent <= 0)
      return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

// Sends the replies held, if any; true when there were.
bool send_held(int out) noexcept {
  const char* data = held_data.exchange(nullptr);
  if (data != nullptr && out >= 0)
    send_raw(out, data, held_size.load());
  return data != nullptr;
}

extern "C" void report_crash(int number) {
  const int out = crash_channel.load();
  if (out >= 0 && !sending.load()) {
    // The replies of the chunk's tasks that finished first, then the crash.
    const int saved = errno;
    send_held(out);
    errno = saved;
    // The signal's number, then the stack where it came (nothing when not recorded).
    const std::int32_t value = number;
    std::memcpy(crash_frame + frame_header_size, &value, sizeof value);
    const std::size_t body =
        sizeof value + encode_crash_trace(crash_frame + frame_header_size + sizeof value,
                                          sizeof crash_frame - frame_header_size - sizeof value);
    write_frame_header(crash_frame, frame_kind::crash_signal, body);
    // One small send, never blocking: all of it or nothing goes.
    [[maybe_unused]] const auto sent =
        ::send(out, crash_frame, frame_header_size + body, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  // The handler was reset (SA_RESETHAND): the signal, blocked while this handler runs,
  // ends the child with its default action as soon as the handler returns.
  ::raise(number);
}

} // namespace

void report_crashes_to(native_channel out) noexcept {
  crash_channel = static_cast<int>(out);
  // A stack overflow's SIGSEGV needs a stack of its own to run the handler on.
  static char* const alternate = new (std::nothrow) char[64 * 1024];
  stack_t current{};
  if (alternate != nullptr && ::sigaltstack(nullptr, &current) == 0 &&
      (current.ss_flags & SS_DISABLE) != 0) {
    stack_t stack{};
    stack.ss_sp = alternate;
    stack.ss_size = 64 * 1024;
    ::sigaltstack(&stack, nullptr);
  }
  for (const int number : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) {
    struct sigaction action {};
    // Only where the default would act: a handler of the program's, or a sanitizer's,
    // stays in charge.
    if (::sigaction(number, nullptr, &action) != 0 || (action.sa_flags & SA_SIGINFO) != 0 ||
        action.sa_handler != SIG_DFL)
      continue;
    action.sa_handler = report_crash;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_ONSTACK;
    ::sigaction(number, &action, nullptr);
  }
}

void hold_replies(const char* data, std::size_t size) noexcept {
  held_data.store(nullptr);
  held_size.store(size);
  held_data.store(data);
}

void send_held_replies() noexcept {
  const int out = crash_channel.load();
  if (sending.load() || out < 0 || !send_held(out))
    return;
  // Number 0: an exit, not a crash; the replies before it came.
  const std::int32_t none = 0;
  char frame[frame_header_size + sizeof none];
  write_frame_header(frame, frame_kind::crash_signal, sizeof none);
  std::memcpy(frame + frame_header_size, &none, sizeof none);
  send_raw(out, frame, sizeof frame);
}

void write_all(native_channel out, std::string_view data) {
  sending = true;
  struct sent_all {
    ~sent_all() { sending = false; }
  } done;
  while (!data.empty()) {
    // send() with MSG_NOSIGNAL on the socket the parent made: a parent that has gone away
    // gives EPIPE instead of killing the child with SIGPIPE. write() for anything else.
    auto sent = os::send(static_cast<int>(out), data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == ENOTSOCK)
      sent = os::write(static_cast<int>(out), data.data(), data.size());
    if (sent < 0)
      throw std::system_error(errno, std::system_category(), "sending the result");
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
}

} // namespace mpdecor::detail

#endif
