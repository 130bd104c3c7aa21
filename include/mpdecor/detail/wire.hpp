// SPDX-License-Identifier: BSL-1.0
// mpdecor: the wire format between a parent and its child, in one place.
//
// A message is a frame: a 16-byte header (magic, version, kind, payload length) followed
// by a payload written with cereal in its binary layout. The archives below write and
// read that layout straight from memory; the input archive is bounded: it refuses any
// read, and any container length, larger than the bytes left in the message, so a damaged
// or hostile message can never make the decoder allocate memory that the message does
// not itself contain (cereal's own binary archive would allocate 2 GiB for a plausible
// corrupted length before failing).
//
// Large contiguous data may travel beside the payload instead of inside it (Linux only).
// An output archive given an `attachments` list writes each vector of numbers (any
// arithmetic type but bool) and each string of at least `attachments::threshold` bytes as
// a reference: its element count with `shared_block_flag` set, then the 64-bit offset of
// its bytes in a shared segment; it records where the bytes are instead of copying them.
// The sender copies the recorded blocks into one anonymous shared-memory segment (a sealed
// memfd, lib/shared_memory.hpp) and sends the frame in this order on the socket:
//
//   1. the 16-byte frame header, with `segment_flag` set in its kind field;
//   2. one byte, `segment_marker`, sent on its own with the segment's file descriptor
//      attached (SCM_RIGHTS);
//   3. the payload, `length` bytes, as without a segment.
//
// The receiver reads exactly the 16 header bytes (never more: a plain read that reached
// the marker byte would make the kernel drop the descriptor), then the marker byte with
// recvmsg, then the payload, and decodes it with `input_archive(payload, segment)`. The
// input archive bounds references as strictly as inline data: each block must lie inside
// the segment and after the previous one, so the blocks of one message never overlap and
// never add up to more than the segment holds.
#ifndef MPDECOR_DETAIL_WIRE_HPP
#define MPDECOR_DETAIL_WIRE_HPP

#include <mpdecor/export.hpp>

#include <cereal/archives/binary.hpp> // the probe archive of has_own_serialization_v
#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp> // names and messages in the frames

#include <boost/pfr.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mpdecor::detail {

class shared_bytes; // a shared_array's storage, <mpdecor/shared_array.hpp>

/// What a frame carries.
enum class frame_kind : std::uint16_t {
  call = 1,             ///< parent -> child: function name, then the arguments
  value = 2,            ///< child -> parent: the function's result (empty for void)
  exception = 3,        ///< child -> parent: type and message of what the function threw
  unknown_function = 4, ///< child -> parent: the child has no function of that name
  bad_call = 5,         ///< child -> parent: the call could not be decoded
  hello = 6,            ///< parent -> child, first: the launch key that proves the parent
  control = 7,          ///< parent <-> fork server: a control message (lib/fork_server.hpp)
  crash_signal = 8,     ///< child -> parent: the signal ending the child (4 bytes), sent by
                        ///< its handler, for when the exit status cannot be had (POSIX)
  output_mark = 9,      ///< worker -> parent, before a result: the sizes its captured
                        ///< standard output and error had reached (2 x 8 bytes)
  call_batch = 10,      ///< parent -> worker: a chunk of calls, whole call frames end to end
  reply_batch = 11,     ///< worker -> parent: the replies to a chunk's calls (output marks
                        ///< included), whole frames end to end, in the calls' order
  ready = 12,           ///< worker -> parent, once, before any reply: it has started, read
                        ///< its hello and waits for calls (empty)
};
/// The last kind there is: a header with a later one is refused.
inline constexpr frame_kind last_frame_kind = frame_kind::ready;

