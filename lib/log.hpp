// SPDX-License-Identifier: BSL-1.0
// mpdecor: reporting a message through the program's log handler (include/mpdecor/log.hpp).
#ifndef MPDECOR_LIB_LOG_HPP
#define MPDECOR_LIB_LOG_HPP

#include <mpdecor/log.hpp>

#include <string>

namespace mpdecor::detail {

/// True when a message of `level` would be reported (build costly messages only then).
bool logs(log_level level) noexcept;
/// Reports `message` (no "mpdecor: " prefix, no newline) at `level`.
void log(log_level level, const std::string& message) noexcept;

} // namespace mpdecor::detail

#endif
