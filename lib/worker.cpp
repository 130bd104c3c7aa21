// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool's worker. After the hello frame, every call frame on the channel is
// served like a one-call child serves its only one (serve_call), and its reply goes back
// on the same channel; the parent closing the channel is the signal to exit.
#include "channel.hpp"
#include "output.hpp"
#include "protocol.hpp"
#include "reply.hpp"
#include "stack_trace.hpp"
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

// Flushes this worker's output and tells the parent where the task's output ends.
void send_output_mark(native_channel out) {
  const output_mark mark = current_output_mark();
  std::string frame(frame_header_size + sizeof mark.out + sizeof mark.err, '\0');
  write_frame_header(frame.data(), frame_kind::output_mark, sizeof mark.out + sizeof mark.err);
  std::memcpy(frame.data() + frame_header_size, &mark.out, sizeof mark.out);
  std::memcpy(frame.data() + frame_header_size + sizeof mark.out, &mark.err, sizeof mark.err);
  write_frame(out, frame);
}

[[noreturn]] void stop(int code, const std::string& message) {
  std::fprintf(stderr, "mpdecor worker: %s\n", message.c_str());
  std::exit(code);
}

// Reads the next call into `payload`; false when the parent closed the channel between
// calls, its signal to exit.
bool read_call(native_channel in, std::string& payload) {
  switch (read_frame(in, frame_kind::call, payload, /*trusted=*/true)) {
  case read_status::complete:
    return true;
  case read_status::closed:
    return false;
  case read_status::truncated:
    break;
  }
  stop(exit_bad_call_message, "the channel closed in the middle of a message");
}

} // namespace

void run_worker(int argc, char** argv) {
  prepare_child_process();
  child_start start;
  if (!read_child_start(utf8_arguments(argc, argv), start))
    stop(exit_not_started_by_mpdecor, "this process was started with --mp-worker but not by "
                                      "mpdecor (no channel or no launch key); it serves nothing");
  serve_worker(start.channel, start.key);
}

void serve_worker(child_channel channel, const std::string& key) {
  std::string problem;
  switch (read_hello(channel.in, key, problem)) {
  case hello_result::accepted:
    break;
  case hello_result::refused:
    stop(exit_not_started_by_mpdecor,
         "the calls do not come from the process that started this worker; it serves nothing");
  case hello_result::closed:
    stop(exit_bad_call_message, "the parent closed the channel before its hello");
  case hello_result::damaged:
    stop(exit_bad_call_message, "could not read the hello: " + problem);
  }
  start_recording_traces();
  report_crashes_to(channel.out);
  // Where the parent captures this worker's output, each result follows a mark of where
  // the task's output ends (lib/output.hpp).
  const bool marks = !take_environment_variable(output_marks_variable).empty();
  std::string payload;
  try {
    for (;;) {
      if (!read_call(channel.in, payload))
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
        if (marks)
          send_output_mark(channel.out);
        write_frame(channel.out, reply);
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