inline constexpr std::uint32_t frame_magic = 0x6364706DU; // "mpdc" in memory order
inline constexpr std::uint16_t wire_version = 2;          // 2: a call carries its signature
inline constexpr std::size_t frame_header_size = 16;
/// Set in a frame header's kind field when a shared segment accompanies the frame.
inline constexpr std::uint16_t segment_flag = 0x8000;
/// The one byte that carries a segment's file descriptor, between header and payload.
inline constexpr unsigned char segment_marker = 0x53; // 'S'
/// Set in the element count of a vector or a string whose bytes lie in the shared segment.
inline constexpr std::uint64_t shared_block_flag = std::uint64_t{1} << 63;
/// Set in the element count of a shared_array that travels as a descriptor of its own.
inline constexpr std::uint64_t shared_array_flag = std::uint64_t{1} << 62;
/// The most shared_arrays one message passes by descriptor (the kernel passes at most 253
/// descriptors at once, one of which is the block segment); further ones are copied.
inline constexpr std::size_t max_shared_arrays = 128;
/// Where blocks start in a shared segment: on a cache line, so that copies run at full speed.
inline constexpr std::uint64_t shared_block_alignment = 64;

/// The decoded fixed part of a frame.
struct frame_header {
  frame_kind kind{};
  std::uint64_t length = 0;
  /// A descriptor follows the header: a shared segment's, or with a fork server's request
  /// the call's channel end.
  bool has_segment = false;
};

/// The deepest nesting of values a message may hold: a struct, a container or an element
/// inside another each count one level (a tree node holding a vector of nodes counts two
/// per node). Decoding is recursive, so without a bound a deep message, from a buggy or a
/// hostile sender, would overflow the receiver's stack; this one keeps the stack used
/// under a few hundred KiB, within the smallest default thread stack (1 MiB on Windows).
inline constexpr std::size_t max_nesting_depth = 2000;

/// A message that does not follow the wire format.
class MPDECOR_DECL decode_failure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Writes a frame header into the first `frame_header_size` bytes of `out`; `has_segment`
/// announces a shared segment between header and payload (see the file comment).
inline void write_frame_header(char* out, frame_kind kind, std::uint64_t length,
                               bool has_segment = false) {
  const auto kind_value = static_cast<std::uint16_t>(static_cast<std::uint16_t>(kind) |
                                                     (has_segment ? segment_flag : 0U));
  std::memcpy(out, &frame_magic, 4);
  std::memcpy(out + 4, &wire_version, 2);
  std::memcpy(out + 6, &kind_value, 2);
  std::memcpy(out + 8, &length, 8);
}

/// Parses a frame header; throws `decode_failure` when it is not one of ours.
inline frame_header read_frame_header(const char* in) {
  std::uint32_t magic = 0;
  std::uint16_t version = 0;
  std::uint16_t kind = 0;
  frame_header header;
  std::memcpy(&magic, in, 4);
  std::memcpy(&version, in + 4, 2);
  std::memcpy(&kind, in + 6, 2);
  std::memcpy(&header.length, in + 8, 8);
  if (magic != frame_magic)
    throw decode_failure("not an mpdecor message (bad magic number)");
  if (version != wire_version)
    throw decode_failure("mpdecor wire version " + std::to_string(version) + ", expected " +
                         std::to_string(wire_version) +
                         " (parent and child built from different mpdecor versions?)");
  header.has_segment = (kind & segment_flag) != 0;
  kind = static_cast<std::uint16_t>(kind & ~segment_flag);
  if (kind < 1 || kind > static_cast<std::uint16_t>(last_frame_kind))
    throw decode_failure("unknown message kind " + std::to_string(kind));
  header.kind = static_cast<frame_kind>(kind);
  return header;
}

/// The blocks that an output archive left out of its message, for a shared segment. It
/// holds pointers into the values being encoded: they must stay alive and unchanged until
/// the segment has been made (lib/shared_memory.hpp, `segment::create`).
struct attachments {
  /// One block: `size` bytes at `data`, to be copied to `offset` in the segment.
  struct block {
    const void* data = nullptr;
    std::size_t size = 0;
    std::uint64_t offset = 0;
  };

