// SPDX-License-Identifier: BSL-1.0
// mpdecor: launch keys (lib/launch_key.hpp).
#include "launch_key.hpp"

#include <mpdecor/detail/wire.hpp>

#include <cstdint>
#include <mutex>
#include <random>

namespace mpdecor::detail {

// A fresh random key per launch: the child serves a call only from the process that holds
// its key, which no other process sees (it is not on the command line, and the child
// removes it from its environment before running anything).
std::string new_launch_key() {
  struct random_source {
    std::random_device device;
    std::mutex mutex;
  };
  // Never destroyed: the at-exit wait still launches queued calls after the program's
  // static destructors have begun to run.
  static random_source* const source = new random_source;
  static const char digits[] = "0123456789abcdef";
  std::string key(launch_key_size * 2, '0');
  std::lock_guard lock(source->mutex);
  for (std::size_t i = 0; i < launch_key_size; i += 4) {
    auto word = static_cast<std::uint32_t>(source->device());
    for (std::size_t j = 0; j < 8; ++j, word >>= 4)
      key[i * 2 + j] = digits[word & 0xF];
  }
  return key;
}

std::string hello_frame(const std::string& key) {
  std::string frame(frame_header_size, '\0');
  output_archive archive(frame);
  archive(key);
  write_frame_header(frame.data(), frame_kind::hello, frame.size() - frame_header_size);
  return frame;
}

bool keys_match(std::string_view offered, std::string_view key) noexcept {
  if (offered.size() != key.size())
    return false;
  unsigned difference = 0;
  for (std::size_t i = 0; i < key.size(); ++i)
    difference |= static_cast<unsigned>(static_cast<unsigned char>(offered[i]) ^
                                        static_cast<unsigned char>(key[i]));
  return difference == 0;
}

} // namespace mpdecor::detail
