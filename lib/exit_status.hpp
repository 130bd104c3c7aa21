// SPDX-License-Identifier: BSL-1.0
// mpdecor: how a child ended, as the platform tells it (lib/exit_status_posix.cpp,
// lib/exit_status_windows.cpp).
#ifndef MPDECOR_LIB_EXIT_STATUS_HPP
#define MPDECOR_LIB_EXIT_STATUS_HPP

#include "config.hpp"

#include <optional>
#include <string>

namespace mpdecor::detail {

/// How a child ended.
struct exit_status {
  std::optional<int> exit_code; ///< set when it exited by itself
  std::optional<int> signal;    ///< set when it was killed (POSIX signal or NTSTATUS)
  /// What the launcher itself said about the end (srun's error lines); empty if nothing.
  std::string notes;
};

/// How a child ended, decoded from its native exit status (a wait status on POSIX).
exit_status decode_exit_status(process_v2::native_exit_code_type status) noexcept;

/// The name of a signal or crash status: "SIGSEGV", "STATUS_ACCESS_VIOLATION"; for one
/// without a name, "signal 40" or "NTSTATUS 0x...".
std::string describe_signal(int signal);

} // namespace mpdecor::detail

#endif
