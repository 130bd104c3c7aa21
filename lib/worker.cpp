// mpdecor: a pool's worker. After the hello frame, every call frame on the channel is
// served like a one-call child serves its only one (serve_call), and its reply goes back
// on the same channel; the parent closing the channel is the signal to exit.
#include "channel.hpp"
#include "launch_key.hpp"
#include "reply.hpp"
#include "worker.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/init.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace mpdecor::detail {
namespace {

[[noreturn]] void stop(int code, const std::string& message) {
  std::fprintf(stderr, "mpdecor worker: %s\n", message.c_str());
  std::exit(code);
}

enum class read_outcome { complete, closed_before, closed_within };

// Reads exactly `size` bytes, growing `buffer` as they arrive so that a damaged length is
// never allocated up front. Tells a channel closed between messages (the parent is done)
// from one closed in the middle of a message.
read_outcome read_exact(native_channel in, std::string& buffer, std::uint64_t size) {
  constexpr std::size_t chunk = std::size_t{1} << 20;
  buffer.clear();
  while (buffer.size() < size) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - buffer.size()));
    const auto old_size = buffer.size();
    buffer.resize(old_size + want);
    const auto got = read_some(in, buffer.data() + old_size, want);
    buffer.resize(old_size + got);
    if (got == 0)
      return old_size == 0 ? read_outcome::closed_before : read_outcome::closed_within;
  }
  return read_outcome::complete;
}

// One frame of the expected kind into `payload`; false when the parent closed the channel
// between frames.
bool read_frame(native_channel in, frame_kind expected, std::string& payload,
                bool trusted = false) {
  std::string header;
  const read_outcome got = read_exact(in, header, frame_header_size);
  if (got == read_outcome::closed_before)
    return false;
  if (got == read_outcome::closed_within)
    stop(exit_bad_call_message, "the channel closed in the middle of a message");
  const frame_header fixed = read_frame_header(header.data());
  if (fixed.kind != expected)
    stop(exit_bad_call_message, "unexpected message from the parent (kind " +
                                    std::to_string(static_cast<int>(fixed.kind)) + ")");
  // A call from the parent that proved itself gets its whole length up front (see
  // child.cpp).
  if (trusted)
    payload.reserve(static_cast<std::size_t>(fixed.length));
  if (read_exact(in, payload, fixed.length) != read_outcome::complete)
    stop(exit_bad_call_message, "the message from the parent ended early");
  return true;
}


} // namespace

void run_worker(int argc, char** argv) {
  prepare_child_process();
  child_channel channel;
  if (argc != 5 || std::strcmp(argv[3], "--mp-channel") != 0 ||
      !open_child_channel(argv[4], channel))
    stop(exit_not_started_by_mpdecor,
         "this process was started with --mp-worker but not by mpdecor; it serves nothing");
  const std::string key = take_environment_variable(launch_key_variable);
  if (key.size() != launch_key_size * 2)
    stop(exit_not_started_by_mpdecor,
         "this process was started with --mp-worker but has no launch key; it serves nothing");

  serve_worker(channel, key);
}

void serve_worker(child_channel channel, const std::string& key) {
  std::string payload;
  try {
    std::string offered;
    if (!read_frame(channel.in, frame_kind::hello, payload))
      stop(exit_bad_call_message, "the parent closed the channel before its hello");
    input_archive archive(payload);
    archive(offered);
    if (!keys_match(offered, key))
      stop(exit_not_started_by_mpdecor,
           "the calls do not come from the process that started this worker; it serves nothing");
    for (;;) {
      if (!read_frame(channel.in, frame_kind::call, payload, true))
        break;
      // A worker serves whichever registered function each frame names; serve_call checks
      // the name against the frame again and reports an unknown one as a reply.
      std::string name;
      try {
        input_archive names(payload);
        names(name);
      } catch (const std::exception&) {
        // serve_call reports the undecodable name as a bad call.
      }
      const std::string reply = serve_call(name, payload);
      try {
        write_all(channel.out, reply);
      } catch (const std::exception& e) {
        stop(exit_result_not_sent, "could not send the result of '" + name + "': " + e.what());
      }
    }
  } catch (const std::exception& e) {
    stop(exit_bad_call_message, std::string("could not read a call: ") + e.what());
  }
  // A normal exit, as after a one-call child: static destructors run and output is flushed.
  std::exit(0);
}

} // namespace mpdecor::detail
