// SPDX-License-Identifier: BSL-1.0
// mpdecor: the fork server's control messages (lib/fork_server.hpp).
#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "fork_server.hpp"
#include "protocol.hpp"

#include <mpdecor/detail/wire.hpp>

#include <system_error>

namespace mpdecor::detail {

// A control message is a frame of kind `control` (wire.hpp); a fork request's channel end
// follows its header, as a segment's descriptor follows a call's.
void send_message(int socket, const control_message& message, int fd) {
  std::string frame(frame_header_size, '\0');
  {
    output_archive archive(frame);
    archive(static_cast<std::uint8_t>(message.kind), message.id, message.pid, message.value,
            message.function, message.worker, message.key, message.directory);
    archive(static_cast<std::uint64_t>(message.environment.size()));
    for (const auto& entry : message.environment)
      archive(entry);
    archive(message.file_mask, static_cast<std::uint64_t>(message.limits.size()));
    for (const auto& limit : message.limits)
      archive(limit.resource, limit.soft, limit.hard);
    archive(message.memory_limit, message.outputs);
  }
  write_frame_header(frame.data(), frame_kind::control, frame.size() - frame_header_size, fd != -1);
  write_frame(socket, frame, fd);
}

bool receive_message(int socket, control_message& message, int* fd) {
  std::string payload;
  switch (read_frame(socket, frame_kind::control, payload, /*trusted=*/false, fd)) {
  case read_status::complete:
    break;
  case read_status::closed:
    return false;
  case read_status::truncated:
    throw std::system_error(std::make_error_code(std::errc::connection_reset),
                            "fork server channel closed within a message");
  }
  input_archive archive(payload);
  std::uint8_t kind = 0;
  archive(kind);
  message.kind = static_cast<message_kind>(kind);
  archive(message.id, message.pid, message.value, message.function, message.worker, message.key,
          message.directory);
  std::uint64_t count = 0;
  archive(count);
  archive.check_length(count);
  message.environment.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string entry;
    archive(entry);
    message.environment.push_back(std::move(entry));
  }
  archive(message.file_mask, count);
  archive.check_length(count);
  message.limits.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    resource_limit limit;
    archive(limit.resource, limit.soft, limit.hard);
    message.limits.push_back(limit);
  }
  archive(message.memory_limit, message.outputs);
  return true;
}

} // namespace mpdecor::detail

#endif
