// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: the call a child receives. The first byte picks the function the child
// was started for; the rest is the call payload (function name, then arguments).
// Decoding must never crash, and never allocate more than the bound below at once.
#include "allocation_tracker.hpp"
#include "fuzz_types.hpp"

#include "reply.hpp" // internal (mpdecor_internal)

#include <iterator>

MPDECOR_REGISTER(fuzzing::strings);
MPDECOR_REGISTER(fuzzing::structured);
MPDECOR_REGISTER(fuzzing::records);
MPDECOR_REGISTER(fuzzing::plain);
MPDECOR_REGISTER(fuzzing::branches);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const char* name = fuzzing::function_names[data[0] % std::size(fuzzing::function_names)];
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzzing::largest_allocation = 0;
  fuzzing::tracking = true;
  // Every outcome is a reply frame: a value, or a refusal naming what was wrong.
  const std::string reply = mpdecor::detail::serve_call(name, payload);
  fuzzing::tracking = false;
  if (reply.size() < mpdecor::detail::frame_header_size)
    std::abort();
  // Numeric vectors and strings cost at most their bytes; other vectors grow with the
  // elements really decoded, and no element here is more than 8 times its encoding in
  // memory once vector growth is counted (docs/reliability.md).
  fuzzing::check_allocations(size, 8 * size + 4096);
  return 0;
}
