// SPDX-License-Identifier: BSL-1.0
// Large vectors and strings beside the message: the archives' references into a shared
// segment, the segments themselves, and the passing of their descriptors.
#include "shared_memory.hpp" // internal (mpdecor_internal)
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#if defined(__linux__)
#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace {

using mpdecor::detail::attachments;
using mpdecor::detail::decode_failure;
using mpdecor::detail::input_archive;
using mpdecor::detail::output_archive;

struct sample {
  std::vector<double> big;
  std::vector<int> small;
  std::string name;
  std::vector<std::vector<float>> rows;
  std::string text;
};

template <class T>
std::string encode(const T& value, attachments* side) {
  std::string payload;
  output_archive archive(payload, side);
  archive(value);
  return payload;
}

template <class T>
T decode(std::string_view payload, std::string_view segment = {}) {
  T value{};
  input_archive archive(payload, segment);
  archive(value);
  return value;
}

/// A segment's bytes, made in ordinary memory as segment::create lays them out.
std::string gather(const attachments& side) {
  std::string segment(static_cast<std::size_t>(side.total), '\0');
  for (const auto& block : side.blocks)
    std::memcpy(segment.data() + block.offset, block.data, block.size);
  return segment;
}

std::vector<double> ramp(std::size_t count) {
  std::vector<double> values(count);
  std::iota(values.begin(), values.end(), 0.5);
  return values;
}

/// A payload that refers to a block: a vector<double> of `count` elements at `offset`.
std::string reference(std::uint64_t count, std::uint64_t offset) {
  const std::uint64_t tag = count | mpdecor::detail::shared_block_flag;
  std::string payload(16, '\0');
  std::memcpy(payload.data(), &tag, 8);
  std::memcpy(payload.data() + 8, &offset, 8);
  return payload;
}

template <class T = std::vector<double>>
bool fails_with(std::string_view payload, std::string_view segment, const std::string& text) {
  try {
    decode<T>(payload, segment);
  } catch (const decode_failure& failure) {
    return std::string(failure.what()).find(text) != std::string::npos;
  }
  return false;
}

} // namespace

BOOST_AUTO_TEST_SUITE(shared_memory)

BOOST_AUTO_TEST_CASE(the_threshold_is_one_mebibyte_by_default_and_can_be_set) {
  const std::size_t before = mpdecor::shared_memory_threshold();
#if defined(__linux__)
  BOOST_TEST(before == std::size_t{1} << 20);
  mpdecor::set_shared_memory_threshold(4096);
  BOOST_TEST(mpdecor::shared_memory_threshold() == 4096u);
  mpdecor::set_shared_memory_threshold(0);
  BOOST_TEST(mpdecor::shared_memory_threshold() == 0u);
  mpdecor::set_shared_memory_threshold(before);
#else
  // No shared memory: whatever is set, everything travels in the message.
  BOOST_TEST(before == 0u);
  mpdecor::set_shared_memory_threshold(4096);
  BOOST_TEST(mpdecor::shared_memory_threshold() == 0u);
#endif
}

BOOST_AUTO_TEST_CASE(without_attachments_everything_stays_in_the_message) {
  const std::vector<double> values = ramp(1000);
  attachments off(0);
  BOOST_TEST(encode(values, nullptr) == encode(values, &off));
  BOOST_TEST(off.empty());
  BOOST_TEST(decode<std::vector<double>>(encode(values, nullptr)) == values);
}

BOOST_AUTO_TEST_CASE(a_vector_of_doubles_travels_in_the_segment) {
  const std::vector<double> values = ramp(10000);
  attachments side(1024);
  const std::string payload = encode(values, &side);
  BOOST_TEST(payload.size() == 16u); // flagged count and offset, no elements
  BOOST_TEST_REQUIRE(side.blocks.size() == 1u);
  BOOST_TEST(side.blocks[0].data == static_cast<const void*>(values.data())); // no copy
  BOOST_TEST(side.total == values.size() * sizeof(double));
  BOOST_TEST(decode<std::vector<double>>(payload, gather(side)) == values);
}

