// SPDX-License-Identifier: BSL-1.0
// mpdecor: launch keys. Each child gets a fresh random key in its environment (and nowhere
// else); it serves calls only from the process that proves it holds the key, in the hello
// frame that comes first on its channel.
#ifndef MPDECOR_LIB_LAUNCH_KEY_HPP
#define MPDECOR_LIB_LAUNCH_KEY_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace mpdecor::detail {

/// Bytes in a launch key (it travels as twice as many hex digits).
inline constexpr std::size_t launch_key_size = 32;

/// A fresh random launch key, as hex digits.
std::string new_launch_key();

/// The hello frame that proves to a child that its calls come from the process holding
/// `key`.
std::string hello_frame(const std::string& key);

/// True when `offered` is `key`. Every byte is compared whatever the earlier ones held,
/// so the time taken tells nothing about how much of a guessed key was right.
bool keys_match(std::string_view offered, std::string_view key) noexcept;

} // namespace mpdecor::detail

#endif
