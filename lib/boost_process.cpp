// SPDX-License-Identifier: BSL-1.0
// mpdecor: the one translation unit that completes Boost.Process v2 where mpdecor has to.
//
// - Boost 1.81 to 1.85 (header-only Process v2): its environment code, where it needs one
//   (see MPDECOR_INCLUDE_ENVIRONMENT_IPP in lib/config.hpp).
// - Boost 1.86 and later made Process v2 a compiled library, which some distributions do not
//   ship (Debian 13 has the headers of Boost 1.88 but no libboost_process). When CMake finds
//   none it defines MPDECOR_DEFINE_BOOST_PROCESS_PARTS, and this file defines the four
//   functions of that library that mpdecor's use of the headers reaches on POSIX. They are
//   written here, small and plain, rather than taken from Boost's sources, which the
//   headers do not carry. With a compiled Boost.Process installed, it is linked instead.
#include "config.hpp"

#include <boost/version.hpp>

#if defined(MPDECOR_INCLUDE_ENVIRONMENT_IPP)
#include <boost/process/v2/impl/environment.ipp>
#endif

// Before 1.86 the headers define these functions themselves, so the macro (which the b2
// build sets whenever no compiled Boost.Process links) changes nothing there.
#if defined(MPDECOR_DEFINE_BOOST_PROCESS_PARTS) && BOOST_VERSION >= 108600
#if !defined(BOOST_PROCESS_V2_POSIX)
#error "Boost.Process >= 1.86 without its compiled library is supported on POSIX only"
#endif

#include <boost/process/v2/detail/last_error.hpp>
#include <boost/process/v2/error.hpp>
#include <boost/process/v2/pid.hpp>

#include <cerrno>
#include <string>
#include <unistd.h>

BOOST_PROCESS_V2_BEGIN_NAMESPACE

namespace {

// Conversions between UTF-8 and UTF-16 happen on Windows only; the category exists
// because error.hpp names it during static initialization.
class utf8_category_type final : public error_category {
public:
  const char* name() const noexcept override { return "process.utf8"; }
  std::string message(int value) const override {
    switch (value) {
    case error::insufficient_buffer:
      return "the output buffer of a UTF-8 conversion is too small";
    case error::invalid_character:
      return "invalid character in a UTF-8 conversion";
    default:
      return "UTF-8 conversion error " + std::to_string(value);
    }
  }
};

// A native exit status as waitpid reports it.
class exit_code_category_type final : public error_category {
public:
  const char* name() const noexcept override { return "process.exit_code"; }
  std::string message(int status) const override {
    if (WIFEXITED(status))
      return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
      return "ended by signal " + std::to_string(WTERMSIG(status));
    return "exit status " + std::to_string(status);
  }
};

} // namespace

const error_category& error::get_utf8_category() {
  static const utf8_category_type category;
  return category;
}

const error_category& error::get_exit_code_category() {
  static const exit_code_category_type category;
  return category;
}

pid_type current_pid() { return ::getpid(); }

error_code detail::get_last_error() { return error_code(errno, system_category()); }

BOOST_PROCESS_V2_END_NAMESPACE

#endif
