// SPDX-License-Identifier: BSL-1.0
// mpdecor: shared-memory segments and descriptor passing on Linux.
#include "config.hpp"

#include "os.hpp"
#include "shared_memory.hpp"

#include <mpdecor/shared_array.hpp>

#if defined(MPDECOR_SHARED_MEMORY)

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

[[noreturn]] void throw_system_error(int error, const std::string& what) {
  throw std::system_error(error, std::system_category(), "mpdecor: " + what);
}

// A segment can change neither its size nor its bytes once made, and its seals are final.
constexpr int segment_seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;

// Waits until `socket` is ready for `events`, after a non-blocking socket said EAGAIN.
void wait_for(int socket, short events, const char* what) {
  pollfd ready{socket, events, 0};
  if (os::poll(&ready, 1, -1) == -1)
    throw_system_error(errno, what);
}

// Copies a block in through the file rather than a mapping: the kernel allocates the
// segment's pages as it copies into them, twice as fast as a mapping's page faults, and no
// writable mapping remains to stand in the way of the write seal.
void write_block(int fd, const char* data, std::size_t size, std::uint64_t offset,
                 std::uint64_t total) {
  while (size != 0) {
    const ::ssize_t written = os::pwrite(fd, data, size, static_cast<::off_t>(offset));
    if (written == -1)
      throw_system_error(errno, "writing a shared segment of " + std::to_string(total) + " bytes");
    data += written;
    size -= static_cast<std::size_t>(written);
    offset += static_cast<std::uint64_t>(written);
  }
}

// The number of descriptors in a received SCM_RIGHTS part.
std::size_t descriptor_count(const cmsghdr* part) {
  return (part->cmsg_len - CMSG_LEN(0)) / sizeof(int);
}

int descriptor_at(const cmsghdr* part, std::size_t index) {
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(part) + index * sizeof(int), sizeof fd);
  return fd;
}

// The size of `fd`, a received segment (`what`: "shared segment" or "shared array"), once
// its seals are checked: only one that can no longer shrink is safe to read (no SIGBUS),
// and only one whose bytes can no longer change reads the same twice.
std::size_t sealed_size(int fd, const std::string& what) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  constexpr int needed = F_SEAL_SHRINK | F_SEAL_WRITE;
  if (seals == -1 || (seals & needed) != needed)
    throw decode_failure("a descriptor that came with the message is not a sealed mpdecor " + what);
  struct stat status {};
  if (::fstat(fd, &status) == -1)
    throw_system_error(errno, "reading the size of a " + what);
  if (static_cast<std::uint64_t>(status.st_size) > std::numeric_limits<std::size_t>::max())
    throw decode_failure("a " + what + " of " + std::to_string(status.st_size) +
                         " bytes does not fit in memory");
  return static_cast<std::size_t>(status.st_size);
}

// Maps `size` bytes of `fd` read-only; `flags` adds to MAP_SHARED.
void* map_read_only(int fd, std::size_t size, int flags, const std::string& what) {
  const int injected = os::injected_failure(os::operation::mmap);
  void* mapping = injected != 0 ? (errno = injected, MAP_FAILED)
                                : ::mmap(nullptr, size, PROT_READ, MAP_SHARED | flags, fd, 0);
  if (mapping == MAP_FAILED)
    throw_system_error(errno, "mapping a " + what + " of " + std::to_string(size) + " bytes");
  return mapping;
}

} // namespace

void prefault(void* data, std::size_t size) noexcept {
#if defined(MADV_POPULATE_WRITE)
  // madvise takes whole pages: fault in those inside the block; the copy faults the partial
  // pages at its ends. Before Linux 5.14 (EINVAL), or short of memory (ENOMEM), the copy
  // faults the pages one by one instead.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (start + page - 1) / page * page;
  const std::uintptr_t last = (start + size) / page * page;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
  (void)data;
  (void)size;
#endif
}

segment::segment(segment&& other) noexcept
    : fd_(other.fd_), mapping_(other.mapping_), size_(other.size_),
      arrays_(std::move(other.arrays_)) {
  other.arrays_.clear();
  other.fd_ = -1;
  other.mapping_ = nullptr;
  other.size_ = 0;
}

