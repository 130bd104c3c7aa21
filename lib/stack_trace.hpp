// SPDX-License-Identifier: BSL-1.0
// mpdecor: the child's stack where its function threw, or where it crashed, shown to the
// parent (remote_error::stack_trace(), child_crashed::stack_trace()).
//
// Linux with glibc only. The child records raw return addresses (Boost.Stacktrace's
// safe_dump_to, which also works inside a signal handler): at every throw, through its own
// __cxa_throw that runs before the C++ runtime's (lib/throw_hook_linux.cpp), and in its
// crash handler (lib/channel_posix.cpp). It sends each frame as its module (shared object,
// or "" for the program itself) and the offset in it. The parent runs the same executable
// and shared objects, so it finds each frame in its own copy and names it: with GCC's
// libbacktrace where the build found it (function, file and line from the debug
// information or the symbol table), with dladdr otherwise (exported names only). A frame
// that cannot be named shows as module+offset. Nothing is named in the child: a crashed
// child can safely do very little, and the parent does it once, when the error is thrown.
#ifndef MPDECOR_LIB_STACK_TRACE_HPP
#define MPDECOR_LIB_STACK_TRACE_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpdecor::detail {

/// The environment variable by which the parent asks a child to record its stack traces.
inline constexpr const char* stack_traces_variable = "MPDECOR_STACK_TRACES";

/// One frame of a child's stack: where it lies in which loaded module.
struct trace_frame {
  std::string module;       ///< the shared object's path as loaded; "" for the program
  std::uint64_t offset = 0; ///< the return address minus the module's load address
};

/// The most frames a trace holds.
inline constexpr std::size_t max_trace_frames = 48;

/// Child: starts recording traces when the parent asked for them (the environment
/// variable, which is taken out of the environment). Call once, before the function runs.
void start_recording_traces() noexcept;

/// Child: the encoded trace of where `thrown` (the exception object being handled) was
/// thrown: the latest throw of that object on this thread, or else this thread's latest
/// throw. Empty when nothing was recorded.
std::string encoded_throw_trace(const void* thrown);

/// Child, in a crash handler: encodes the current stack into `buffer`, without allocating
/// or locking; returns the bytes written (0 when no trace is recorded).
std::size_t encode_crash_trace(char* buffer, std::size_t size) noexcept;

/// Decodes what the two functions above encode: a 16-bit count, then per frame a 16-bit
/// length, the module's path and a 64-bit offset. Stops quietly at anything malformed: a
/// trace is a help, never a reason to refuse a reply.
std::vector<trace_frame> decode_trace(std::string_view bytes);

/// Parent: one line per frame, "#0 function at file:line" as far as it can be found.
std::string describe_trace(const std::vector<trace_frame>& frames);

// --- lib/throw_hook_linux.cpp ----------------------------------------------------------

/// Turns the recording of throws on (a child that records traces).
void record_throws() noexcept;
/// The return addresses recorded at the latest throw of `thrown` on this thread (or its
/// latest throw): at most `capacity` written to `frames`; returns how many.
std::size_t recorded_throw(const void* thrown, void** frames, std::size_t capacity) noexcept;

} // namespace mpdecor::detail

#endif
