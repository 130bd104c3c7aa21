// SPDX-License-Identifier: BSL-1.0
// mpdecor: where the library's own messages go.
//
//     mpdecor::set_log_handler([](mpdecor::log_level level, std::string_view message) {
//       my_logger.write(level >= mpdecor::log_level::warning ? "WARN" : "INFO", message);
//     });
//     mpdecor::set_log_level(mpdecor::log_level::debug);   // every child's start and end
//
// mpdecor reports what it cannot throw to a caller: a completion callback that threw, an
// internal error on one of its threads, a fork server that failed. By default these go to
// stderr as "mpdecor: ..." lines. A child process runs before `main` sets a handler, so
// what a child itself reports still goes to its stderr.
#ifndef MPDECOR_LOG_HPP
#define MPDECOR_LOG_HPP

#include <mpdecor/export.hpp>

#include <functional>
#include <string_view>

namespace mpdecor {

/// How much a message matters.
enum class log_level {
  debug,   ///< each child's start and end
  info,    ///< events worth knowing (a pool worker replaced)
  warning, ///< something went wrong that mpdecor worked around (the default minimum)
  error,   ///< something went wrong that may have lost work
};

/// Receives one message: its level, and the text without a trailing newline.
using log_handler = std::function<void(log_level level, std::string_view message)>;

/// Sends this process's mpdecor messages to `handler`; an empty one restores stderr. The
/// handler is called from mpdecor's threads, sometimes from several at once, so it must be
/// thread-safe and quick; what it throws is dropped.
MPDECOR_DECL void set_log_handler(log_handler handler);
/// Drops messages below `minimum` (default: `log_level::warning`).
MPDECOR_DECL void set_log_level(log_level minimum);

} // namespace mpdecor

#endif
