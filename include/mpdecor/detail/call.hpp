// mpdecor: the interface between the header-only decorators and the compiled supervisor.
// A call's state lives in the library; handles hold a shared pointer to it.
#ifndef MPDECOR_DETAIL_CALL_HPP
#define MPDECOR_DETAIL_CALL_HPP

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mpdecor::detail {

struct call_state; // defined in lib/supervisor.cpp
class segment;     // a shared-memory segment, lib/shared_memory.hpp

/// Everything the supervisor needs to start a call.
struct call_request {
  std::string function; ///< registered name
  std::string frame;    ///< the complete call frame (header and payload)
  options settings;
  /// The blocks the frame left to shared memory (its header says so); null for none.
  std::shared_ptr<const segment> shared;
};

/// The size from which a call with `settings` leaves vectors and strings to shared memory:
/// `shared_memory_threshold()` for children on this machine's sockets, 0 (never) for Slurm
/// steps and where shared memory is not supported.
std::size_t sharing_threshold(const options& settings) noexcept;
/// Copies the blocks an encoding recorded into a sealed shared-memory segment; the
/// encoded values must still be alive. Null if no segment could be made.
std::shared_ptr<const segment> share_blocks(const attachments& side) noexcept;

/// Encodes a call to `name` and returns its request: large blocks go to shared memory
/// when `settings` allows, and inline when no segment can be made.
template <class Encode>
call_request make_request(std::string name, const options& settings, Encode&& encode) {
  call_request request{std::move(name), {}, settings, nullptr};
  const std::size_t threshold = sharing_threshold(settings);
  if (threshold != 0) {
    attachments side(threshold);
    request.frame = encode(&side);
    if (side.empty())
      return request;
    request.shared = share_blocks(side);
    if (request.shared)
      return request;
  }
  request.frame = encode(nullptr);
  return request;
}

/// Starts the call now, or queues it when the limit on running children is reached.
std::shared_ptr<call_state> submit(call_request request);

void wait(call_state& call);
bool wait_for(call_state& call, std::chrono::nanoseconds timeout);
/// Waits, then returns the payload of the result, or throws the call's error.
std::string_view result(call_state& call);
/// The shared-memory segment that came with the result (empty if none); call after result().
std::string_view result_segment(call_state& call);
void kill(call_state& call);
pid_type pid(call_state& call);
bool running(call_state& call);
bool finished(call_state& call);
const std::string& function_name(const call_state& call);
/// Calls `listener` once the call has finished: at once, on this thread, if it has; else on
/// the supervisor's thread (or one cancelling the call). It must not block.
void when_finished(call_state& call, std::function<void()> listener);

} // namespace mpdecor::detail

#endif
