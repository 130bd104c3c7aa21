// SPDX-License-Identifier: BSL-1.0
// mpdecor: the one call every program makes at the top of main.
#ifndef MPDECOR_INIT_HPP
#define MPDECOR_INIT_HPP

#include <mpdecor/export.hpp>

namespace mpdecor {

/// Call first thing in `main`, before anything else runs.
///
/// In the program the user started, it checks the registrations (two functions under one
/// name throw `usage_error`, naming both places) and returns. In a child that mpdecor
/// launched (`--mp-child NAME`), it runs the requested call, sends back its result or its
/// exception, and ends the process: it never returns into `main`.
///
/// Everything before this call (static initializers, the start of main) runs again in
/// every child, so keep it first.
MPDECOR_DECL void init(int argc, char** argv);

/// Exit codes of a child that could not serve its call (a served call exits with 0, even
/// when the function threw: its exception travels back as a message).
enum child_exit : int {
  /// `--mp-child` without a working channel or the launch key: not started by mpdecor.
  exit_not_started_by_mpdecor = 86,
  /// The call message was missing or damaged.
  exit_bad_call_message = 87,
  /// The result could not be sent (the parent is gone).
  exit_result_not_sent = 88,
  /// The parent ended while the call was running (the child stops at once).
  exit_parent_gone = 89,
};

/// True in a child process started by mpdecor, once `init` has been entered.
MPDECOR_DECL bool is_child() noexcept;

} // namespace mpdecor

#endif