  /// Vectors and strings of at least this many bytes become blocks; 0 leaves all inline.
  std::size_t threshold = 0;
  /// The blocks, in the order of the message, at increasing offsets.
  std::vector<block> blocks;
  /// Bytes the segment needs: the end of the last block.
  std::uint64_t total = 0;
  /// The shared_arrays whose own segments go with the message, in the order of their
  /// descriptors after the block segment's; each appears once.
  std::vector<std::shared_ptr<const shared_bytes>> arrays;

  attachments() = default;
  explicit attachments(std::size_t threshold_bytes) : threshold(threshold_bytes) {}

  /// Whether a vector or a string of `size` bytes goes to the segment.
  bool takes(std::size_t size) const noexcept { return threshold != 0 && size >= threshold; }
  /// Records a block and returns its offset in the segment.
  std::uint64_t add(const void* data, std::size_t size) {
    const std::uint64_t offset =
        (total + shared_block_alignment - 1) / shared_block_alignment * shared_block_alignment;
    blocks.push_back(block{data, size, offset});
    total = offset + size;
    return offset;
  }
  /// Records a shared_array's storage (once, however often the message refers to it) and
  /// returns its index among the arrays; `max_shared_arrays` when no more can go.
  std::size_t add_array(const std::shared_ptr<const shared_bytes>& storage) {
    const auto found = std::find(arrays.begin(), arrays.end(), storage);
    if (found != arrays.end())
      return static_cast<std::size_t>(found - arrays.begin());
    if (arrays.size() == max_shared_arrays)
      return max_shared_arrays;
    arrays.push_back(storage);
    return arrays.size() - 1;
  }
  bool empty() const noexcept { return blocks.empty() && arrays.empty(); }
};

/// Reads a shared_array's storage's descriptor and address; defined with shared_bytes.
MPDECOR_DECL int shared_bytes_fd(const shared_bytes& storage) noexcept;
MPDECOR_DECL const char* shared_bytes_data(const shared_bytes& storage) noexcept;
MPDECOR_DECL std::size_t shared_bytes_size(const shared_bytes& storage) noexcept;

/// cereal output archive that appends the binary layout to a string, leaving large
/// vectors and strings to `side` when one is given (see the file comment).
class output_archive
    : public cereal::OutputArchive<output_archive, cereal::AllowEmptyClassElision> {
public:
  explicit output_archive(std::string& out, attachments* side = nullptr)
      : OutputArchive(this), out_(&out), side_(side) {}
  /// Counts the bytes an encoding would append to `counted`, without writing them (see
  /// `encode_sized`).
  struct counting {};
  output_archive(counting, std::size_t& counted, attachments* side = nullptr)
      : OutputArchive(this), counted_(&counted), side_(side) {}
  void saveBinary(const void* data, std::size_t size) {
    if (out_ == nullptr)
      *counted_ += size;
    else if (size != 0) // an empty vector's data() may be null
      out_->append(static_cast<const char*>(data), size);
  }
  /// Makes `side` the list that takes large blocks from here on (nullptr: everything inline)
  /// and returns the previous one: a value that will not outlive the encoding, whose
  /// blocks would point at freed memory when the segment is made, is written inline.
  attachments* swap_side(attachments* side) noexcept { return std::exchange(side_, side); }
  /// Writes a vector's or a string's element count and its `size` bytes at `data`:
  /// inline, or as a reference to a block of the shared segment.
  void save_contiguous(std::uint64_t count, const void* data, std::size_t size) {
    static_assert(sizeof(cereal::size_type) == sizeof(std::uint64_t),
                  "the wire format writes element counts in 64 bits");
    if (side_ != nullptr && side_->takes(size))
      return save_block(count, data, size);
    saveBinary(&count, sizeof count);
    saveBinary(data, size);
  }
  /// Writes a shared_array of `count` elements, `size` bytes in `storage`: as a reference to
  /// its own segment, whose descriptor goes with the message, where descriptors can go
  /// (`side` given) and it has one; otherwise as a block of the message's segment, or
  /// inline, like a vector.
  void save_array(std::uint64_t count, const std::shared_ptr<const shared_bytes>& storage,
                  std::size_t size) {
    if (size == 0 || !storage)
      return saveBinary(&count, sizeof count);
    if (side_ != nullptr && shared_bytes_fd(*storage) != -1) {
      const std::uint64_t index = side_->add_array(storage);
      if (index != max_shared_arrays) {
        const std::uint64_t tag = count | shared_array_flag;
        saveBinary(&tag, sizeof tag);
        saveBinary(&index, sizeof index);
        return;
      }
    }
    const char* data = shared_bytes_data(*storage);
    if (side_ != nullptr) // a block, whatever the threshold: it is shared memory already
      return save_block(count, data, size);
    saveBinary(&count, sizeof count);
    saveBinary(data, size);
  }

private:
  // The count, flagged, and the offset of the block that `side_` records for the bytes.
  void save_block(std::uint64_t count, const void* data, std::size_t size) {
    const std::uint64_t tag = count | shared_block_flag;
    const std::uint64_t offset = side_->add(data, size);
    saveBinary(&tag, sizeof tag);
    saveBinary(&offset, sizeof offset);
  }

  std::string* out_ = nullptr;
  std::size_t* counted_ = nullptr;
  attachments* side_;
};

