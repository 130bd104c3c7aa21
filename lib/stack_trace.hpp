// SPDX-License-Identifier: BSL-1.0
// mpdecor: the child's stack where its function threw, or where it crashed, shown to the
// parent (remote_error::stack_trace(), child_crashed::stack_trace()).
//
// Linux with glibc, and Windows. The child records raw return addresses: at every throw,
// and in its crash handler. Linux: Boost.Stacktrace's safe_dump_to (which also works
// inside a signal handler), in the program's own __cxa_throw that runs before the C++
// runtime's (lib/throw_hook_linux.cpp) and in the crash signal handler
// (lib/channel_posix.cpp). Windows: a vectored exception handler sees every C++ throw
// (GCC's runtime raises each one as an SEH exception) and records the stack there; a crash
// is walked from the context of its exception, or from abort()'s signal handler
// (lib/stack_trace_windows.cpp, lib/channel_windows.cpp). The child sends each frame as its
// module (shared object or DLL, or "" for the program itself) and the offset in it. The
// parent runs the same executable and shared objects, so it finds each frame in its own
// copy and names it. Linux: with GCC's libbacktrace where the build found it (function,
// file and line from the debug information or the symbol table), with dladdr otherwise
// (exported names only). Windows: from the COFF symbol table of the module's file (function
// names only). A frame that cannot be named shows as module+offset. Nothing is named in the
// child: a crashed child can safely do very little, and the parent does it once, when the
// error is thrown.
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

/// Child, in a crash handler: encodes the stack into `buffer`, without allocating; returns
/// the bytes written (0 when no trace is recorded). The stack is the current one, less this
/// function and the crash handler that called it (on Windows, the handler's report
/// function and the handler); on Windows `context` may instead be the CONTEXT of the
/// exception that crashed, whose stack is walked from the instruction that faulted.
std::size_t encode_crash_trace(char* buffer, std::size_t size,
                               const void* context = nullptr) noexcept;

/// Decodes what the two functions above encode: a 16-bit count, then per frame a 16-bit
/// length, the module's path and a 64-bit offset. Stops quietly at anything malformed: a
/// trace is a help, never a reason to refuse a reply.
std::vector<trace_frame> decode_trace(std::string_view bytes);

/// Parent: one line per frame, "#0 function at file:line" as far as it can be found.
std::string describe_trace(const std::vector<trace_frame>& frames);

// --- per platform: lib/throw_hook_linux.cpp, lib/stack_trace_windows.cpp --------------

/// Turns the recording of throws on (a child that records traces).
void record_throws() noexcept;

// --- shared by both platforms' hooks (lib/stack_trace.cpp) ----------------------------

/// One throw's return addresses, the function that threw first.
struct recorded_throw_frames {
  const void* thrown = nullptr;
  std::size_t count = 0;
  void* frames[max_trace_frames + 1]; // one more for a hook that skips its own frame
};
/// Where a hook records this thread's next throw: the oldest of the last few it recorded
/// (a function may throw and catch on its way to the throw that leaves it, a destructor or
/// a retry, so the one that reaches the child's catch is found by its object).
recorded_throw_frames& next_throw_slot() noexcept;
/// The return addresses recorded at the latest throw of `thrown` on this thread (or its
/// latest throw): at most `capacity` written to `frames`; returns how many.
std::size_t recorded_throw(const void* thrown, void** frames, std::size_t capacity) noexcept;

#if defined(_WIN32)
/// The return addresses of the stack of `context` (a CONTEXT), the faulting instruction
/// first: at most `capacity`; returns how many. Without allocating.
std::size_t walk_stack(const void* context, void** frames, std::size_t capacity) noexcept;
/// The module holding `address`: its file's path written to `name` ("" for the program),
/// and its load address. False for an address in no module.
bool module_at(std::uintptr_t address, char* name, std::size_t size, std::uintptr_t& base) noexcept;
/// The load address of the module of this process loaded from `path` ("" for the
/// program), or 0; and the file it was loaded from, in `file`.
std::uintptr_t loaded_module(const std::string& path, std::string& file);
/// The name of the function at `rva` (an address relative to the module's load address)
/// in the COFF symbol table of the PE file `file`, mangled as it is there; "" if none.
std::string function_at(const std::string& file, std::uint64_t rva);
#endif

} // namespace mpdecor::detail

#endif
