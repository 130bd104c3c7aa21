// SPDX-License-Identifier: BSL-1.0
// mpdecor: the protocol between a parent and the children it starts, in one place.
//
// A child is this program started again as `<executable> FLAG NAME --mp-channel IN,OUT`,
// with its launch key (and, on POSIX, its parent's pid and memory limit) in the environment
// variables below, which it removes at once. On its channel the parent sends frames (the
// layout is include/mpdecor/detail/wire.hpp): a hello that proves it holds the key, then
// calls; the child answers each call with one reply frame. The fork server's control
// messages are frames too (lib/fork_server.hpp).
//
// This header is the child's side, read and written with blocking calls: a child, a worker
// and the fork server each hold one conversation at a time and need no event loop. The
// parent reads its children's frames with Asio (lib/frame_reader.hpp).
#ifndef MPDECOR_LIB_PROTOCOL_HPP
#define MPDECOR_LIB_PROTOCOL_HPP

#include "channel.hpp"

#include <mpdecor/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpdecor::detail {

// --- How a child is started ----------------------------------------------------------------

/// The first argument of a child, which `init` reads to choose what the child does.
inline constexpr const char* call_flag = "--mp-child";              ///< serve one call, then exit
inline constexpr const char* worker_flag = "--mp-worker";           ///< serve calls until closed
inline constexpr const char* fork_server_flag = "--mp-fork-server"; ///< fork one child a call
/// The argument before the channel's ends ("IN,OUT": descriptors or handle values).
inline constexpr const char* channel_flag = "--mp-channel";

/// The environment variable that hands a child its launch key.
inline constexpr const char* launch_key_variable = "MPDECOR_LAUNCH_KEY";
/// Through these a POSIX parent tells its child to die with it (its pid) and to limit its
/// own memory (bytes).
inline constexpr const char* parent_pid_variable = "MPDECOR_PARENT_PID";
inline constexpr const char* memory_limit_variable = "MPDECOR_MEMORY_LIMIT";
/// The parent's shared-memory threshold for the child's reply (absent or 0: everything
/// inline, as for a Slurm step, whose channel cannot carry a descriptor).
inline constexpr const char* sharing_threshold_variable = "MPDECOR_SHARED_MEMORY_THRESHOLD";
/// In a child or a worker: the threshold its parent gave (0: no blocks, only shared_arrays
/// by descriptor), or none when its channel cannot carry descriptors at all; taken out of
/// the environment so that the function never sees it.
std::optional<std::size_t> take_sharing_threshold();

/// A Slurm step's direct channel: the address ("HOST:PORT", "[V6]:PORT") the step connects
/// back to. The step sends its launch key first, in hex, and then the channel carries the
/// same frames as any other. A step that cannot connect writes `stdio_fallback_marker` on
/// its standard output and uses srun's standard streams instead.
inline constexpr const char* connect_variable = "MPDECOR_CONNECT";
inline constexpr std::string_view stdio_fallback_marker = "MPDSTDIO";

/// A child's arguments after its executable: `flag name --mp-channel channel`.
std::vector<std::string> child_arguments(const char* flag, const std::string& name,
                                         const std::string& channel);

/// What a child started by mpdecor is given.
struct child_start {
  std::string name;      ///< the function (a worker's label; "-" for the fork server)
  child_channel channel; ///< its channel, checked open
  std::string key;       ///< its launch key, taken out of the environment
};

/// Reads a child's arguments (as `child_arguments` wrote them, after the executable's) and
/// takes its launch key out of the environment. False when either is missing or malformed:
/// the process was not started by mpdecor, and must serve nothing.
bool read_child_start(const std::vector<std::string>& arguments, child_start& start);

// --- Frames, blocking ----------------------------------------------------------------------

/// How reading a frame ended.
enum class read_status {
  complete, ///< the whole frame was read
  closed,   ///< the other end closed the channel between frames (it is done)
  truncated ///< the other end closed the channel within a frame
};

/// Reads one frame of kind `expected` into `payload`, which grows as the bytes arrive so
/// that a length a damaged header claims is never allocated up front; unless `trusted` (a
/// parent that has proved itself), whose frame gets its whole length at once, since a
/// buffer that doubled as a large argument arrived would touch, and copy, twice its
/// memory. A descriptor that follows the header is received into `*descriptor` (for the
/// caller to own); with `descriptors` instead, the one or several that follow a frame with
/// a shared segment (its block segment's, then its shared_arrays'). Throws decode_failure for a
/// frame that is not of kind `expected`, not ours, or brings a descriptor where none is wanted;
/// std::system_error when a system call fails.
read_status read_frame(native_channel in, frame_kind expected, std::string& payload,
                       bool trusted = false, int* descriptor = nullptr);
/// As read_frame, for a frame of kind `expected` or `alternative`; `kind` says which came.
read_status read_frame_of(native_channel in, frame_kind expected, frame_kind alternative,
                          frame_kind& kind, std::string& payload, bool trusted = false,
                          int* descriptor = nullptr);
read_status read_frame(native_channel in, frame_kind expected, std::string& payload, bool trusted,
                       std::vector<int>* descriptors);
read_status read_frame_of(native_channel in, frame_kind expected, frame_kind alternative,
                          frame_kind& kind, std::string& payload, bool trusted,
                          std::vector<int>* descriptors);

/// Writes `frame`, header and payload. With a `descriptor` (a frame whose header says one
/// follows), the descriptor goes alone right after the header. Throws std::system_error
/// (the other end is gone, typically).
void write_frame(native_channel out, std::string_view frame, int descriptor = -1);
/// As write_frame, with all of `descriptors` (none: a frame without a segment).
void write_frame(native_channel out, std::string_view frame, const std::vector<int>& descriptors);

/// How a child's hello went.
enum class hello_result {
  accepted, ///< it came from the process holding the child's key
  refused,  ///< it did not: the child must serve nothing
  closed,   ///< the channel closed before a whole hello came
  damaged   ///< what came is not a hello, or the channel broke (`problem` says which)
};

/// Reads the hello frame that opens every channel and checks its key against `key` (in
/// constant time). Never throws.
hello_result read_hello(native_channel in, const std::string& key, std::string& problem) noexcept;

} // namespace mpdecor::detail

#endif
