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
int receive_fd(int) { unsupported("receiving a descriptor"); }

} // namespace mpdecor::detail

#endif
