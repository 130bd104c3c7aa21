// mpdecor: init(), and serving a call in a child process.
#include "channel.hpp"
#include "launch_key.hpp"
#include "registry.hpp"
#include "reply.hpp"
#include "shared_memory.hpp"
#include "state.hpp"
#include "worker.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/init.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>
#include <thread>
#include <string>

namespace mpdecor {
namespace detail {
namespace {

bool child_flag = false;

[[noreturn]] void leave(int code, const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(code);
}

// Reads exactly `size` bytes, growing `buffer` as the data arrives: a length that a damaged
// header claims is never allocated up front.
bool read_exact(native_channel in, std::string& buffer, std::uint64_t size) {
  constexpr std::size_t chunk = std::size_t{1} << 20;
  buffer.clear();
  while (buffer.size() < size) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - buffer.size()));
    const auto old_size = buffer.size();
    buffer.resize(old_size + want);
    const auto got = read_some(in, buffer.data() + old_size, want);
    buffer.resize(old_size + got);
    if (got == 0)
      return false;
  }
  return true;
}

// Reads one whole frame of the expected kind into `payload`; throws or leaves on anything
// else. A frame from a parent that has proved itself (`trusted`) gets its whole length up
// front: a buffer that doubled as a large argument arrives would touch, and copy, twice
// its memory.
void read_frame(native_channel in, frame_kind expected, std::string& payload,
                bool trusted = false, segment* shared = nullptr) {
  std::string header;
  if (!read_exact(in, header, frame_header_size))
    leave(exit_bad_call_message, "mpdecor: the parent closed the channel before sending the call");
  const frame_header fixed = read_frame_header(header.data());
  if (fixed.kind != expected)
    leave(exit_bad_call_message, "mpdecor: unexpected message from the parent (kind " +
                                     std::to_string(static_cast<int>(fixed.kind)) + ")");
  if (fixed.has_segment) {
    // The segment's descriptor comes alone, right after the header (see wire.hpp).
    if (shared == nullptr)
      leave(exit_bad_call_message, "mpdecor: unexpected shared memory with a message");
    *shared = segment::open(receive_fd(static_cast<int>(in)));
  }
  if (trusted)
    payload.reserve(static_cast<std::size_t>(fixed.length));
  if (!read_exact(in, payload, fixed.length))
    leave(exit_bad_call_message, "mpdecor: the message from the parent ended early");
}


#if !defined(_WIN32)
// The parent sends nothing after the call, so the channel's read end only wakes when the
// parent is gone: end the call at once rather than run on for nobody. On Linux the kernel
// also kills the child then (PR_SET_PDEATHSIG); this covers every other platform.
void watch_parent(native_channel in) {
  std::thread([in] {
    char byte = 0;
    try {
      if (read_some(in, &byte, 1) == 0)
        std::_Exit(exit_parent_gone);
    } catch (const std::system_error& e) {
      // A reset connection means the parent is gone; any other error (the function closed
      // the descriptor, say) leaves the call to end on its own.
      if (e.code() == std::errc::connection_reset || e.code() == std::errc::broken_pipe)
        std::_Exit(exit_parent_gone);
    }
  }).detach();
}
#endif

[[noreturn]] void run_child(int argc, char** argv) {
  child_flag = true;
  prepare_child_process();
  const std::vector<std::string> arguments = utf8_arguments(argc, argv);
  const std::string name = arguments.size() > 2 ? arguments[2] : "";
  child_channel channel;
  if (arguments.size() != 5 || arguments[3] != "--mp-channel" ||
      !open_child_channel(arguments[4], channel))
    leave(exit_not_started_by_mpdecor,
          "mpdecor: this process was started with --mp-child but not by mpdecor; it runs no "
          "function (refusing '" + name + "')");

  const std::string key = take_environment_variable(launch_key_variable);
  if (key.size() != launch_key_size * 2)
    leave(exit_not_started_by_mpdecor,
          "mpdecor: this process was started with --mp-child but not by mpdecor (it has no "
          "launch key); it runs no function (refusing '" + name + "')");

  serve_child(channel, name, key);
}

} // namespace

[[noreturn]] void serve_child(child_channel channel, const std::string& name,
                              const std::string& key) {
  child_flag = true;
  // The parent's threshold for shared memory in the reply; none unless it said so.
  std::size_t threshold = 0;
  {
    const std::string text = take_environment_variable(sharing_threshold_variable);
    std::from_chars(text.data(), text.data() + text.size(), threshold);
  }
  segment shared;
  std::string payload;
  try {
    read_frame(channel.in, frame_kind::hello, payload);
    std::string offered;
    input_archive archive(payload);
    archive(offered);
    if (!keys_match(offered, key))
      leave(exit_not_started_by_mpdecor,
            "mpdecor: the call did not come from the process that started this child; it "
            "runs no function (refusing '" + name + "')");
    read_frame(channel.in, frame_kind::call, payload, true, &shared);
  } catch (const std::exception& e) {
    leave(exit_bad_call_message, std::string("mpdecor: could not read the call: ") + e.what());
  }
#if !defined(_WIN32)
  // On Windows the Job Object with kill-on-close ends the child with its parent; on Linux
  // the parent-death signal does, where the launch set one (not for a Slurm step).
  if (!dies_with_parent())
    watch_parent(channel.in);
#endif
  attachments side(threshold);
  std::string reply =
      serve_call(name, payload, shared.view(), threshold != 0 ? &side : nullptr);
  payload = std::string(); // gives the memory of a large argument back before sending
  shared = segment();
  try {
    const segment reply_shared = take_reply_segment();
    if (reply_shared) {
      // The header, the segment's descriptor alone, then the rest (see wire.hpp).
      write_all(channel.out, std::string_view(reply).substr(0, frame_header_size));
      send_fd(static_cast<int>(channel.out), reply_shared.fd());
      write_all(channel.out, std::string_view(reply).substr(frame_header_size));
    } else {
      write_all(channel.out, reply);
    }
  } catch (const std::exception& e) {
    leave(exit_result_not_sent, std::string("mpdecor: could not send the result of '") + name +
                                    "': " + e.what());
  }
  // A normal exit: the user's static destructors run, output is flushed, and children this
  // call started are handled as at any exit of the program.
  std::exit(0);
}

} // namespace detail

void init(int argc, char** argv) {
  detail::mark_initialized();
  if (argc >= 2 && argv != nullptr && argv[1] != nullptr &&
      std::strcmp(argv[1], "--mp-child") == 0)
    detail::run_child(argc, argv);
  if (argc >= 2 && argv != nullptr && argv[1] != nullptr &&
      std::strcmp(argv[1], "--mp-worker") == 0) {
    detail::child_flag = true;
    detail::run_worker(argc, argv);
  }
#if defined(__linux__)
  if (argc >= 2 && argv != nullptr && argv[1] != nullptr &&
      std::strcmp(argv[1], "--mp-fork-server") == 0) {
    detail::child_flag = true;
    detail::run_fork_server(argc, argv);
  }
#endif
  detail::read_settings_from_environment();
  detail::check_registrations();
}

bool is_child() noexcept { return detail::child_flag; }

} // namespace mpdecor
