// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: the reply a parent receives from a child (frame header, then payload),
// decoded as the parent does: the error it carries, or a value of fuzzing::result_type.
#include "allocation_tracker.hpp"
#include "fuzz_types.hpp"

#include "reply.hpp" // internal (mpdecor_internal)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mpdecor::detail;
  if (size < frame_header_size)
    return 0;
  const char* text = reinterpret_cast<const char*>(data);
  const std::string_view payload(text + frame_header_size, size - frame_header_size);
  fuzzing::largest_allocation = 0;
  fuzzing::tracking = true;
  try {
    const frame_header header = read_frame_header(text);
    if (header.length != payload.size())
      throw decode_failure("length does not match");
    const failure outcome = decode_reply(header.kind, payload, {"f", 1, 0});
    if (outcome) {
      try {
        outcome.raise();
      } catch (const mpdecor::error&) {
      }
    } else {
      fuzzing::result_type value;
      input_archive archive(payload);
      archive(value);
    }
  } catch (const decode_failure&) {
  } catch (const cereal::Exception&) {
  }
  fuzzing::tracking = false;
  fuzzing::check_allocations(size, 8 * size + 4096);
  return 0;
}
