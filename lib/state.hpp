// SPDX-License-Identifier: BSL-1.0
// mpdecor: program-wide state shared by init() and the supervisor.
#ifndef MPDECOR_LIB_STATE_HPP
#define MPDECOR_LIB_STATE_HPP

namespace mpdecor::detail {

/// Records that init() was called; calls before it are refused, since a child started
/// then would run main from its start and start children of its own.
void mark_initialized() noexcept;
bool is_initialized() noexcept;

/// Reads MPDECOR_START_METHOD, MPDECOR_SRUN_OPTIONS and MPDECOR_SLURM_STEPS (lib/settings.cpp);
/// throws usage_error on a value it does not know.
void read_settings_from_environment();

} // namespace mpdecor::detail

#endif
