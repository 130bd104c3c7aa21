// SPDX-License-Identifier: BSL-1.0
// mpdecor: deadlines of timeouts.
#ifndef MPDECOR_LIB_DEADLINE_HPP
#define MPDECOR_LIB_DEADLINE_HPP

#include <chrono>

namespace mpdecor::detail {

/// The moment `limit` from now, or the clock's end when that lies beyond it: steady_clock
/// counts nanoseconds in 64 bits, so `now + limit` overflows (into the past, which would
/// fire at once) for any limit above about 292 years less the clock's current value.
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds limit) {
  using clock = std::chrono::steady_clock;
  const auto now = clock::now();
  if (limit.count() < 0)
    return now;
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::time_point::max() - now);
  return limit >= room ? clock::time_point::max() : now + limit;
}

} // namespace mpdecor::detail

#endif
