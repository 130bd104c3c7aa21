// mpdecor: the fork server's control channel (lib/fork_server_posix.cpp is the parent's
// side, lib/fork_server_main_posix.cpp the server's).
//
// First the hello that opens every channel (lib/protocol.hpp), then control messages: frames
// of kind `control` (wire.hpp), one each way at a time. The parent asks "fork" (followed by the call's channel end, passed with send_fd) and "kill";
// the server answers "started" (pid or errno) and "ended" (the wait status, once the server
// has reaped the child). The server reaps its children, so it is also the one that kills
// them: a pid it has reaped is never signalled, whatever reused it.
#ifndef MPDECOR_LIB_FORK_SERVER_HPP
#define MPDECOR_LIB_FORK_SERVER_HPP

#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mpdecor::detail {

// The glibc dynamic linker's switch for binding every symbol at start-up.
constexpr const char* bind_now_variable = "LD_BIND_NOW";

enum class message_kind : std::uint8_t { fork = 1, kill = 2, started = 3, ended = 4 };

/// One message on the control channel.
struct control_message {
  message_kind kind{};
  std::uint64_t id = 0;        // fork, started: which request
  std::int64_t pid = 0;        // started, ended, kill
  std::int32_t value = 0;      // started: errno (0: fine); ended: wait status
  std::string function;        // fork
  std::uint8_t worker = 0;     // fork: 1 for a pool's worker
  std::string key;             // fork: the child's launch key
  std::string directory;       // fork: working directory
  std::vector<std::pair<std::string, std::string>> environment; // fork: variables to set
  std::uint64_t memory_limit = 0; // fork
};

/// Sends one message; a fork request's channel end `fd` follows it alone, as a segment's
/// descriptor follows its frame header (see wire.hpp). Throws std::system_error.
void send_message(int socket, const control_message& message, int fd = -1);

/// Receives one message, and a fork request's descriptor into `fd` when asked. False when
/// the channel closed; throws std::system_error or decode_failure on a broken message.
bool receive_message(int socket, control_message& message, int* fd = nullptr);

} // namespace mpdecor::detail

#endif
#endif
