// mpdecor: what the supervisor asks of the platform (lib/launch_posix.cpp,
// lib/launch_windows.cpp): start a child with a private channel, kill it, and describe how
// it ended.
#ifndef MPDECOR_LIB_LAUNCH_HPP
#define MPDECOR_LIB_LAUNCH_HPP

#include "config.hpp"

#include <mpdecor/options.hpp>

#include <memory>
#include <optional>
#include <string>
#include <system_error>

#if defined(MPDECOR_POSIX)
#include <boost/asio/local/stream_protocol.hpp>
#else
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#endif

namespace mpdecor::detail {

/// The parent's end of a child's channel: the parent writes the call to `writer()` and
/// reads the result from `reader()`.
#if defined(MPDECOR_POSIX)
// One socket pair: writes to it never raise SIGPIPE in the parent (asio sends with
// MSG_NOSIGNAL), unlike a pipe whose reader has died.
struct channel_ends {
  explicit channel_ends(boost::asio::io_context& io) : stream(io) {}
  boost::asio::local::stream_protocol::socket stream;
  boost::asio::local::stream_protocol::socket& reader() { return stream; }
  boost::asio::local::stream_protocol::socket& writer() { return stream; }
  void close() {
    boost::system::error_code ignored;
    stream.close(ignored);
  }
};
#else
/// Closes a job object handle (lib/launch_windows.cpp).
struct job_closer {
  void operator()(void* job) const noexcept;
};

// Two pipes: Windows has no socket pair whose ends a child can use as plain handles.
struct channel_ends {
  explicit channel_ends(boost::asio::io_context& io) : in(io), out(io) {}
  boost::asio::readable_pipe in;
  boost::asio::writable_pipe out;
  /// The child's own job object, when its memory limit needs one. Closing it kills the
  /// child, so it lives as long as the channel, which the supervisor keeps until the child
  /// has exited.
  std::unique_ptr<void, job_closer> job;
  boost::asio::readable_pipe& reader() { return in; }
  boost::asio::writable_pipe& writer() { return out; }
  void close() {
    boost::system::error_code ignored;
    in.close(ignored);
    out.close(ignored);
  }
};
#endif

/// What a launched child does: serve one call and exit, or serve calls until its channel
/// closes (a pool's worker).
enum class launch_mode { call, worker };

/// The first argument of a child, which `init` reads to choose what the child does.
inline const char* mode_argument(launch_mode mode) noexcept {
  return mode == launch_mode::worker ? "--mp-worker" : "--mp-child";
}

/// Starts `--mp-child function` (or `--mp-worker label` for a pool's worker) from the
/// program's own executable with a fresh channel, handing it `launch_key` in its
/// environment (and nowhere else).
/// On failure returns nothing and sets `error` and `what` (what was being done).
std::optional<process_v2::process> launch_child(boost::asio::io_context& io,
                                                const std::string& function,
                                                const options& settings,
                                                const std::string& launch_key,
                                                channel_ends& channel, std::error_code& error,
                                                std::string& what,
                                                launch_mode mode = launch_mode::call);

/// A fresh random launch key, as hex digits (lib/supervisor.cpp).
std::string new_launch_key();
/// The hello frame that proves to a child that its calls come from the process holding
/// `key` (lib/supervisor.cpp).
std::string hello_frame(const std::string& key);

/// Kills the child at once without reaping it (the supervisor's wait reaps it).
void kill_child(process_v2::process& child) noexcept;

/// How a child ended, decoded from its native exit status.
struct exit_status {
  std::optional<int> exit_code; ///< set when it exited by itself
  std::optional<int> signal;    ///< set when it was killed (POSIX signal or NTSTATUS)
};
exit_status decode_exit_status(process_v2::native_exit_code_type status) noexcept;

/// "SIGSEGV (Segmentation fault)" or "STATUS_ACCESS_VIOLATION"; empty if unknown.
std::string describe_signal(int signal);

/// The executable of this program (found with Boost.DLL), computed once.
const std::filesystem::path& own_executable();

} // namespace mpdecor::detail

#endif
