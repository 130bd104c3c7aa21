// SPDX-License-Identifier: BSL-1.0
// mpdecor: how a pool map cuts its input into chunks and blocks (detail::chunk_sizer).
#include <mpdecor/detail/pool_call.hpp>

#include <algorithm>
#include <cstdint>

namespace mpdecor::detail {
namespace {

// An automatic chunk aims at this much work per message: long beside a message's cost (tens
// of microseconds), short beside a map, so that the last chunks end close together.
constexpr std::chrono::nanoseconds work_per_message = std::chrono::milliseconds(4);
// ... and holds at most this many bytes of arguments.
constexpr std::size_t bytes_per_message = std::size_t{1} << 20;
// A fixed chunk size submits about this many items at once, and keeps at least this many
// in flight by default.
constexpr std::size_t items_per_block = 1024;
constexpr std::size_t default_in_flight = 4096;
// A measured chunk grows at most this much from one measurement to the next.
constexpr std::size_t growth = 8;
// An automatic chunk keeps about this many items in flight at most (four chunks per worker):
// an item in flight costs the parent about 1 KiB (its task, its encoded call, its reply).
constexpr std::size_t automatic_in_flight = 16384;

} // namespace

chunk_sizer::chunk_sizer(std::size_t chunk, std::size_t in_flight, std::size_t workers,
                         std::optional<std::size_t> length)
    : automatic_(chunk == 0), wanted_(std::max<std::size_t>(chunk, 1)), chunk_(wanted_),
      in_flight_(in_flight), workers_(std::max<std::size_t>(workers, 1)), length_(length) {}

std::size_t chunk_sizer::next_chunk(std::size_t finished) {
  if (!automatic_)
    return chunk_;
  const auto now = std::chrono::steady_clock::now();
  if (!measuring_) {
    measuring_ = true;
    since_ = now;
    finished_since_ = finished;
  } else if (const std::size_t done = finished - finished_since_;
             done >= workers_ * chunk_ && now > since_) {
    // The workers were busy since the last measurement (the window keeps several chunks
    // per worker in flight), so this is how long an item takes one worker, its share of
    // the messages included.
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - since_).count();
    const auto per_item =
        std::max<std::uint64_t>(static_cast<std::uint64_t>(elapsed) * workers_ / done, 1);
    const auto wanted =
        static_cast<std::size_t>(static_cast<std::uint64_t>(work_per_message.count()) / per_item);
    wanted_ = std::clamp<std::size_t>(wanted, 1, wanted_ * growth);
    since_ = now;
    finished_since_ = finished;
  }
  chunk_ = std::min(wanted_, std::max<std::size_t>(1, automatic_in_flight / (4 * workers_)));
  if (read_ > 0)
    chunk_ = std::min(chunk_, std::max<std::size_t>(1, bytes_per_message * read_ / bytes_read_));
  // Near the end of an input of known length, every worker gets a share of what is left.
  if (length_ && *length_ > read_)
    chunk_ = std::min(chunk_, std::max<std::size_t>(1, (*length_ - read_) / (2 * workers_)));
  return chunk_;
}

std::size_t chunk_sizer::block() const noexcept {
  if (automatic_)
    return chunk_ * std::max(workers_, items_per_block / chunk_);
  return chunk_ * std::max<std::size_t>(2, items_per_block / chunk_);
}

std::size_t chunk_sizer::limit() const noexcept {
  if (in_flight_ != 0)
    return in_flight_;
  if (automatic_)
    return std::max<std::size_t>(64, 4 * workers_ * chunk_);
  return std::max(default_in_flight, 4 * workers_ * chunk_);
}

void chunk_sizer::encoded(std::size_t frame_bytes) noexcept {
  ++read_;
  bytes_read_ += std::max<std::size_t>(frame_bytes, 1);
}

} // namespace mpdecor::detail
