// mpdecor: the shared-memory threshold, and the shared-memory functions where the
// platform has none (lib/shared_memory_linux.cpp has the real ones).
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

#if !defined(MPDECOR_SHARED_MEMORY)

namespace mpdecor::detail {
namespace {

[[noreturn]] void unsupported(const char* what) {
  throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                          std::string("mpdecor: ") + what +
                              ": no shared memory on this platform");
}

} // namespace

void prefault(void*, std::size_t) noexcept {}

// Without shared memory a segment is always empty: nothing to close or unmap.
segment::segment(segment&& other) noexcept
    : fd_(other.fd_), mapping_(other.mapping_), size_(other.size_) {}
segment& segment::operator=(segment&& other) noexcept {
  fd_ = other.fd_;
  mapping_ = other.mapping_;
  size_ = other.size_;
  return *this;
}
segment::~segment() = default;
void segment::release() noexcept {}
std::string_view segment::view() const noexcept { return {}; }
segment segment::create(const attachments&) { unsupported("creating a shared segment"); }
segment segment::open(int) { unsupported("opening a shared segment"); }
void send_fd(int, int) { unsupported("sending a descriptor"); }
std::uint64_t segment_size(int) noexcept { return 0; }
int receive_fd(int) { unsupported("receiving a descriptor"); }

} // namespace mpdecor::detail

#endif

// --- the call path's use of segments, on every platform ------------------------------------

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

std::size_t sharing_threshold(const options& settings) noexcept {
  // A Slurm step may run on another machine: its channel cannot carry a descriptor.
  if (effective_start_method(settings) == start_method::slurm)
    return 0;
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
