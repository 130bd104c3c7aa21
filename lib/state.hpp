// mpdecor: program-wide state shared by init() and the supervisor.
#ifndef MPDECOR_LIB_STATE_HPP
#define MPDECOR_LIB_STATE_HPP

namespace mpdecor::detail {

/// Records that init() was called; calls before it are refused, since a child started
/// then would run main from its start and start children of its own.
void mark_initialized() noexcept;
bool is_initialized() noexcept;

} // namespace mpdecor::detail

#endif
