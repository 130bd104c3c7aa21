// SPDX-License-Identifier: BSL-1.0
// mpdecor: arrays of numbers that cross between processes without being copied.
//
// A `shared_array<T>` is a read-only array of numbers (any arithmetic type but bool) whose
// storage is a sealed shared-memory segment. Passed to a call or returned from one, only
// the segment's file descriptor travels: the child maps the very pages the parent wrote,
// and a result comes back the same way, so that an argument or a result of any size costs
// a mapping, not a copy. Copies of a shared_array share the one segment (reference
// counted, like a shared_ptr to const); it is freed when the last copy and the last
// process holding it are gone, whatever becomes of the processes, and it has no name in
// any file system, so no crash can leave one behind.
//
// An `array_writer<T>` is how one is made: fresh, zero-filled shared memory that its owner
// fills like a vector, then seals with `std::move(writer).share()`; after that no process
// can change the bytes or the size. A shared_array can also be made from existing data
// (one copy).
//
//     mpdecor::array_writer<double> out(n);
//     std::iota(out.begin(), out.end(), 0.0);
//     mpdecor::shared_array<double> data = std::move(out).share();
//     mpdecor::shared_array<double> scaled = mpdecor::proc_wait(scale)(data, 2.0);
//
// Where the descriptor cannot travel (Windows, Slurm steps on other nodes) or no segment
// can be made (out of descriptors), the same code still works: the bytes travel in the
// message and the receiver gets its own copy.
#ifndef MPDECOR_SHARED_ARRAY_HPP
#define MPDECOR_SHARED_ARRAY_HPP

#include <mpdecor/export.hpp>
#include <mpdecor/detail/wire.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace mpdecor {
namespace detail {

/// The storage of a shared_array: a shared-memory segment (a memfd on Linux) mapped into
/// this process, or, where there is none, memory on the heap. Made writable by `allocate`,
/// read-only from `seal` on; a received one is read-only from the start.
class MPDECOR_DECL shared_bytes {
public:
  /// `size` zero-filled, writable bytes in a fresh segment; on the heap where the platform
  /// has no shared memory or no segment can be made. Throws std::bad_alloc when there is
  /// no memory at all.
  static std::shared_ptr<shared_bytes> allocate(std::size_t size);
  /// Takes ownership of `fd`, a received segment, and maps it read-only. Refuses (throws
  /// decode_failure, closing `fd`) a descriptor that is not a sealed segment; throws
  /// std::system_error when it cannot be mapped.
  static std::shared_ptr<const shared_bytes> open(int fd);

  shared_bytes(const shared_bytes&) = delete;
  shared_bytes& operator=(const shared_bytes&) = delete;
  ~shared_bytes();

  /// Seals the segment: from here on no process can change its size or its bytes, and this
  /// process's mapping is read-only. Does nothing for heap memory. Throws std::system_error
  /// (the mapping is then gone: the storage must not be used any more).
  void seal();

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  /// The segment's descriptor, to send; -1 for heap memory.
  int fd() const noexcept { return fd_; }

private:
  shared_bytes() = default;

  int fd_ = -1;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false; // data_ is a mapping of fd_ (otherwise heap memory, or none)
};

template <class T>
inline constexpr bool is_array_element_v = is_block_element_v<T>;

} // namespace detail

template <class T>
class array_writer;

/// A read-only array of `T` in shared memory; see the file comment. Cheap to copy: copies
/// share the storage. Thread-safe as a shared_ptr to const is.
template <class T>
class shared_array {
  static_assert(detail::is_array_element_v<T>,
                "mpdecor::shared_array holds arithmetic values other than bool");

public:
  using value_type = T;
  using size_type = std::size_t;
  using const_iterator = const T*;
  using iterator = const T*;
  using const_reference = const T&;
  using reference = const T&;

  /// An empty array.
  shared_array() noexcept = default;
  /// A copy of the `count` elements at `first`, in a fresh segment (one copy).
  shared_array(const T* first, std::size_t count) {
    if (count == 0)
      return;
    if (count > max_size())
      throw std::length_error("mpdecor::shared_array: too many elements");
    auto bytes = detail::shared_bytes::allocate(count * sizeof(T));
    std::memcpy(bytes->data(), first, count * sizeof(T));
    bytes->seal();
    bytes_ = std::move(bytes);
    count_ = count;
  }
  /// A copy of `values`, in a fresh segment (one copy).
  explicit shared_array(const std::vector<T>& values)
      : shared_array(values.data(), values.size()) {}
  shared_array(std::initializer_list<T> values) : shared_array(values.begin(), values.size()) {}