BOOST_AUTO_TEST_CASE(a_vector_of_ints_travels_in_the_segment) {
  std::vector<int> values(5000);
  std::iota(values.begin(), values.end(), -2500);
  attachments side(1024);
  const std::string payload = encode(values, &side);
  BOOST_TEST(side.blocks.size() == 1u);
  BOOST_TEST(decode<std::vector<int>>(payload, gather(side)) == values);
}

BOOST_AUTO_TEST_CASE(a_string_travels_in_the_segment) {
  std::string text(100000, 'x');
  text[777] = '\0';
  text.back() = 'y';
  attachments side(1024);
  const std::string payload = encode(text, &side);
  BOOST_TEST(payload.size() == 16u);
  BOOST_TEST(decode<std::string>(payload, gather(side)) == text);
}

BOOST_AUTO_TEST_CASE(large_and_small_fields_of_one_value_split_between_message_and_segment) {
  sample value;
  value.big = ramp(4096);
  value.small = {1, 2, 3};
  value.name = "sample";
  value.rows = {std::vector<float>(2000, 1.5F), std::vector<float>(3, 2.5F)};
  value.text = std::string(3000, 't');
  attachments side(4096);
  const std::string payload = encode(value, &side);
  // big (32 KiB), rows[0] (8000 bytes): in the segment; text (3000 bytes) and the rest not.
  BOOST_TEST(side.blocks.size() == 2u);
  const sample back = decode<sample>(payload, gather(side));
  BOOST_TEST(back.big == value.big);
  BOOST_TEST(back.small == value.small);
  BOOST_TEST(back.name == value.name);
  BOOST_TEST(back.rows == value.rows);
  BOOST_TEST(back.text == value.text);
}

BOOST_AUTO_TEST_CASE(several_blocks_lie_in_order_on_cache_line_boundaries) {
  const std::vector<std::vector<double>> values = {ramp(1001), ramp(3), ramp(2000), ramp(999)};
  attachments side(800);
  const std::string payload = encode(values, &side);
  BOOST_TEST_REQUIRE(side.blocks.size() == 3u);
  std::uint64_t end = 0;
  for (const auto& block : side.blocks) {
    BOOST_TEST(block.offset % mpdecor::detail::shared_block_alignment == 0u);
    BOOST_TEST(block.offset >= end);
    end = block.offset + block.size;
  }
  BOOST_TEST(side.total == end);
  BOOST_TEST((decode<std::vector<std::vector<double>>>(payload, gather(side)) == values));
}

BOOST_AUTO_TEST_CASE(a_value_of_exactly_the_threshold_goes_to_the_segment) {
  const std::vector<double> at = ramp(128); // 1024 bytes
  const std::vector<double> below = ramp(127);
  attachments side(1024);
  encode(below, &side);
  BOOST_TEST(side.empty());
  encode(at, &side);
  BOOST_TEST(side.blocks.size() == 1u);
  const std::string text(1023, 'a');
  encode(text, &side);
  BOOST_TEST(side.blocks.size() == 1u);
  encode(text + "b", &side);
  BOOST_TEST(side.blocks.size() == 2u);
}

BOOST_AUTO_TEST_CASE(vectors_of_bool_and_of_other_types_stay_in_the_message) {
  attachments side(16);
  encode(std::vector<bool>(10000, true), &side);
  encode(std::vector<std::string>(100, "a string"), &side);
  BOOST_TEST(side.empty());
}

BOOST_AUTO_TEST_CASE(an_unaligned_block_is_still_read) {
  const std::vector<double> values = ramp(300);
  attachments side(1024);
  const std::string payload = encode(values, &side);
  const std::string segment = " " + gather(side); // every offset one byte off alignment
  const std::string shifted = reference(values.size(), 1);
  BOOST_TEST(decode<std::vector<double>>(shifted, segment) == values);
  BOOST_TEST(payload.size() == shifted.size());
}

BOOST_AUTO_TEST_CASE(a_large_vector_in_the_message_still_decodes) {
  // Past the size from which the decoder faults its storage in at once.
  const std::vector<double> values = ramp((std::size_t{3} << 20) / sizeof(double) + 5);
  BOOST_TEST(decode<std::vector<double>>(encode(values, nullptr)) == values);
  const std::string text(std::size_t{3} << 20, 'q');
  BOOST_TEST(decode<std::string>(encode(text, nullptr)) == text);
}