segment& segment::operator=(segment&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    mapping_ = other.mapping_;
    size_ = other.size_;
    arrays_ = std::move(other.arrays_);
    other.arrays_.clear();
    other.fd_ = -1;
    other.mapping_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

segment::~segment() { release(); }

void segment::release() noexcept {
  if (mapping_ != nullptr)
    ::munmap(mapping_, size_);
  if (fd_ != -1)
    ::close(fd_); // never retried: the descriptor is gone even when close says EINTR
  fd_ = -1;
  mapping_ = nullptr;
  size_ = 0;
  arrays_.clear();
}

std::string_view segment::view() const noexcept {
  if (mapping_ == nullptr)
    return {};
  return {static_cast<const char*>(mapping_), size_};
}

segment segment::create(const attachments& blocks) {
  // The second test matters where size_t is narrower than 64 bits.
  if (blocks.total > static_cast<std::uint64_t>(std::numeric_limits<::off_t>::max()) ||
      blocks.total > std::numeric_limits<std::size_t>::max()) // NOLINT(misc-redundant-expression)
    throw_system_error(EFBIG, "a shared segment of " + std::to_string(blocks.total) + " bytes");
  segment made;
  // MFD_CLOEXEC: a child that another thread starts meanwhile must not inherit it.
  const int injected = os::injected_failure(os::operation::memfd_create);
  made.fd_ = injected != 0 ? (errno = injected, -1)
                           : ::memfd_create("mpdecor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (made.fd_ == -1)
    throw_system_error(errno, "creating a shared segment (memfd_create)");
  if (::ftruncate(made.fd_, static_cast<::off_t>(blocks.total)) == -1)
    throw_system_error(errno,
                       "sizing a shared segment of " + std::to_string(blocks.total) + " bytes");
  made.size_ = static_cast<std::size_t>(blocks.total);
  for (const auto& block : blocks.blocks)
    write_block(made.fd_, static_cast<const char*>(block.data), block.size, block.offset,
                blocks.total);
  if (::fcntl(made.fd_, F_ADD_SEALS, segment_seals) == -1)
    throw_system_error(errno, "sealing a shared segment");
  made.arrays_ = blocks.arrays;
  return made;
}

segment segment::open(std::vector<int> fds) {
  std::vector<os::unique_fd> owned; // closed on every way out, as each is taken over
  for (const int fd : fds)
    owned.emplace_back(fd);
  if (owned.empty())
    throw decode_failure("a message's shared memory came without a descriptor");
  segment opened = open(owned.front().release());
  for (std::size_t i = 1; i < owned.size(); ++i)
    opened.arrays_.push_back(shared_bytes::open(owned[i].release()));
  return opened;
}

int shared_bytes_fd(const shared_bytes& storage) noexcept { return storage.fd(); }
const char* shared_bytes_data(const shared_bytes& storage) noexcept { return storage.data(); }
std::size_t shared_bytes_size(const shared_bytes& storage) noexcept { return storage.size(); }

segment segment::open(int fd) {
  segment opened;
  opened.fd_ = fd; // owned from here on: every way out closes it
  const std::size_t size = sealed_size(fd, "shared segment");
  if (size == 0)
    return opened;
  // MAP_POPULATE maps all the (already written) pages now, in one pass, instead of one
  // fault per page as the decoder reads them.
  opened.mapping_ = map_read_only(fd, size, MAP_POPULATE, "shared segment");
  opened.size_ = size;
  return opened;
}

std::vector<int> segment::descriptors() const {
  if (fd_ == -1)
    return {};
  std::vector<int> all{fd_};
  for (const auto& array : arrays_)
    all.push_back(array->fd());
  return all;
}

// --- shared_array storage -----------------------------------------------------------------

std::shared_ptr<shared_bytes> shared_bytes::allocate(std::size_t size) {
  std::shared_ptr<shared_bytes> made(new shared_bytes());
  made->size_ = size;
  if (size == 0)
    return made;
  const int injected = os::injected_failure(os::operation::memfd_create);
  const int fd = injected != 0 ? (errno = injected, -1)
                               : ::memfd_create("mpdecor-array", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd != -1 && ::ftruncate(fd, static_cast<::off_t>(size)) == 0) {
    void* mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapping != MAP_FAILED) {
      made->fd_ = fd;
      made->data_ = static_cast<char*>(mapping);
      made->mapped_ = true;
      if (size >= prefault_bytes)
        prefault(mapping, size); // one system call instead of a fault per page as it fills
      return made;
    }
  }
  if (fd != -1)
    ::close(fd);
  // No segment (out of descriptors, or of memory for the mapping): heap memory still makes
  // a working array, whose bytes are then copied when it travels.
  made->data_ = new char[size]();
  return made;
}

void shared_bytes::seal() {
  if (!mapped_ || fd_ == -1)
    return;
  // The write seal needs every writable mapping gone: the writer's is replaced by a
  // read-only one, which finds the same pages in the segment.
  ::munmap(data_, size_);
  data_ = nullptr;
  mapped_ = false;
  if (::fcntl(fd_, F_ADD_SEALS, segment_seals) == -1)
    throw_system_error(errno, "sealing a shared array of " + std::to_string(size_) + " bytes");
  void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (mapping == MAP_FAILED)
    throw_system_error(errno, "mapping a shared array of " + std::to_string(size_) + " bytes");
  data_ = static_cast<char*>(mapping);
  mapped_ = true;
}

std::shared_ptr<const shared_bytes> shared_bytes::open(int fd) {
  std::shared_ptr<shared_bytes> opened(new shared_bytes());
  opened->fd_ = fd; // owned from here on: every way out closes it
  const std::size_t size = sealed_size(fd, "shared array");
  if (size == 0)
    return opened;
  // No MAP_POPULATE: a reader pays for the pages it reads, and nothing for the others.
  opened->data_ = static_cast<char*>(map_read_only(fd, size, 0, "shared array"));
  opened->size_ = size;
  opened->mapped_ = true;
  return opened;
}

shared_bytes::~shared_bytes() {
  if (mapped_)
    ::munmap(data_, size_);
  else
    delete[] data_;
  if (fd_ != -1)
    ::close(fd_);
}

void send_fd(int socket, int fd) { send_fds(socket, std::vector<int>{fd}); }

void send_fds(int socket, const std::vector<int>& fds) {
  if (fds.empty() || fds.size() > max_shared_arrays + 1)
    throw std::invalid_argument("mpdecor: " + std::to_string(fds.size()) +
                                " descriptors to send with one message");
  char marker = static_cast<char>(segment_marker);
  iovec data{&marker, 1};
  alignas(cmsghdr) char control[CMSG_SPACE((max_shared_arrays + 1) * sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
  cmsghdr* rights = CMSG_FIRSTHDR(&message);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  std::memcpy(CMSG_DATA(rights), fds.data(), fds.size() * sizeof(int));
  for (;;) {
    // One byte goes whole or not at all. MSG_NOSIGNAL: a closed peer is an EPIPE error
    // here, not a SIGPIPE that ends the process.
    if (os::sendmsg(socket, &message, MSG_NOSIGNAL) == 1)
      return;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(socket, POLLOUT, "waiting to send a shared segment");
      continue;
    }
    throw_system_error(errno, "sending a shared segment's descriptor");
  }
}

std::uint64_t segment_size(int fd) noexcept {
  struct stat status {};
  if (::fstat(fd, &status) != 0 || status.st_size < 0)
    return 0;
  return static_cast<std::uint64_t>(status.st_size);
}

int receive_fd(int socket) {
  std::vector<int> fds = receive_fds(socket, 1);
  return fds.front();
}

std::vector<int> receive_fds(int socket, std::size_t most) {
  char marker = 0;
  iovec data{&marker, 1};
  // Room for more descriptors than may come, so that a peer that sends too many is refused
  // with all of them closed, not some of them dropped by the kernel (MSG_CTRUNC).
  alignas(cmsghdr) char control[CMSG_SPACE((max_shared_arrays + 8) * sizeof(int))] = {};
  msghdr message{};
  ::ssize_t received = -1;
  for (;;) {
    message = msghdr{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    // MSG_CMSG_CLOEXEC: the descriptor is close-on-exec from its first moment, so that no
    // child that another thread starts meanwhile inherits it.
    received = os::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received != -1)
      break;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(socket, POLLIN, "waiting for a shared segment");
      continue;
    }
    throw_system_error(errno, "receiving a shared segment's descriptor");
  }
  std::vector<os::unique_fd> fds; // closed on every way out but the one that hands them on
  for (cmsghdr* part = CMSG_FIRSTHDR(&message); part != nullptr;
       part = CMSG_NXTHDR(&message, part)) {
    if (part->cmsg_level != SOL_SOCKET || part->cmsg_type != SCM_RIGHTS)
      continue;
    for (std::size_t i = 0; i < descriptor_count(part); ++i)
      fds.emplace_back(descriptor_at(part, i));
  }
  const std::size_t count = fds.size();
  const bool truncated = (message.msg_flags & MSG_CTRUNC) != 0;
  const bool is_marker = marker == static_cast<char>(segment_marker);
  if (received == 1 && is_marker && count >= 1 && count <= most && !truncated) {
    std::vector<int> taken;
    for (auto& fd : fds)
      taken.push_back(fd.release());
    return taken;
  }
  if (received == 0)
    throw std::runtime_error("mpdecor: the peer closed the channel before sending the shared "
                             "segment's descriptor");
  if (!is_marker)
    throw std::runtime_error("mpdecor: expected the shared segment's marker byte, got byte " +
                             std::to_string(static_cast<unsigned char>(marker)) +
                             (count != 0 ? " with descriptors" : ""));
  if (count == 0 && !truncated)
    throw std::runtime_error("mpdecor: the shared segment's marker byte carried no descriptor");
  throw std::runtime_error(
      "mpdecor: the shared segment's marker byte carried " +
      (truncated ? std::string("more descriptors than fit") : std::to_string(count)) +
      " descriptors instead of " +
      (most == 1 ? std::string("one") : "at most " + std::to_string(most)));
}

} // namespace mpdecor::detail

#endif
