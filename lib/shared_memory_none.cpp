// SPDX-License-Identifier: BSL-1.0
// mpdecor: shared memory where the platform has none (lib/shared_memory.hpp): segments are
// always empty, and making, opening or passing one fails with function_not_supported.
#include "config.hpp"

#if !defined(MPDECOR_SHARED_MEMORY)

#include "shared_memory.hpp"

#include <mpdecor/shared_array.hpp>

#include <string>
#include <system_error>

namespace mpdecor::detail {
namespace {

[[noreturn]] void unsupported(const char* what) {
  throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                          std::string("mpdecor: ") + what + ": no shared memory on this platform");
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
segment segment::open(std::vector<int>) { unsupported("opening a shared segment"); }
std::vector<int> segment::descriptors() const { return {}; }
void send_fds(int, const std::vector<int>&) { unsupported("sending descriptors"); }
std::vector<int> receive_fds(int, std::size_t) { unsupported("receiving descriptors"); }

// A shared_array's storage is heap memory here: its bytes travel in the message.
std::shared_ptr<shared_bytes> shared_bytes::allocate(std::size_t size) {
  std::shared_ptr<shared_bytes> made(new shared_bytes());
  made->size_ = size;
  if (size != 0)
    made->data_ = new char[size]();
  return made;
}
void shared_bytes::seal() {}
std::shared_ptr<const shared_bytes> shared_bytes::open(int) {
  unsupported("opening a shared array");
}
shared_bytes::~shared_bytes() {
  // Here data_ is never a mapping; the check keeps the destructor right if that changes.
  if (!mapped_)
    delete[] data_;
}

int shared_bytes_fd(const shared_bytes& storage) noexcept { return storage.fd(); }
const char* shared_bytes_data(const shared_bytes& storage) noexcept { return storage.data(); }
std::size_t shared_bytes_size(const shared_bytes& storage) noexcept { return storage.size(); }
void send_fd(int, int) { unsupported("sending a descriptor"); }
std::uint64_t segment_size(int) noexcept { return 0; }
int receive_fd(int) { unsupported("receiving a descriptor"); }

} // namespace mpdecor::detail

#endif