BOOST_AUTO_TEST_CASE(a_reference_without_a_segment_is_refused) {
  BOOST_TEST(fails_with(reference(10, 0), {}, "none came with it"));
}

BOOST_AUTO_TEST_CASE(a_reference_beyond_the_segment_is_refused) {
  const std::string segment(800, '\0');
  BOOST_TEST(decode<std::vector<double>>(reference(100, 0), segment).size() == 100u);
  BOOST_TEST(fails_with(reference(101, 0), segment, "the segment has only 800 bytes"));
  BOOST_TEST(fails_with(reference(1, 800), segment, "the segment has only 800 bytes"));
  BOOST_TEST(fails_with(reference(0, 801), segment, "outside the unread part"));
}

BOOST_AUTO_TEST_CASE(a_reference_whose_end_overflows_is_refused) {
  const std::string segment(800, '\0');
  BOOST_TEST(fails_with(reference(2, ~std::uint64_t{0} - 7), segment, "outside"));
  // count * 8 wraps around to a small number of bytes.
  BOOST_TEST(fails_with(reference((std::uint64_t{1} << 61) + 1, 0), segment, "elements of 8"));
  BOOST_TEST(
      fails_with(reference(~mpdecor::detail::shared_block_flag, 8), segment, "elements of 8"));
}

BOOST_AUTO_TEST_CASE(blocks_that_overlap_or_go_back_are_refused) {
  using two_vectors = std::vector<std::vector<double>>;
  const std::string segment(1600, '\0');
  const std::string two("\2\0\0\0\0\0\0\0", 8); // the outer vector's count
  const std::string twice = two + reference(100, 0) + reference(100, 0);
  BOOST_TEST(fails_with<two_vectors>(twice, segment, "outside the unread part"));
  const std::string overlapping = two + reference(100, 0) + reference(100, 792);
  BOOST_TEST(fails_with<two_vectors>(overlapping, segment, "outside the unread part"));
  const std::string adjacent = two + reference(100, 0) + reference(100, 800);
  BOOST_TEST(decode<two_vectors>(adjacent, segment).size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_truncated_reference_is_refused) {
  BOOST_TEST(fails_with(reference(10, 0).substr(0, 12), std::string(800, '\0'), "truncated"));
}

BOOST_AUTO_TEST_CASE(inline_lengths_are_bounded_as_before) {
  std::string payload(8, '\0');
  const std::uint64_t count = 1000;
  std::memcpy(payload.data(), &count, 8);
  payload += std::string(800, '\0');
  BOOST_TEST(fails_with(payload.substr(0, 100), std::string(8000, '\0'), "claims 1000 elements"));
  BOOST_TEST(fails_with(payload.substr(0, 100), {}, "claims 1000 elements"));
  // 100 elements of 8 bytes fit in 800 bytes only as 800 single bytes would.
  const std::uint64_t hundred = 100;
  std::memcpy(payload.data(), &hundred, 8);
  BOOST_TEST(fails_with(payload.substr(0, 8 + 799), {}, "elements of 8"));
  BOOST_TEST(decode<std::vector<double>>(payload.substr(0, 8 + 800)).size() == 100u);
}

BOOST_AUTO_TEST_CASE(the_frame_header_carries_the_segment_flag) {
  using mpdecor::detail::frame_kind;
  char header[mpdecor::detail::frame_header_size];
  mpdecor::detail::write_frame_header(header, frame_kind::value, 1234, true);
  auto read = mpdecor::detail::read_frame_header(header);
  BOOST_TEST(read.has_segment);
  BOOST_TEST((read.kind == frame_kind::value));
  BOOST_TEST(read.length == 1234u);
  mpdecor::detail::write_frame_header(header, frame_kind::call, 5);
  read = mpdecor::detail::read_frame_header(header);
  BOOST_TEST(!read.has_segment);
  BOOST_TEST((read.kind == frame_kind::call));
}

BOOST_AUTO_TEST_CASE(an_unknown_kind_with_the_segment_flag_is_refused) {
  char header[mpdecor::detail::frame_header_size];
  mpdecor::detail::write_frame_header(header, mpdecor::detail::frame_kind::value, 0, true);
  // The first kind past the last one mpdecor knows.
  const std::uint16_t kind = static_cast<std::uint16_t>(
      0x8000 | (static_cast<std::uint16_t>(mpdecor::detail::last_frame_kind) + 1));
  std::memcpy(header + 6, &kind, 2);
  BOOST_CHECK_THROW(mpdecor::detail::read_frame_header(header), decode_failure);
  const std::uint16_t bare = 0x8000;
  std::memcpy(header + 6, &bare, 2);
  BOOST_CHECK_THROW(mpdecor::detail::read_frame_header(header), decode_failure);
}

#if defined(__linux__)

namespace {

using mpdecor::detail::segment;

struct socket_pair {
  int ends[2] = {-1, -1};
  explicit socket_pair(int flags = 0) {
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0, ends) == 0);
  }
  ~socket_pair() {
    close(0);
    close(1);
  }
  void close(int which) {
    if (ends[which] != -1)
      ::close(ends[which]);
    ends[which] = -1;
  }
};