/// Appends what `write(archive)` encodes to `out`, in a buffer sized first by a counting
/// pass over the same values: a large message grown as it is written would touch and copy
/// about twice its memory. `side` as for output_archive.
template <class Write>
void encode_sized(std::string& out, attachments* side, Write&& write) {
  std::size_t bytes = 0;
  {
    attachments probe(side != nullptr ? side->threshold : 0);
    output_archive counter(output_archive::counting{}, bytes, side != nullptr ? &probe : nullptr);
    write(counter);
  }
  out.reserve(out.size() + bytes);
  output_archive archive(out, side);
  write(archive);
}

/// What came with a message: its block segment's bytes and its shared_arrays' storages.
struct segment_contents {
  std::string_view blocks;
  const std::vector<std::shared_ptr<const shared_bytes>>* arrays = nullptr;

  segment_contents() = default;
  segment_contents(std::string_view block_bytes) : blocks(block_bytes) {} // NOLINT: implicit
  segment_contents(std::string_view block_bytes,
                   const std::vector<std::shared_ptr<const shared_bytes>>* array_storages)
      : blocks(block_bytes), arrays(array_storages) {}
};

/// Bounded cereal input archive over a message held in memory, and over the shared
/// segment that came with it, if any.
class input_archive : public cereal::InputArchive<input_archive, cereal::AllowEmptyClassElision> {
public:
  explicit input_archive(std::string_view message, segment_contents segment = {})
      : InputArchive(this), data_(message.data()), left_(message.size()), segment_(segment.blocks),
        arrays_(segment.arrays) {}

  void loadBinary(void* data, std::size_t size) {
    if (size == 0) // an empty vector's data() may be null, which memcpy must not get
      return;
    if (size > left_)
      throw decode_failure("message truncated: needs " + std::to_string(size) +
                           " more bytes, has " + std::to_string(left_));
    std::memcpy(data, data_, size);
    data_ += size;
    left_ -= size;
  }
  /// Checks a container length against the bytes that remain; see the file comment.
  void check_length(std::uint64_t length) const {
    if (length > left_)
      throw decode_failure("message claims " + std::to_string(length) + " elements but has only " +
                           std::to_string(left_) + " bytes left");
  }
  /// Checks that `count` elements of `size` bytes each fit in what remains.
  void check_bytes(std::uint64_t count, std::size_t size) const {
    if (count > left_ / size)
      throw decode_failure("message claims " + std::to_string(count) + " elements of " +
                           std::to_string(size) + " bytes but has only " + std::to_string(left_) +
                           " bytes left");
  }
  std::size_t bytes_left() const noexcept { return left_; }

