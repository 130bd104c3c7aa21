// SPDX-License-Identifier: BSL-1.0
// mpdecor: the child's end of its channel, read and written with plain blocking calls
// (a child serves exactly one call, so it needs no event loop).
#ifndef MPDECOR_LIB_CHANNEL_HPP
#define MPDECOR_LIB_CHANNEL_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpdecor::detail {

/// A file descriptor (POSIX) or HANDLE (Windows) value.
using native_channel = std::intptr_t;

struct child_channel {
  native_channel in = -1;
  native_channel out = -1;
};

/// The program's arguments as UTF-8: `argv` on POSIX; on Windows read again from the wide
/// command line, since main's `argv` is in the ANSI code page, which cannot hold every
/// registered name.
std::vector<std::string> utf8_arguments(int argc, char** argv);

/// Parses the value of --mp-channel ("IN,OUT") and checks that both ends are open. A
/// channel on the standard streams ("0,1", a Slurm step's) is moved off them: standard
/// input then reads nothing and the function's standard output goes to standard error,
/// so that nothing the function prints can mix with the results.
/// Returns false for anything else: the process was not started by mpdecor.
bool open_child_channel(std::string_view argument, child_channel& channel) noexcept;

/// A Slurm step's direct channel (protocol.hpp, connect_variable): connects to `address`
/// ("HOST:PORT" or "[V6]:PORT", numeric) within a few seconds, with TCP_NODELAY, and sends
/// `key`; the connection then becomes both ends of `channel`, and srun's standard streams
/// (the channel so far) are closed. When it cannot, it says why on standard error, writes
/// stdio_fallback_marker on the channel, and leaves the channel as it was. Never throws.
/// POSIX; nothing on Windows, where no Slurm step runs.
void connect_back(const std::string& address, const std::string& key,
                  child_channel& channel) noexcept;

/// Platform set-up of a child before it runs its call. Windows: a crash ends the child at
/// once with its exception code as exit status, without a dialog or a debugger, and
/// abort() ends it with a crash code, not an exit code. POSIX: the child's whole process
/// tree (its process group) ends with the parent named in its environment (Linux; this
/// child alone where `may_start_threads` is false or no watcher can be had), and it takes
/// the memory limit it names.
void prepare_child_process(bool may_start_threads = true) noexcept;

/// Linux: ends this process's group (the call's whole process tree) at once when process
/// `parent` ends, through a thread that waits on the parent's pidfd. False where no pidfd
/// or no thread can be had, and on other systems.
bool end_tree_with_parent(long parent) noexcept;

/// Ends this child at once (exit_parent_gone) when the parent closes `in`, which it does
/// only when it is gone, rather than let a call run on for nobody. Nothing where the system
/// ends the child with its parent already: Linux's parent-death signal, where the launch
/// set one (not for a Slurm step), and Windows' Job Object with kill-on-close.
void watch_parent(native_channel in) noexcept;
/// Records that the parent-death signal is set (by prepare_child_process, or the fork
/// server's child).
void mark_dies_with_parent() noexcept;

/// From here on, a crash that ends this child first sends the parent a crash_signal frame
/// on `out` (unless a frame is being sent), with the stack where it crashed when traces are
/// recorded. POSIX: for a crash signal (SIGSEGV, SIGABRT, ...) that would end the child by
/// its default action; its number also lets the parent tell the crash when the exit status
/// is lost to the program's own SIGCHLD handling. Windows: for abort() and for an exception
/// nothing handled (the exit status, never lost there, tells which).
void report_crashes_to(native_channel out) noexcept;

/// A worker's replies held back to go with the rest of their chunk (a whole reply_batch
/// frame, `size` bytes at `data`; nullptr when none are held). A crash report sends them
/// first, so that the tasks that finished before the crash keep their results, and only
/// the one that crashed fails. The memory must stay as it is until the next call.
void hold_replies(const char* data, std::size_t size) noexcept;
/// Sends the replies held (hold_replies), if any, then a crash_signal frame with number 0
/// that says so, and forgets them; never throws. For a worker that exits in the middle of
/// a chunk (a function that calls std::exit).
void send_held_replies() noexcept;

/// Reads up to `size` bytes; 0 means the other end closed. Throws std::system_error.
std::size_t read_some(native_channel in, char* data, std::size_t size);

/// Returns the value of an environment variable and removes it from the environment
/// (empty if it was not set).
std::string take_environment_variable(const char* name);

/// Writes all of `data`. Throws std::system_error (the parent is gone, typically).
void write_all(native_channel out, std::string_view data);

} // namespace mpdecor::detail

#endif