bool is_close_on_exec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

template <class Exception>
bool throws_with(int socket, const std::string& text) {
  try {
    ::close(mpdecor::detail::receive_fd(socket));
  } catch (const Exception& error) {
    return std::string(error.what()).find(text) != std::string::npos;
  }
  return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_segment_holds_the_blocks_at_their_offsets) {
  const sample value{ramp(5000), {7}, "n", {std::vector<float>(3000, 0.25F)}, "t"};
  attachments side(4096);
  const std::string payload = encode(value, &side);
  const segment made = segment::create(side);
  BOOST_TEST(made.size() == side.total);
  BOOST_TEST(made.view().empty()); // written through the file, never mapped here
  BOOST_TEST(is_close_on_exec(made.fd()));
  const segment opened = segment::open(::fcntl(made.fd(), F_DUPFD_CLOEXEC, 0));
  BOOST_TEST(opened.view() == gather(side));
  const sample back = decode<sample>(payload, opened.view());
  BOOST_TEST(back.big == value.big);
  BOOST_TEST(back.rows == value.rows);
}

BOOST_AUTO_TEST_CASE(a_segment_is_sealed_against_changes) {
  const std::vector<double> values = ramp(1000);
  attachments side(1024);
  encode(values, &side);
  const segment made = segment::create(side);
  BOOST_TEST(::ftruncate(made.fd(), 10) == -1);
  BOOST_TEST(::pwrite(made.fd(), "x", 1, 0) == -1);
  BOOST_TEST(::mmap(nullptr, made.size(), PROT_READ | PROT_WRITE, MAP_SHARED, made.fd(), 0) ==
             MAP_FAILED);
}

BOOST_AUTO_TEST_CASE(opening_refuses_what_is_not_a_sealed_segment) {
  const int unsealed = ::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  BOOST_REQUIRE(unsealed != -1);
  BOOST_REQUIRE(::ftruncate(unsealed, 4096) == 0);
  const int before = helpers::open_descriptors();
  BOOST_CHECK_THROW(segment::open(::fcntl(unsealed, F_DUPFD_CLOEXEC, 0)), decode_failure);
  int pipe_ends[2];
  BOOST_REQUIRE(::pipe2(pipe_ends, O_CLOEXEC) == 0);
  BOOST_CHECK_THROW(segment::open(pipe_ends[0]), decode_failure); // takes and closes it
  ::close(pipe_ends[1]);
  BOOST_TEST(helpers::open_descriptors() == before); // refused descriptors are closed
  ::close(unsealed);
}

BOOST_AUTO_TEST_CASE(an_empty_segment_opens_with_an_empty_view) {
  const segment made = segment::create(attachments(1024));
  BOOST_TEST(made.size() == 0u);
  const segment opened = segment::open(::fcntl(made.fd(), F_DUPFD_CLOEXEC, 0));
  BOOST_TEST(opened.view().empty());
}

