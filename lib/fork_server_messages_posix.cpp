// mpdecor: the fork server's control messages (lib/fork_server.hpp).
#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "channel.hpp"
#include "fork_server.hpp"
#include "shared_memory.hpp"

#include <mpdecor/detail/wire.hpp>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

// Reads exactly `size` bytes. False when the other end closed before the first byte.
// Throws std::system_error.
bool receive_exact(int socket, char* data, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const std::size_t done = read_some(socket, data + got, size - got);
    if (done == 0) {
      if (got == 0)
        return false;
      throw std::system_error(std::make_error_code(std::errc::connection_reset),
                              "fork server channel closed within a message");
    }
    got += done;
  }
  return true;
}

} // namespace

// Sends one message; a fork request's channel end `fd` follows it alone, as a segment's
// descriptor follows its frame header (see wire.hpp). Throws std::system_error.
void send_message(int socket, const control_message& message, int fd) {
  std::string bytes(8, '\0');
  {
    output_archive archive(bytes);
    archive(static_cast<std::uint8_t>(message.kind), message.id, message.pid, message.value,
            message.function, message.worker, message.key, message.directory);
    archive(static_cast<std::uint64_t>(message.environment.size()));
    for (const auto& [name, value] : message.environment)
      archive(name, value);
    archive(message.memory_limit);
  }
  const std::uint64_t length = bytes.size() - 8;
  std::memcpy(bytes.data(), &length, 8);
  write_all(socket, bytes);
  if (fd != -1)
    send_fd(socket, fd);
}


// Reads one message, and with `fd` the channel end that follows a fork request; false when
// the channel closed between messages.
bool receive_message(int socket, control_message& message, int* fd) {
  std::uint64_t length = 0;
  if (!receive_exact(socket, reinterpret_cast<char*>(&length), 8))
    return false;
  if (length > (std::uint64_t{1} << 24))
    throw decode_failure("fork server message of " + std::to_string(length) + " bytes");
  std::string payload(static_cast<std::size_t>(length), '\0');
  if (!payload.empty() && !receive_exact(socket, payload.data(), payload.size()))
    throw decode_failure("fork server message ended early");
  input_archive archive(payload);
  std::uint8_t kind = 0;
  archive(kind);
  message.kind = static_cast<message_kind>(kind);
  archive(message.id, message.pid, message.value, message.function,
          message.worker, message.key, message.directory);
  std::uint64_t count = 0;
  archive(count);
  archive.check_length(count);
  message.environment.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::pair<std::string, std::string> entry;
    archive(entry.first, entry.second);
    message.environment.push_back(std::move(entry));
  }
  archive(message.memory_limit);
  if (fd != nullptr && message.kind == message_kind::fork)
    *fd = receive_fd(socket);
  return true;
}
} // namespace mpdecor::detail

#endif
