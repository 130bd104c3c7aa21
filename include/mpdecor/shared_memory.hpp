// SPDX-License-Identifier: BSL-1.0
// mpdecor: large arguments and results through shared memory.
//
// A vector of numbers (any arithmetic element type but bool) or a string of at least the
// threshold's size crosses between parent and child in an anonymous shared-memory segment
// instead of inside the message: copied once in and once out, never through the socket.
// The segment has no name in any file system and lives only while a process holds it, so
// no crash can leave one behind. Linux only; elsewhere everything travels in the message.
#ifndef MPDECOR_SHARED_MEMORY_HPP
#define MPDECOR_SHARED_MEMORY_HPP

#include <mpdecor/export.hpp>

#include <cstddef>

namespace mpdecor {

/// Sends vectors and strings of at least `bytes` bytes through shared memory; 0 sends
/// everything in the message. The default is 1 MiB. Thread-safe; applies to the messages
/// encoded after it (a pool worker's results: to workers started after it).
MPDECOR_DECL void set_shared_memory_threshold(std::size_t bytes) noexcept;

/// The size from which vectors and strings go through shared memory; 0 when none do (set
/// so, or on a platform without shared memory, where the setting is ignored).
MPDECOR_DECL std::size_t shared_memory_threshold() noexcept;

} // namespace mpdecor

#endif