  /// Counts one more level of values being decoded, one fewer (see `prologue` below).
  void enter() {
    if (++depth_ > max_nesting_depth)
      throw decode_failure("message nests values more than " + std::to_string(max_nesting_depth) +
                           " levels deep, mpdecor's limit (see max_nesting_depth)");
  }
  void leave() noexcept { --depth_; }

  /// A vector's or a string's elements, checked and consumed: `count` elements at `first`,
  /// inside the message or inside the shared segment.
  struct contiguous {
    std::size_t count = 0;
    const char* first = nullptr;
  };
  /// Reads a vector's or a string's count of `element_size`-byte elements, then the
  /// elements inline, or the reference to a shared block that follows a flagged count.
  /// Inline elements must fit in what is left of the message; a block must lie in the
  /// segment, after the previous block.
  contiguous read_contiguous(std::size_t element_size) {
    std::uint64_t tag = 0;
    loadBinary(&tag, sizeof tag);
    return read_contiguous(element_size, tag);
  }

  /// A shared_array's elements: `storage` holds them (at its start) when the array came as
  /// a descriptor of its own, otherwise they are `count` elements at `first`.
  struct array_elements {
    std::size_t count = 0;
    std::shared_ptr<const shared_bytes> storage;
    const char* first = nullptr;
  };
  /// Reads a shared_array of `element_size`-byte elements aligned on `alignment`: a
  /// reference to one of the message's array segments, which must exist and hold them, or
  /// elements as a vector's.
  array_elements read_array(std::size_t element_size, std::size_t alignment) {
    std::uint64_t tag = 0;
    loadBinary(&tag, sizeof tag);
    if ((tag & shared_block_flag) != 0 || (tag & shared_array_flag) == 0) {
      const contiguous elements = read_contiguous(element_size, tag);
      return {elements.count, nullptr, elements.first};
    }
    const std::uint64_t count = tag & ~shared_array_flag;
    std::uint64_t index = 0;
    loadBinary(&index, sizeof index);
    if (arrays_ == nullptr || index >= arrays_->size())
      throw decode_failure("message refers to shared array " + std::to_string(index) + " but " +
                           std::to_string(arrays_ == nullptr ? 0 : arrays_->size()) +
                           " came with it");
    const std::shared_ptr<const shared_bytes>& storage = (*arrays_)[index];
    const std::size_t size = shared_bytes_size(*storage);
    if (count > size / element_size)
      throw decode_failure("shared array claims " + std::to_string(count) + " elements of " +
                           std::to_string(element_size) + " bytes but its segment has only " +
                           std::to_string(size) + " bytes");
    if (reinterpret_cast<std::uintptr_t>(shared_bytes_data(*storage)) % alignment != 0)
      throw decode_failure("shared array's segment is not aligned for its elements");
    return {static_cast<std::size_t>(count), storage, nullptr};
  }

