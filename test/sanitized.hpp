// SPDX-License-Identifier: BSL-1.0
// Whether this program is built with AddressSanitizer or ThreadSanitizer (GCC defines
// __SANITIZE_*; clang answers __has_feature). Tests whose expectations a sanitizer's
// runtime changes (its address-space reservations, its growing bookkeeping) ask this.
#ifndef MPDECOR_TEST_SANITIZED_HPP
#define MPDECOR_TEST_SANITIZED_HPP

namespace mpdecor_test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

} // namespace mpdecor_test

#endif
