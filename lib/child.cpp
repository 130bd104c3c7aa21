// SPDX-License-Identifier: BSL-1.0
// mpdecor: init(), and serving a call in a child process.
#include "channel.hpp"
#include "protocol.hpp"
#include "registry.hpp"
#include "reply.hpp"
#include "shared_memory.hpp"
#include "stack_trace.hpp"
#include "state.hpp"
#include "worker.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/init.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>
#include <string>

namespace mpdecor {
namespace detail {
namespace {

bool child_flag = false;

[[noreturn]] void leave(int code, const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(code);
}

// Reads the frame of kind `expected` that must come next; leaves on anything else.
void read_expected(native_channel in, frame_kind expected, std::string& payload,
                   segment* shared = nullptr) {
  std::vector<int> descriptors;
  const read_status got = read_frame(in, expected, payload, /*trusted=*/true,
                                     shared != nullptr ? &descriptors : nullptr);
  if (!descriptors.empty())
    *shared = segment::open(std::move(descriptors));
  if (got == read_status::closed)
    leave(exit_bad_call_message, "mpdecor: the parent closed the channel before sending the call");
  if (got == read_status::truncated)
    leave(exit_bad_call_message, "mpdecor: the message from the parent ended early");
}

[[noreturn]] void run_child(int argc, char** argv) {
  child_flag = true;
  prepare_child_process();
  const std::vector<std::string> arguments = utf8_arguments(argc, argv);
  child_start start;
  if (!read_child_start(arguments, start))
    leave(exit_not_started_by_mpdecor,
          "mpdecor: this process was started with --mp-child but not by mpdecor (no channel "
          "or no launch key); it runs no function (refusing '" +
              (arguments.size() > 2 ? arguments[2] : std::string()) + "')");
  serve_child(start.channel, start.name, start.key);
}

} // namespace

[[noreturn]] void serve_child(child_channel channel, const std::string& name,
                              const std::string& key) {
  child_flag = true;
  // The parent's threshold for shared memory in the reply; no shared memory at all (not
  // even a shared_array's own segment) unless it said so.
  const std::optional<std::size_t> threshold = take_sharing_threshold();
  std::string problem;
  switch (read_hello(channel.in, key, problem)) {
  case hello_result::accepted:
    break;
  case hello_result::refused:
    leave(exit_not_started_by_mpdecor,
          "mpdecor: the call did not come from the process that started this child; it "
          "runs no function (refusing '" +
              name + "')");
  case hello_result::closed:
    leave(exit_bad_call_message, "mpdecor: the parent closed the channel before sending the call");
  case hello_result::damaged:
    leave(exit_bad_call_message, "mpdecor: could not read the call: " + problem);
  }
  segment shared;
  std::string payload;
  try {
    read_expected(channel.in, frame_kind::call, payload, &shared);
  } catch (const std::exception& e) {
    leave(exit_bad_call_message, std::string("mpdecor: could not read the call: ") + e.what());
  }
  watch_parent(channel.in);
  start_recording_traces();
  report_crashes_to(channel.out);
  attachments side(threshold.value_or(0));
  std::string reply = serve_call(name, payload, shared.contents(), threshold ? &side : nullptr);
  payload = std::string(); // gives the memory of a large argument back before sending
  shared = segment();
  try {
    // With a segment, its descriptor goes alone right after the header (see wire.hpp).
    const segment reply_shared = take_reply_segment();
    write_frame(channel.out, reply, reply_shared.descriptors());
  } catch (const std::exception& e) {
    leave(exit_result_not_sent,
          std::string("mpdecor: could not send the result of '") + name + "': " + e.what());
  }
  // A normal exit: the user's static destructors run, output is flushed, and children this
  // call started are handled as at any exit of the program.
  std::exit(0);
}

} // namespace detail

void init(int argc, char** argv) {
  detail::mark_initialized();
  if (argc >= 2 && argv != nullptr && argv[1] != nullptr &&
      std::strcmp(argv[1], detail::call_flag) == 0)
    detail::run_child(argc, argv);
  if (argc >= 2 && argv != nullptr && argv[1] != nullptr &&
      std::strcmp(argv[1], detail::worker_flag) == 0) {
    detail::child_flag = true;
    detail::run_worker(argc, argv);
  }
  if constexpr (detail::fork_server_supported) {
    if (argc >= 2 && argv != nullptr && argv[1] != nullptr &&
        std::strcmp(argv[1], detail::fork_server_flag) == 0) {
      detail::child_flag = true;
      detail::run_fork_server(argc, argv);
    }
  }
  detail::read_settings_from_environment();
  detail::check_registrations();
}

bool is_child() noexcept { return detail::child_flag; }

} // namespace mpdecor
