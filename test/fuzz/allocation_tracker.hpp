// SPDX-License-Identifier: BSL-1.0
// Records the largest single allocation while a decoder runs, through the sanitizer
// runtime's allocation hooks (the fuzz targets always run under AddressSanitizer).
#ifndef MPDECOR_FUZZ_ALLOCATION_TRACKER_HPP
#define MPDECOR_FUZZ_ALLOCATION_TRACKER_HPP

#include <sanitizer/allocator_interface.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace fuzzing {

inline bool tracking = false;
inline std::size_t largest_allocation = 0;

inline void on_allocation(const volatile void*, std::size_t size) {
  if (tracking && size > largest_allocation)
    largest_allocation = size;
}
inline void on_free(const volatile void*) {}

inline const int hooks_installed =
    __sanitizer_install_malloc_and_free_hooks(&on_allocation, &on_free);

/// Aborts (a finding for libFuzzer) when a decode allocated more than `bound` at once.
inline void check_allocations(std::size_t input_size, std::size_t bound) {
  if (largest_allocation > bound) {
    std::fprintf(stderr, "decoder allocated %zu bytes at once for a %zu-byte message\n",
                 largest_allocation, input_size);
    std::abort();
  }
}

} // namespace fuzzing

#endif