BOOST_AUTO_TEST_CASE(a_descriptor_crosses_a_socket_with_its_marker_byte) {
  socket_pair channel;
  const int memfd = ::memfd_create("test", MFD_CLOEXEC);
  BOOST_REQUIRE(memfd != -1);
  mpdecor::detail::send_fd(channel.ends[0], memfd);
  const int received = mpdecor::detail::receive_fd(channel.ends[1]);
  BOOST_TEST(received != memfd);
  BOOST_TEST(is_close_on_exec(received));
  struct stat mine {
  }, theirs{};
  ::fstat(memfd, &mine);
  ::fstat(received, &theirs);
  BOOST_TEST(mine.st_ino == theirs.st_ino); // the same file
  ::close(received);
  ::close(memfd);
}

BOOST_AUTO_TEST_CASE(a_descriptor_crosses_a_non_blocking_socket) {
  socket_pair channel(SOCK_NONBLOCK);
  const int memfd = ::memfd_create("test", MFD_CLOEXEC);
  const pid_t writer = ::fork();
  BOOST_REQUIRE(writer != -1);
  if (writer == 0) {
    ::usleep(100000); // the reader waits for the byte in poll
    mpdecor::detail::send_fd(channel.ends[0], memfd);
    ::_exit(0);
  }
  const int received = mpdecor::detail::receive_fd(channel.ends[1]);
  int status = 0;
  ::waitpid(writer, &status, 0);
  BOOST_TEST(received >= 0);
  ::close(received);
  ::close(memfd);
}

