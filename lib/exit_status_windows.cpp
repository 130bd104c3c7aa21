// SPDX-License-Identifier: BSL-1.0
// mpdecor: how a child ended, on Windows (lib/exit_status.hpp).
#include "config.hpp"

#if defined(MPDECOR_WINDOWS)

#include "exit_status.hpp"

#include <cstdint>
#include <cstdio>

namespace mpdecor::detail {

namespace {

struct named_status {
  std::uint32_t code;
  const char* name;
};

// The NTSTATUS codes a process ends with when it crashes, or when the C runtime ends it on
// a fatal error (abort() in a child: see prepare_child_process in channel_windows.cpp).
// Other exit codes, negative ones included, are what the program passed to exit().
constexpr named_status crash_statuses[] = {
    {0x80000002U, "STATUS_DATATYPE_MISALIGNMENT"},
    {0x80000003U, "STATUS_BREAKPOINT"},
    {0xC0000005U, "STATUS_ACCESS_VIOLATION"},
    {0xC0000006U, "STATUS_IN_PAGE_ERROR"},
    {0xC0000017U, "STATUS_NO_MEMORY"},
    {0xC000001DU, "STATUS_ILLEGAL_INSTRUCTION"},
    {0xC0000025U, "STATUS_NONCONTINUABLE_EXCEPTION"},
    {0xC0000026U, "STATUS_INVALID_DISPOSITION"},
    {0xC000008CU, "STATUS_ARRAY_BOUNDS_EXCEEDED"},
    {0xC000008DU, "STATUS_FLOAT_DENORMAL_OPERAND"},
    {0xC000008EU, "STATUS_FLOAT_DIVIDE_BY_ZERO"},
    {0xC000008FU, "STATUS_FLOAT_INEXACT_RESULT"},
    {0xC0000090U, "STATUS_FLOAT_INVALID_OPERATION"},
    {0xC0000091U, "STATUS_FLOAT_OVERFLOW"},
    {0xC0000092U, "STATUS_FLOAT_STACK_CHECK"},
    {0xC0000093U, "STATUS_FLOAT_UNDERFLOW"},
    {0xC0000094U, "STATUS_INTEGER_DIVIDE_BY_ZERO"},
    {0xC0000095U, "STATUS_INTEGER_OVERFLOW"},
    {0xC0000096U, "STATUS_PRIVILEGED_INSTRUCTION"},
    {0xC00000FDU, "STATUS_STACK_OVERFLOW"},
    {0xC0000135U, "STATUS_DLL_NOT_FOUND"},
    {0xC0000139U, "STATUS_ENTRYPOINT_NOT_FOUND"},
    {0xC000013AU, "STATUS_CONTROL_C_EXIT"},
    {0xC0000142U, "STATUS_DLL_INIT_FAILED"},
    {0xC0000374U, "STATUS_HEAP_CORRUPTION"},
    {0xC0000409U, "STATUS_STACK_BUFFER_OVERRUN"},
    {0xC0000417U, "STATUS_INVALID_CRUNTIME_PARAMETER"},
    {0xC0000420U, "STATUS_ASSERTION_FAILURE"},
};

const named_status* find_crash_status(std::uint32_t code) {
  for (const auto& entry : crash_statuses)
    if (entry.code == code)
      return &entry;
  return nullptr;
}

} // namespace

exit_status decode_exit_status(process_v2::native_exit_code_type status) noexcept {
  exit_status result;
  const auto code = static_cast<std::uint32_t>(status);
  if (find_crash_status(code) != nullptr)
    result.signal = static_cast<int>(code);
  else
    result.exit_code = static_cast<int>(code);
  return result;
}

std::string describe_signal(int signal) {
  const auto code = static_cast<std::uint32_t>(signal);
  if (const named_status* entry = find_crash_status(code))
    return entry->name;
  char text[32];
  std::snprintf(text, sizeof text, "NTSTATUS 0x%08X", static_cast<unsigned>(code));
  return text;
}

} // namespace mpdecor::detail

#endif
