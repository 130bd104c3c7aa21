// SPDX-License-Identifier: BSL-1.0
// mpdecor: anonymous shared-memory segments for large arguments and results, and the
// passing of their file descriptors over the channel's unix socket.
//
// A sender encodes with an `attachments` list (detail/wire.hpp), makes one `segment` of
// its blocks, and sends the frame header, the segment's descriptor (`send_fd`) and the
// payload, in that order; the receiver takes the descriptor (`receive_fd`), opens the
// segment and decodes the payload with its view. A segment is a memfd: it has no name and
// is freed when the last descriptor and mapping of it go, whatever becomes of the
// processes. Linux only: elsewhere `shared_memory_supported` is false and the functions
// throw std::system_error (function_not_supported).
#ifndef MPDECOR_LIB_SHARED_MEMORY_HPP
#define MPDECOR_LIB_SHARED_MEMORY_HPP

#include "config.hpp"

#include <mpdecor/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace mpdecor::detail {

/// Owner of one shared-memory segment: its file descriptor and, once opened, a read-only
/// mapping of it. Move-only; closes and unmaps on destruction.
class segment {
public:
  segment() noexcept = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment();

  /// Makes a segment of `blocks.total` bytes holding each block at its offset, and seals
  /// it: neither its size nor its bytes can change any more, so a receiver can map it
  /// without fear of SIGBUS or of bytes that change while it decodes. The blocks are
  /// copied once, through the file (no mapping in this process: `view()` is empty). The
  /// descriptor is close-on-exec. Throws std::system_error.
  static segment create(const attachments& blocks);

  /// Takes ownership of `fds`, the descriptors received with a message: the block
  /// segment's, opened as by `open(int)`, then those of its shared_arrays, each opened by
  /// shared_bytes::open. Every one is closed on any way out but success.
  static segment open(std::vector<int> fds);

  /// Takes ownership of `fd`, a received segment, and maps it read-only. Refuses (throws
  /// decode_failure, closing `fd`) a descriptor that is not a sealed segment: one whose
  /// size could still shrink would crash the reader with SIGBUS. Throws std::system_error
  /// when the system calls fail.
  static segment open(int fd);

  /// The segment's bytes, for `input_archive(payload, view())`; empty before `open`.
  std::string_view view() const noexcept;
  /// The blocks and the shared_arrays, for `input_archive(payload, contents())`.
  segment_contents contents() const noexcept { return {view(), &arrays_}; }
  /// The descriptors to send with `send_fds`: the block segment's, then the arrays'.
  std::vector<int> descriptors() const;
  /// The descriptor to send with `send_fd`; -1 for an empty segment.
  int fd() const noexcept { return fd_; }
  /// The segment's size in bytes.
  std::size_t size() const noexcept { return size_; }
  explicit operator bool() const noexcept { return fd_ != -1; }

private:
  void release() noexcept;

  int fd_ = -1;
  void* mapping_ = nullptr;
  std::size_t size_ = 0;
  // The shared_arrays that go (or came) with the message: held until the peer has them.
  std::vector<std::shared_ptr<const shared_bytes>> arrays_;
};

/// The size of the segment `fd` (0 when it cannot be told), for an error that must say
/// how large a segment was that could not be mapped.
std::uint64_t segment_size(int fd) noexcept;

/// The segment of the reply the child just built (seal_reply_blocks), or an empty one.
segment take_reply_segment() noexcept;

/// Sends one byte, `segment_marker`, alone with `fd` attached (SCM_RIGHTS) on the unix
/// stream socket `socket`. Blocking; on a non-blocking socket it waits for room with poll.
/// Retries on EINTR; raises no SIGPIPE. Throws std::system_error (e.g. EPIPE: the peer is
/// gone). The sender may close `fd` as soon as this returns: the peer has its own.
void send_fd(int socket, int fd);
/// Sends `segment_marker` with all of `fds` attached (1 to max_shared_arrays + 1), as
/// `send_fd` does one.
void send_fds(int socket, const std::vector<int>& fds);

/// Receives exactly one byte from the unix stream socket `socket` and returns the file
/// descriptor that came with it (close-on-exec), for the caller to own. Blocking; on a
/// non-blocking socket it waits with poll. Throws std::runtime_error when the peer closed
/// the socket, when the byte is not `segment_marker` or carried no descriptor, or carried
/// more than one (closing any that came); std::system_error when a system call fails.
int receive_fd(int socket);
/// Receives the marker byte with 1 to `most` descriptors, as `receive_fd` does one; refuses
/// (closing them all) more than `most`.
std::vector<int> receive_fds(int socket, std::size_t most);

} // namespace mpdecor::detail

#endif
