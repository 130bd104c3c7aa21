// SPDX-License-Identifier: BSL-1.0
// mpdecor: the shared-memory threshold, and the call path's use of segments, on every
// platform (lib/shared_memory_linux.cpp has the segments themselves, and
// lib/shared_memory_none.cpp their stand-ins where the platform has none).
#include "config.hpp"

#include "shared_memory.hpp"

#include <mpdecor/shared_memory.hpp>

#include <atomic>
#include <string>
#include <system_error>

namespace mpdecor {
namespace {

std::atomic<std::size_t> threshold{std::size_t{1} << 20};

} // namespace

void set_shared_memory_threshold(std::size_t bytes) noexcept {
  threshold.store(bytes, std::memory_order_relaxed);
}

std::size_t shared_memory_threshold() noexcept {
  if constexpr (!detail::shared_memory_supported)
    return 0;
  return threshold.load(std::memory_order_relaxed);
}

} // namespace mpdecor

#include "launch.hpp"

#include <mpdecor/detail/call.hpp>
#include <mpdecor/register.hpp>

#include <memory>
#include <optional>

namespace mpdecor::detail {
namespace {

// The segment of the reply being built in this child (one call at a time).
std::optional<segment> reply_segment;

} // namespace

std::optional<std::size_t> sharing_threshold(const options& settings) noexcept {
  // A Slurm step may run on another machine: its channel cannot carry a descriptor.
  if (!shared_memory_supported || effective_start_method(settings) == start_method::slurm)
    return std::nullopt;
  return shared_memory_threshold();
}

std::shared_ptr<const segment> share_blocks(const attachments& side) noexcept {
  try {
    return std::make_shared<const segment>(segment::create(side));
  } catch (const std::exception&) {
    return nullptr; // out of memory or descriptors: the caller sends everything inline
  }
}

bool seal_reply_blocks(const attachments& side) noexcept {
  try {
    reply_segment = segment::create(side);
    return true;
  } catch (const std::exception&) {
    reply_segment.reset();
    return false;
  }
}

segment take_reply_segment() noexcept {
  segment taken;
  if (reply_segment) {
    taken = std::move(*reply_segment);
    reply_segment.reset();
  }
  return taken;
}

} // namespace mpdecor::detail