  contiguous read_contiguous(std::size_t element_size, std::uint64_t tag) {
    if ((tag & shared_block_flag) == 0) {
      check_length(tag);
      check_bytes(tag, element_size);
      const contiguous in_message{static_cast<std::size_t>(tag), data_};
      data_ += in_message.count * element_size;
      left_ -= in_message.count * element_size;
      return in_message;
    }
    const std::uint64_t count = tag & ~shared_block_flag;
    std::uint64_t offset = 0;
    loadBinary(&offset, sizeof offset);
    if (segment_.data() == nullptr)
      throw decode_failure("message refers to a shared segment (" + std::to_string(count) +
                           " elements at offset " + std::to_string(offset) +
                           ") but none came with it");
    const std::uint64_t size = segment_.size();
    // Each test compares values already known to be in range: no sum can overflow.
    if (offset < segment_used_ || offset > size)
      throw decode_failure("shared block at offset " + std::to_string(offset) +
                           " lies outside the unread part of the segment (bytes " +
                           std::to_string(segment_used_) + " to " + std::to_string(size) + ")");
    if (count > (size - offset) / element_size)
      throw decode_failure("shared block claims " + std::to_string(count) + " elements of " +
                           std::to_string(element_size) + " bytes at offset " +
                           std::to_string(offset) + " but the segment has only " +
                           std::to_string(size) + " bytes");
    segment_used_ = offset + count * element_size;
    return {static_cast<std::size_t>(count), segment_.data() + offset};
  }

private:
  std::size_t depth_ = 0;
  const char* data_;
  std::size_t left_;
  std::string_view segment_;
  const std::vector<std::shared_ptr<const shared_bytes>>* arrays_;
  std::uint64_t segment_used_ = 0; ///< the end of the last block read
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(output_archive& ar,
                                                                    const T& value) {
  ar.saveBinary(&value, sizeof value);
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, T& value) {
  ar.loadBinary(&value, sizeof value);
}
// A bool holds 0 or 1: any other byte is refused rather than loaded into a bool, where
// reading it would be undefined behaviour.
inline void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, bool& value) {
  unsigned char byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1)
    throw decode_failure("invalid bool value " + std::to_string(byte));
  value = byte == 1;
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, const cereal::NameValuePair<T>& pair) {
  ar(pair.value);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, cereal::NameValuePair<T>& pair) {
  ar(pair.value);
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, const cereal::SizeTag<T>& tag) {
  ar(tag.size);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, cereal::SizeTag<T>& tag) {
  ar(tag.size);
  ar.check_length(static_cast<std::uint64_t>(tag.size));
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, const cereal::BinaryData<T>& data) {
  ar.saveBinary(data.data, static_cast<std::size_t>(data.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, cereal::BinaryData<T>& data) {
  ar.loadBinary(data.data, static_cast<std::size_t>(data.size));
}

// Numeric vectors and strings are written and read in one block: inline, where their
// length must fit, element size included, in what is left, so they never allocate more
// than the message holds; or in the shared segment (see the file comment).
template <class T>
inline constexpr bool is_block_element_v = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

/// Fresh storage from this many bytes on has its pages faulted in at once before a copy.
inline constexpr std::size_t prefault_bytes = std::size_t{1} << 20;

/// Faults in the pages of `size` bytes of fresh storage at `data` in one system call
/// (Linux 5.14 or later: MADV_POPULATE_WRITE), much cheaper than the page faults of a
/// copy into it, one page at a time; elsewhere, or when the call fails, does nothing.
/// Defined in lib/shared_memory_linux.cpp (lib/shared_memory.cpp elsewhere).
MPDECOR_DECL void prefault(void* data, std::size_t size) noexcept;

/// Fills `values` (a vector or a string of `Element`s) with `count` elements whose bytes
/// start at `first`. Large ones get their storage reserved and faulted in before the copy;
/// where `first` is aligned for `Element`, `assign` then copies in one pass, where `resize`
/// would first zero-fill all of it.
template <class Element, class Container>
void assign_elements(Container& values, const char* first, std::size_t count) {
  const std::size_t size = count * sizeof(Element);
  if (size >= prefault_bytes) {
    values.clear();
    values.reserve(count);
    prefault(values.data(), size);
  }
  if (count != 0 && reinterpret_cast<std::uintptr_t>(first) % alignof(Element) == 0) {
    // The bytes are the object representations of `count` elements that the encoder
    // wrote: arithmetic values, trivially copyable, read back as such.
    const auto* elements = reinterpret_cast<const Element*>(first);
    values.assign(elements, elements + count);
    return;
  }
  values.resize(count);
  if (count != 0) // an empty vector's data() may be null, which memcpy must not get
    std::memcpy(values.data(), first, size);
}

template <class T, class Allocator>
std::enable_if_t<is_block_element_v<T>>
CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, const std::vector<T, Allocator>& values) {
  ar.save_contiguous(values.size(), values.data(), values.size() * sizeof(T));
}
template <class T, class Allocator>
std::enable_if_t<is_block_element_v<T>>
CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::vector<T, Allocator>& values) {
  const auto elements = ar.read_contiguous(sizeof(T));
  assign_elements<T>(values, elements.first, elements.count);
}
// Other vectors grow as their elements are decoded, instead of creating all of them up
// front: a length that the message cannot back costs at most the room the remaining bytes
// could fill, and anything beyond grows only with elements that were really there.
template <class T, class Allocator>
std::enable_if_t<!std::is_arithmetic_v<T>>
CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::vector<T, Allocator>& values) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  values.clear();
  values.reserve(
      static_cast<std::size_t>(std::min<std::uint64_t>(size, ar.bytes_left() / sizeof(T))));
  for (cereal::size_type i = 0; i < size; ++i) {
    values.emplace_back();
    ar(values.back());
  }
}
template <class Char, class Traits, class Allocator>
std::enable_if_t<std::is_arithmetic_v<Char>>
CEREAL_SAVE_FUNCTION_NAME(output_archive& ar,
                          const std::basic_string<Char, Traits, Allocator>& text) {
  ar.save_contiguous(text.size(), text.data(), text.size() * sizeof(Char));
}
template <class Char, class Traits, class Allocator>
std::enable_if_t<std::is_arithmetic_v<Char>>
CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::basic_string<Char, Traits, Allocator>& text) {
  const auto elements = ar.read_contiguous(sizeof(Char));
  assign_elements<Char>(text, elements.first, elements.count);
}

