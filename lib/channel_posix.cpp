// mpdecor: the child's channel on POSIX systems.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "channel.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

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
  keep_private(channel.in);
  keep_private(channel.out);
  return true;
}

void prepare_child_process() noexcept {}

std::vector<std::string> utf8_arguments(int argc, char** argv) { return {argv, argv + argc}; }

std::size_t read_some(native_channel in, char* data, std::size_t size) {
  for (;;) {
    const auto got = ::read(static_cast<int>(in), data, size);
    if (got >= 0)
      return static_cast<std::size_t>(got);
    if (errno != EINTR)
      throw std::system_error(errno, std::system_category(), "reading the call");
  }
}

std::string take_environment_variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr)
    return {};
  std::string result = value;
  ::unsetenv(name);
  return result;
}

void write_all(native_channel out, std::string_view data) {
  while (!data.empty()) {
    // send() with MSG_NOSIGNAL on the socket the parent made: a parent that has gone away
    // gives EPIPE instead of killing the child with SIGPIPE. write() for anything else.
    auto sent = ::send(static_cast<int>(out), data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == ENOTSOCK)
      sent = ::write(static_cast<int>(out), data.data(), data.size());
    if (sent < 0) {
      if (errno == EINTR)
        continue;
      throw std::system_error(errno, std::system_category(), "sending the result");
    }
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
}

} // namespace mpdecor::detail

#endif
