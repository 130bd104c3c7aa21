// SPDX-License-Identifier: BSL-1.0
// mpdecor: what the two ends make of each other's messages. Kept apart from the processes
// so that the decoders can be fuzzed on their own (test/fuzz/).
#ifndef MPDECOR_LIB_REPLY_HPP
#define MPDECOR_LIB_REPLY_HPP

#include "failure.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

namespace mpdecor::detail {

/// The call a reply answers, for the error it may become.
struct reply_context {
  std::string_view function;
  pid_type pid = 0;
  std::size_t memory_limit = 0;
};

/// Turns a complete reply frame from a child into the call's failure, or no failure for a
/// value (whose payload the caller decodes as the function's result type). Throws
/// `decode_failure` when the reply is not a valid one.
failure decode_reply(frame_kind kind, std::string_view payload, const reply_context& context);

/// Child side: decodes a call payload (function name, then arguments; large blocks from
/// `segment`, with its shared_arrays), runs the function registered for `expected_name`,
/// and returns the complete reply frame. With `side`, the result's large blocks and its
/// shared_arrays go with a shared-memory segment (take_reply_segment) and the frame's
/// header says so.
std::string serve_call(std::string_view expected_name, std::string_view payload,
                       segment_contents segment = {}, attachments* side = nullptr);

} // namespace mpdecor::detail

#endif
