// mpdecor: the wire format between a parent and its child, in one place.
//
// A message is a frame: a 16-byte header (magic, version, kind, payload length) followed
// by a payload written with cereal in its binary layout. The archives below write and
// read that layout straight from memory; the input archive is bounded: it refuses any
// read, and any container length, larger than the bytes left in the message, so a damaged
// or hostile message can never make the decoder allocate memory that the message does
// not itself contain (cereal's own binary archive would allocate 2 GiB for a plausible
// corrupted length before failing).
#ifndef MPDECOR_DETAIL_WIRE_HPP
#define MPDECOR_DETAIL_WIRE_HPP

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
#include <string_view>
#include <type_traits>
#include <vector>

namespace mpdecor::detail {

/// What a frame carries.
enum class frame_kind : std::uint16_t {
  call = 1,             ///< parent -> child: function name, then the arguments
  value = 2,            ///< child -> parent: the function's result (empty for void)
  exception = 3,        ///< child -> parent: type and message of what the function threw
  unknown_function = 4, ///< child -> parent: the child has no function of that name
  bad_call = 5,         ///< child -> parent: the call could not be decoded
  hello = 6,            ///< parent -> child, first: the launch key that proves the parent
};

/// Environment variable that hands a child its launch key; the child removes it at once.
inline constexpr const char* launch_key_variable = "MPDECOR_LAUNCH_KEY";
/// Bytes in a launch key.
inline constexpr std::size_t launch_key_size = 32;

inline constexpr std::uint32_t frame_magic = 0x6364706DU; // "mpdc" in memory order
inline constexpr std::uint16_t wire_version = 1;
inline constexpr std::size_t frame_header_size = 16;

/// The decoded fixed part of a frame.
struct frame_header {
  frame_kind kind{};
  std::uint64_t length = 0;
};

/// A message that does not follow the wire format.
class decode_failure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Writes a frame header into the first `frame_header_size` bytes of `out`.
inline void write_frame_header(char* out, frame_kind kind, std::uint64_t length) {
  const auto kind_value = static_cast<std::uint16_t>(kind);
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
  if (kind < 1 || kind > 6)
    throw decode_failure("unknown message kind " + std::to_string(kind));
  header.kind = static_cast<frame_kind>(kind);
  return header;
}

/// cereal output archive that appends the binary layout to a string.
class output_archive : public cereal::OutputArchive<output_archive, cereal::AllowEmptyClassElision> {
public:
  explicit output_archive(std::string& out) : OutputArchive(this), out_(out) {}
  void saveBinary(const void* data, std::size_t size) {
    if (size != 0) // an empty vector's data() may be null
      out_.append(static_cast<const char*>(data), size);
  }

private:
  std::string& out_;
};

/// Bounded cereal input archive over a message held in memory.
class input_archive : public cereal::InputArchive<input_archive, cereal::AllowEmptyClassElision> {
public:
  explicit input_archive(std::string_view message)
      : InputArchive(this), data_(message.data()), left_(message.size()) {}

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
      throw decode_failure("message claims " + std::to_string(length) +
                           " elements but has only " + std::to_string(left_) + " bytes left");
  }
  /// Checks that `count` elements of `size` bytes each fit in what remains.
  void check_bytes(std::uint64_t count, std::size_t size) const {
    if (count > left_ / size)
      throw decode_failure("message claims " + std::to_string(count) + " elements of " +
                           std::to_string(size) + " bytes but has only " +
                           std::to_string(left_) + " bytes left");
  }
  std::size_t bytes_left() const noexcept { return left_; }

private:
  const char* data_;
  std::size_t left_;
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

// Numeric vectors and strings are read in one block: their length must fit, element size
// included, in what is left, so they never allocate more than the message holds.
template <class T, class Allocator>
std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>
CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::vector<T, Allocator>& values) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  ar.check_bytes(size, sizeof(T));
  values.resize(static_cast<std::size_t>(size));
  ar.loadBinary(values.data(), static_cast<std::size_t>(size) * sizeof(T));
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
  values.reserve(static_cast<std::size_t>(
      std::min<std::uint64_t>(size, ar.bytes_left() / sizeof(T))));
  for (cereal::size_type i = 0; i < size; ++i) {
    values.emplace_back();
    ar(values.back());
  }
}
template <class Char, class Traits, class Allocator>
std::enable_if_t<std::is_arithmetic_v<Char>>
CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::basic_string<Char, Traits, Allocator>& text) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  ar.check_bytes(size, sizeof(Char));
  text.resize(static_cast<std::size_t>(size));
  ar.loadBinary(text.data(), static_cast<std::size_t>(size) * sizeof(Char));
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
inline constexpr bool use_pfr_v = std::is_class_v<T> && std::is_aggregate_v<T> &&
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

CEREAL_REGISTER_ARCHIVE(mpdecor::detail::output_archive)
CEREAL_REGISTER_ARCHIVE(mpdecor::detail::input_archive)
CEREAL_SETUP_ARCHIVE_TRAITS(mpdecor::detail::input_archive, mpdecor::detail::output_archive)

#endif