BOOST_AUTO_TEST_CASE(sending_waits_for_room_on_a_full_non_blocking_socket) {
  socket_pair channel(SOCK_NONBLOCK);
  const std::string filler(65536, 'f');
  std::size_t filled = 0;
  for (::ssize_t sent = 0; (sent = ::send(channel.ends[0], filler.data(), filler.size(), 0)) > 0;)
    filled += static_cast<std::size_t>(sent);
  BOOST_REQUIRE(errno == EAGAIN);
  const pid_t reader = ::fork();
  BOOST_REQUIRE(reader != -1);
  if (reader == 0) {
    ::usleep(100000); // the writer waits for room in poll
    // The reader's end alone turns blocking: drain the filler, then take the descriptor.
    ::fcntl(channel.ends[1], F_SETFL, 0);
    std::string sink(filled, '\0');
    const bool drained =
        ::recv(channel.ends[1], sink.data(), filled, MSG_WAITALL) == static_cast<::ssize_t>(filled);
    const int got = mpdecor::detail::receive_fd(channel.ends[1]);
    ::_exit(drained && got >= 0 ? 0 : 1);
  }
  const int memfd = ::memfd_create("test", MFD_CLOEXEC);
  mpdecor::detail::send_fd(channel.ends[0], memfd);
  int status = 0;
  ::waitpid(reader, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  ::close(memfd);
}

BOOST_AUTO_TEST_CASE(receiving_from_a_closed_peer_says_so) {
  socket_pair channel;
  channel.close(0);
  BOOST_TEST(throws_with<std::runtime_error>(channel.ends[1], "closed the channel"));
}

BOOST_AUTO_TEST_CASE(a_marker_without_a_descriptor_is_refused) {
  socket_pair channel;
  const char marker = static_cast<char>(mpdecor::detail::segment_marker);
  BOOST_REQUIRE(::send(channel.ends[0], &marker, 1, 0) == 1);
  BOOST_TEST(throws_with<std::runtime_error>(channel.ends[1], "carried no descriptor"));
  BOOST_REQUIRE(::send(channel.ends[0], "x", 1, 0) == 1);
  BOOST_TEST(throws_with<std::runtime_error>(channel.ends[1], "marker byte, got byte 120"));
}

BOOST_AUTO_TEST_CASE(a_wrong_byte_with_a_descriptor_is_refused_and_the_descriptor_closed) {
  socket_pair channel;
  const int memfd = ::memfd_create("test", MFD_CLOEXEC);
  const int before = helpers::open_descriptors();
  char byte = 'x';
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* rights = CMSG_FIRSTHDR(&message);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const int two[2] = {memfd, memfd};
  std::memcpy(CMSG_DATA(rights), two, sizeof two);
  BOOST_REQUIRE(::sendmsg(channel.ends[0], &message, 0) == 1);
  BOOST_TEST(throws_with<std::runtime_error>(channel.ends[1], "got byte 120 with descriptors"));
  byte = static_cast<char>(mpdecor::detail::segment_marker);
  BOOST_REQUIRE(::sendmsg(channel.ends[0], &message, 0) == 1);
  BOOST_TEST(throws_with<std::runtime_error>(channel.ends[1], "2 descriptors instead of one"));
  BOOST_TEST(helpers::open_descriptors() == before);
  ::close(memfd);
}

BOOST_AUTO_TEST_CASE(sending_to_a_closed_peer_throws_without_a_signal) {
  socket_pair channel;
  channel.close(1);
  const int memfd = ::memfd_create("test", MFD_CLOEXEC);
  BOOST_CHECK_THROW(mpdecor::detail::send_fd(channel.ends[0], memfd), std::system_error);
  ::close(memfd);
}

BOOST_AUTO_TEST_CASE(a_frame_with_a_segment_crosses_from_a_forked_child) {
  // The child encodes and sends header, marker and payload, as the file comment of
  // detail/wire.hpp orders them; the parent reads exactly the header first.
  socket_pair channel;
  sample value;
  value.big = ramp(200000);
  value.small = {4, 5};
  value.text = std::string(100000, 'z');
  const pid_t child = ::fork();
  BOOST_REQUIRE(child != -1);
  if (child == 0) {
    attachments side(65536);
    std::string frame(mpdecor::detail::frame_header_size, '\0');
    output_archive archive(frame, &side);
    archive(value);
    const std::size_t length = frame.size() - mpdecor::detail::frame_header_size;
    mpdecor::detail::write_frame_header(frame.data(), mpdecor::detail::frame_kind::value, length,
                                        !side.empty());
    const segment made = segment::create(side);
    bool sent = ::send(channel.ends[0], frame.data(), 16, 0) == 16;
    mpdecor::detail::send_fd(channel.ends[0], made.fd());
    sent = sent &&
           ::send(channel.ends[0], frame.data() + 16, length, 0) == static_cast<::ssize_t>(length);
    ::_exit(sent ? 0 : 1);
  }
  channel.close(0);
  char header[16];
  BOOST_REQUIRE(::recv(channel.ends[1], header, 16, MSG_WAITALL) == 16);
  const auto read = mpdecor::detail::read_frame_header(header);
  BOOST_REQUIRE(read.has_segment);
  const segment opened = segment::open(mpdecor::detail::receive_fd(channel.ends[1]));
  std::string payload(static_cast<std::size_t>(read.length), '\0');
  BOOST_REQUIRE(::recv(channel.ends[1], payload.data(), payload.size(), MSG_WAITALL) ==
                static_cast<::ssize_t>(payload.size()));
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  const sample back = decode<sample>(payload, opened.view());
  BOOST_TEST(back.big == value.big);
  BOOST_TEST(back.small == value.small);
  BOOST_TEST(back.text == value.text);
}

BOOST_AUTO_TEST_CASE(segments_leave_no_descriptor_behind) {
  const int before = helpers::open_descriptors();
  {
    socket_pair channel;
    const std::vector<double> values = ramp(100000);
    attachments side(1024);
    const std::string payload = encode(values, &side);
    segment made = segment::create(side);
    mpdecor::detail::send_fd(channel.ends[0], made.fd());
    made = segment(); // the sender may drop its segment once the descriptor is sent
    const segment opened = segment::open(mpdecor::detail::receive_fd(channel.ends[1]));
    BOOST_TEST(decode<std::vector<double>>(payload, opened.view()) == values);
    segment moved = segment::open(::fcntl(opened.fd(), F_DUPFD_CLOEXEC, 0));
    segment target = std::move(moved);
    target = segment::open(::fcntl(opened.fd(), F_DUPFD_CLOEXEC, 0));
  }
  BOOST_TEST(helpers::open_descriptors() == before);
}

#endif

BOOST_AUTO_TEST_SUITE_END()
