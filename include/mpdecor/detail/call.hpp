// SPDX-License-Identifier: BSL-1.0
// mpdecor: the interface between the header-only decorators and the compiled supervisor.
// A call's state lives in the library (detail/task.hpp); handles hold a shared pointer to it.
#ifndef MPDECOR_DETAIL_CALL_HPP
#define MPDECOR_DETAIL_CALL_HPP

#include <mpdecor/export.hpp>
#include <mpdecor/detail/task.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mpdecor::detail {

class segment; // a shared-memory segment, lib/shared_memory.hpp

/// Everything the supervisor needs to start a call.
struct call_request {
  std::string function; ///< registered name
  std::string frame;    ///< the complete call frame (header and payload)
  options settings;
  /// The blocks the frame left to shared memory (its header says so); null for none.
  std::shared_ptr<const segment> shared;
};

/// The size from which a call with `settings` leaves vectors and strings to shared memory:
/// `shared_memory_threshold()` (0: never) for children on this machine's sockets, which
/// also take shared_arrays by descriptor; none for Slurm steps and where shared memory is
/// not supported, whose messages carry everything inline.
MPDECOR_DECL std::optional<std::size_t> sharing_threshold(const options& settings) noexcept;
/// Copies the blocks an encoding recorded into a sealed shared-memory segment; the
/// encoded values must still be alive. Null if no segment could be made.
MPDECOR_DECL std::shared_ptr<const segment> share_blocks(const attachments& side) noexcept;

/// A frame and the segment holding the blocks it left to shared memory (null for none).
struct shared_frame {
  std::string frame;
  std::shared_ptr<const segment> shared;
};

/// Encodes with `encode(attachments*)`: blocks of at least `*threshold` bytes (0: none) and
/// shared_arrays go to shared memory, and everything inline without a threshold or when no
/// segment can be made.
template <class Encode>
shared_frame encode_sharing(std::optional<std::size_t> threshold, Encode&& encode) {
  shared_frame encoded;
  if (threshold) {
    attachments side(*threshold);
    encoded.frame = encode(&side);
    if (side.empty())
      return encoded;
    encoded.shared = share_blocks(side);
    if (encoded.shared)
      return encoded;
  }
  encoded.frame = encode(nullptr);
  return encoded;
}

/// Encodes a call to `name` and returns its request: large blocks go to shared memory
/// when `settings` allows, and inline when no segment can be made.
template <class Encode>
call_request make_request(std::string name, const options& settings, Encode&& encode) {
  shared_frame encoded = encode_sharing(sharing_threshold(settings), encode);
  return call_request{std::move(name), std::move(encoded.frame), settings,
                      std::move(encoded.shared)};
}

/// Starts the call now, or queues it when the limit on running children is reached.
MPDECOR_DECL std::shared_ptr<task_state> submit(call_request request);

} // namespace mpdecor::detail

#endif