// --- Plain aggregates through Boost.PFR --------------------------------------------------
// A struct with public fields and no serialization of its own is written field by field.
// Types that cereal already knows (their own serialize/save/load, or a cereal header's)
// are left to cereal, or it would report an ambiguous serialization function.

template <class T>
inline constexpr bool has_own_serialization_v =
    cereal::traits::has_member_serialize<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_non_member_serialize<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_member_save<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_non_member_save<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_member_save_minimal<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_non_member_save_minimal<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_member_versioned_serialize<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_non_member_versioned_serialize<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_member_versioned_save<T, cereal::BinaryOutputArchive>::value ||
    cereal::traits::has_non_member_versioned_save<T, cereal::BinaryOutputArchive>::value;

template <class T>
inline constexpr bool use_pfr_v = std::is_class_v<T>&& std::is_aggregate_v<T> &&
                                  !std::is_polymorphic_v<T> && !has_own_serialization_v<T>;

template <class Archive>
inline constexpr bool is_wire_archive_v =
    std::is_same_v<Archive, output_archive> || std::is_same_v<Archive, input_archive>;

template <class Archive, class T,
          std::enable_if_t<is_wire_archive_v<Archive> && use_pfr_v<T>, int> = 0>
void CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, T& value) {
  boost::pfr::for_each_field(value, [&ar](auto& field) { ar(field); });
}

} // namespace mpdecor::detail

namespace mpdecor::detail {
// cereal calls these around every value it decodes: they bound the nesting depth.
template <class T>
void prologue(input_archive& ar, const T&) {
  ar.enter();
}
template <class T>
void epilogue(input_archive& ar, const T&) noexcept {
  ar.leave();
}
} // namespace mpdecor::detail

CEREAL_REGISTER_ARCHIVE(mpdecor::detail::output_archive)
CEREAL_REGISTER_ARCHIVE(mpdecor::detail::input_archive)
CEREAL_SETUP_ARCHIVE_TRAITS(mpdecor::detail::input_archive, mpdecor::detail::output_archive)

#endif