  const T* data() const noexcept {
    return bytes_ ? reinterpret_cast<const T*>(bytes_->data()) : nullptr;
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  static constexpr std::size_t max_size() noexcept {
    return static_cast<std::size_t>(-1) / sizeof(T);
  }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + count_; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  const T& front() const noexcept { return data()[0]; }
  const T& back() const noexcept { return data()[count_ - 1]; }
  /// The elements, copied into a vector.
  std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }
  /// Whether the elements are in a shared-memory segment, so that passing the array to a
  /// child on this machine copies nothing (false for an empty array, and where the
  /// platform has no shared memory).
  bool in_shared_memory() const noexcept { return bytes_ && bytes_->fd() != -1; }

  /// Element-wise comparison.
  friend bool operator==(const shared_array& a, const shared_array& b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const shared_array& a, const shared_array& b) noexcept {
    return !(a == b);
  }

  /// For mpdecor's wire format (detail/wire.hpp); not for users.
  const std::shared_ptr<const detail::shared_bytes>& storage() const noexcept { return bytes_; }
  /// For mpdecor's wire format: an array over the first `count` elements of `bytes`, which
  /// the caller has checked to hold them, suitably aligned.
  static shared_array adopt(std::shared_ptr<const detail::shared_bytes> bytes, std::size_t count) {
    shared_array made;
    made.bytes_ = count != 0 ? std::move(bytes) : nullptr;
    made.count_ = made.bytes_ ? count : 0;
    return made;
  }

private:
  std::shared_ptr<const detail::shared_bytes> bytes_;
  std::size_t count_ = 0;
};

/// Fresh, writable, zero-filled shared memory for `count` elements of `T`, to fill and then
/// turn into a shared_array with `std::move(writer).share()`. Move-only.
template <class T>
class array_writer {
  static_assert(detail::is_array_element_v<T>,
                "mpdecor::array_writer holds arithmetic values other than bool");

public:
  using value_type = T;
  using size_type = std::size_t;
  using iterator = T*;
  using const_iterator = const T*;

  /// Throws std::length_error for a count too large to address, std::bad_alloc without
  /// memory.
  explicit array_writer(std::size_t count) : count_(count) {
    if (count > shared_array<T>::max_size())
      throw std::length_error("mpdecor::array_writer: too many elements");
    if (count != 0)
      bytes_ = detail::shared_bytes::allocate(count * sizeof(T));
  }
  array_writer(array_writer&& other) noexcept
      : bytes_(std::move(other.bytes_)), count_(std::exchange(other.count_, 0)) {}
  array_writer& operator=(array_writer&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    count_ = std::exchange(other.count_, 0);
    return *this;
  }
  array_writer(const array_writer&) = delete;
  array_writer& operator=(const array_writer&) = delete;
  ~array_writer() = default;

  T* data() noexcept { return bytes_ ? reinterpret_cast<T*>(bytes_->data()) : nullptr; }
  const T* data() const noexcept {
    return bytes_ ? reinterpret_cast<const T*>(bytes_->data()) : nullptr;
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + count_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + count_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }

  /// Seals the memory (no process can change it any more) and returns it as a shared_array,
  /// without copying; the writer is left empty. Throws std::system_error when the segment
  /// cannot be sealed or mapped again; the writer is empty then too.
  shared_array<T> share() && {
    auto bytes = std::move(bytes_);
    const std::size_t count = std::exchange(count_, 0);
    if (!bytes)
      return {};
    bytes->seal();
    return shared_array<T>::adopt(std::move(bytes), count);
  }

private:
  std::shared_ptr<detail::shared_bytes> bytes_;
  std::size_t count_ = 0;
};

namespace detail {

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, const shared_array<T>& values) {
  ar.save_array(values.size(), values.storage(), values.size() * sizeof(T));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, shared_array<T>& values) {
  const auto got = ar.read_array(sizeof(T), alignof(T));
  if (got.storage) {
    values = shared_array<T>::adopt(got.storage, got.count);
    return;
  }
  // The elements came in the message or in its block segment: this process's own copy.
  values = shared_array<T>();
  if (got.count == 0)
    return;
  auto bytes = shared_bytes::allocate(got.count * sizeof(T));
  std::memcpy(bytes->data(), got.first, got.count * sizeof(T));
  bytes->seal();
  values = shared_array<T>::adopt(std::move(bytes), got.count);
}

} // namespace detail
} // namespace mpdecor

#endif
