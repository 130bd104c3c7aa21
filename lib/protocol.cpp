// SPDX-License-Identifier: BSL-1.0
// mpdecor: the protocol, the child's side (lib/protocol.hpp).
#include "protocol.hpp"

#include "launch_key.hpp"
#include "shared_memory.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <system_error>

namespace mpdecor::detail {
namespace {

// Reads exactly `size` bytes, growing `buffer` as the data arrives (by at most a chunk
// beyond what has come). Tells a channel closed before the first byte from one closed
// later.
read_status read_exact(native_channel in, std::string& buffer, std::uint64_t size) {
  constexpr std::size_t chunk = std::size_t{1} << 20;
  buffer.clear();
  while (buffer.size() < size) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - buffer.size()));
    const auto old_size = buffer.size();
    buffer.resize(old_size + want);
    const auto got = read_some(in, buffer.data() + old_size, want);
    buffer.resize(old_size + got);
    if (got == 0)
      return old_size == 0 ? read_status::closed : read_status::truncated;
  }
  return read_status::complete;
}

} // namespace

std::vector<std::string> child_arguments(const char* flag, const std::string& name,
                                         const std::string& channel) {
  return {flag, name, channel_flag, channel};
}

bool read_child_start(const std::vector<std::string>& arguments, child_start& start) {
  // argv[0] is the executable.
  if (arguments.size() != 5 || arguments[3] != channel_flag)
    return false;
  start.name = arguments[2];
  if (!open_child_channel(arguments[4], start.channel))
    return false;
  start.key = take_environment_variable(launch_key_variable);
  if (start.key.size() != launch_key_size * 2)
    return false;
  // A Slurm step asked to connect back: the channel is that connection, or srun's streams.
  const std::string address = take_environment_variable(connect_variable);
  if (!address.empty())
    connect_back(address, start.key, start.channel);
  return true;
}

namespace {

read_status read_either(native_channel in, frame_kind expected, frame_kind alternative,
                        frame_kind& kind, std::string& payload, bool trusted, int* descriptor,
                        std::vector<int>* descriptors) {
  std::string header;
  const read_status got = read_exact(in, header, frame_header_size);
  if (got != read_status::complete)
    return got;
  const frame_header fixed = read_frame_header(header.data());
  if (fixed.kind != expected && fixed.kind != alternative)
    throw decode_failure("unexpected message (kind " +
                         std::to_string(static_cast<int>(fixed.kind)) + ", expected " +
                         std::to_string(static_cast<int>(expected)) + ")");
  kind = fixed.kind;
  if (fixed.has_segment) {
    if (descriptors != nullptr)
      *descriptors = receive_fds(static_cast<int>(in), max_shared_arrays + 1);
    else if (descriptor != nullptr)
      *descriptor = receive_fd(static_cast<int>(in));
    else
      throw decode_failure("unexpected descriptor with a message");
  }
  if (trusted)
    payload.reserve(static_cast<std::size_t>(fixed.length));
  // A frame that ends early is truncated whatever its payload's own first read saw.
  return read_exact(in, payload, fixed.length) == read_status::complete ? read_status::complete
                                                                        : read_status::truncated;
}

} // namespace

read_status read_frame(native_channel in, frame_kind expected, std::string& payload, bool trusted,
                       int* descriptor) {
  frame_kind kind{};
  return read_either(in, expected, expected, kind, payload, trusted, descriptor, nullptr);
}

read_status read_frame(native_channel in, frame_kind expected, std::string& payload, bool trusted,
                       std::vector<int>* descriptors) {
  frame_kind kind{};
  return read_either(in, expected, expected, kind, payload, trusted, nullptr, descriptors);
}

read_status read_frame_of(native_channel in, frame_kind expected, frame_kind alternative,
                          frame_kind& kind, std::string& payload, bool trusted,
                          std::vector<int>* descriptors) {
  return read_either(in, expected, alternative, kind, payload, trusted, nullptr, descriptors);
}

read_status read_frame_of(native_channel in, frame_kind expected, frame_kind alternative,
                          frame_kind& kind, std::string& payload, bool trusted, int* descriptor) {
  return read_either(in, expected, alternative, kind, payload, trusted, descriptor, nullptr);
}

std::optional<std::size_t> take_sharing_threshold() {
  const std::string text = take_environment_variable(sharing_threshold_variable);
  if (text.empty() || !shared_memory_supported)
    return std::nullopt;
  std::size_t threshold = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), threshold);
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size())
    return std::nullopt; // not the parent's: no shared memory rather than a guess
  return threshold;
}

void write_frame(native_channel out, std::string_view frame, int descriptor) {
  if (descriptor == -1)
    return write_all(out, frame);
  write_all(out, frame.substr(0, frame_header_size));
  send_fd(static_cast<int>(out), descriptor);
  write_all(out, frame.substr(frame_header_size));
}

void write_frame(native_channel out, std::string_view frame, const std::vector<int>& descriptors) {
  if (descriptors.empty())
    return write_all(out, frame);
  write_all(out, frame.substr(0, frame_header_size));
  send_fds(static_cast<int>(out), descriptors);
  write_all(out, frame.substr(frame_header_size));
}

hello_result read_hello(native_channel in, const std::string& key, std::string& problem) noexcept {
  try {
    std::string payload;
    if (read_frame(in, frame_kind::hello, payload) != read_status::complete)
      return hello_result::closed;
    std::string offered;
    input_archive archive(payload);
    archive(offered);
    return keys_match(offered, key) ? hello_result::accepted : hello_result::refused;
  } catch (const std::exception& e) {
    problem = e.what();
    return hello_result::damaged;
  }
}

} // namespace mpdecor::detail
