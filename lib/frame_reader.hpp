// SPDX-License-Identifier: BSL-1.0
// mpdecor: the parent's reader of a child's frames, for one-shot calls and pool workers.
#ifndef MPDECOR_LIB_FRAME_READER_HPP
#define MPDECOR_LIB_FRAME_READER_HPP

#include "launch.hpp"
#include "shared_memory.hpp"

#include <mpdecor/detail/wire.hpp>

#include <functional>
#include <memory>
#include <string>

namespace mpdecor::detail {

/// One frame from a child, or why none came.
struct incoming_frame {
  enum class end {
    complete,  ///< a whole frame: `header`, `payload` and, if announced, `shared`
    closed,    ///< the channel ended; `problem` says where, if inside a frame
    damaged,   ///< what came is not a frame (`problem`): the child cannot be trusted
    no_memory, ///< this process could not hold the frame (`problem`); header.length is
               ///< then the whole size, its shared segment included
  };
  end how = end::closed;
  frame_header header;
  std::string payload;
  std::shared_ptr<const segment> shared;
  std::string problem;
};

/// Reads one frame from `channel` and calls `done` once with it, on the channel's
/// executor. Never throws, there or from `done`'s caller: every failure is an `end`.
/// `channel` must live until `done` is called.
void async_read_frame(channel_ends& channel, std::function<void(incoming_frame)> done);

} // namespace mpdecor::detail

#endif
