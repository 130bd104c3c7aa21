// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool's worker. After the hello frame it tells the parent it is ready; then
// every call frame on the channel is served like a one-call child serves its only one
// (serve_call), and its reply goes back on the same channel; the parent closing the channel
// is the signal to exit. A chunk of calls comes as one call_batch frame, and their replies
// go back together in one reply_batch frame: one message each way per chunk instead of one
// per task. A call with a shared-memory segment comes alone, and a reply with one goes
// alone (Linux).
#include "channel.hpp"
#include "output.hpp"
#include "protocol.hpp"
#include "reply.hpp"
#include "shared_memory.hpp"
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

[[noreturn]] void stop(int code, const std::string& message) {
  std::fprintf(stderr, "mpdecor worker: %s\n", message.c_str());
  std::exit(code);
}

// Flushes this worker's output; the frame that tells the parent where the task's output
// ends.
std::string output_mark_frame() {
  const output_mark mark = current_output_mark();
  std::string frame(frame_header_size + sizeof mark.out + sizeof mark.err, '\0');
  write_frame_header(frame.data(), frame_kind::output_mark, sizeof mark.out + sizeof mark.err);
  std::memcpy(frame.data() + frame_header_size, &mark.out, sizeof mark.out);
  std::memcpy(frame.data() + frame_header_size + sizeof mark.out, &mark.err, sizeof mark.err);
  return frame;
}

// A reply this large goes alone, not copied into a batch.
constexpr std::size_t batched_reply_limit = 64 * 1024;
// A batch this large is sent without waiting for the rest of its chunk.
constexpr std::size_t batch_limit = 256 * 1024;

// The replies of a chunk's tasks, held back to go as one reply_batch frame. Whatever is
// held is always a whole frame, which a crash report sends before the crash
// (hold_replies), so that a crash fails only the task that crashed.
class reply_batch {
public:
  explicit reply_batch(native_channel out) : out_(out), frame_(frame_header_size, '\0') { seal(); }
  reply_batch(const reply_batch&) = delete;
  reply_batch& operator=(const reply_batch&) = delete;
  ~reply_batch() { hold_replies(nullptr, 0); }

  void add(std::string_view reply) {
    hold_replies(nullptr, 0); // appending may move the bytes
    frame_.append(reply);
    seal();
  }

  std::size_t size() const noexcept { return frame_.size(); }

  void send() {
    if (frame_.size() == frame_header_size)
      return;
    hold_replies(nullptr, 0);
    write_frame(out_, frame_);
    frame_.resize(frame_header_size);
    seal();
  }

private:
  // Held from the chunk's start to its end, even with no reply in it yet: a crash or an
  // exit inside the chunk then always tells the parent that the replies before it came.
  void seal() noexcept {
    write_frame_header(frame_.data(), frame_kind::reply_batch, frame_.size() - frame_header_size);
    hold_replies(frame_.data(), frame_.size());
  }

  native_channel out_;
  std::string frame_;
};

// How the worker serves its calls, fixed when it starts.
struct worker_settings {
  bool marks = false; // each reply follows an output mark (lib/output.hpp)
  // Large blocks of a result go to shared memory from this size on (0: none), and
  // shared_arrays by their own descriptors; no shared memory at all without a value.
  std::optional<std::size_t> threshold;
};

// Runs one call (whose large blocks, if any, are in `shared`); its reply (after an output
// mark, where the parent wants them) goes out at once, or into `batch` when the call came
// in a chunk. A reply with a segment of its own always goes alone.
void serve_one(std::string_view payload, segment_contents shared, native_channel out,
               const worker_settings& settings, reply_batch* batch) {
  const bool marks = settings.marks;
  // A worker serves whichever registered function each frame names; serve_call checks
  // the name against the frame again and reports an unknown one as a reply.
  std::string name;
  try {
    input_archive names(payload);
    names(name);
  } catch (const std::exception&) {
    // serve_call reports the undecodable name as a bad call.
  }
  attachments side(settings.threshold.value_or(0));
  const std::string reply = serve_call(name, payload, shared, settings.threshold ? &side : nullptr);
  try {
    segment reply_shared = take_reply_segment();
    if (!read_frame_header(reply.data()).has_segment)
      reply_shared = segment(); // a segment the reply does not announce never goes out
    const std::string mark = marks ? output_mark_frame() : std::string();
    if (batch == nullptr) {
      if (marks)
        write_frame(out, mark);
      write_frame(out, reply, reply_shared.descriptors());
      return;
    }
    if (marks)
      batch->add(mark);
    if (reply.size() > batched_reply_limit || reply_shared) {
      batch->send();
      write_frame(out, reply, reply_shared.descriptors());
      return;
    }
    batch->add(reply);
    if (batch->size() > batch_limit)
      batch->send();
  } catch (const std::exception& e) {
    stop(exit_result_not_sent, "could not send the result of '" + name + "': " + e.what());
  }
}

void send_held_at_exit() { send_held_replies(); }

// Serves a chunk's calls (whole call frames end to end) and sends their replies together.
void serve_batch(std::string_view calls, native_channel out, const worker_settings& settings) {
  reply_batch batch(out);
  while (!calls.empty()) {
    if (calls.size() < frame_header_size)
      throw decode_failure("a chunk of calls ends inside a frame header");
    const frame_header header = read_frame_header(calls.data());
    if (header.kind != frame_kind::call || header.has_segment ||
        header.length > calls.size() - frame_header_size)
      throw decode_failure("a chunk of calls holds a frame that is not a whole call");
    serve_one(calls.substr(frame_header_size, static_cast<std::size_t>(header.length)), {}, out,
              settings, &batch);
    calls.remove_prefix(frame_header_size + static_cast<std::size_t>(header.length));
  }
  try {
    batch.send();
  } catch (const std::exception& e) {
    stop(exit_result_not_sent, std::string("could not send the results of a chunk: ") + e.what());
  }
}

// Reads the next call, or chunk of calls, into `payload`, and the segment that comes with
// a call into `shared`; false when the parent closed the channel between calls, its signal
// to exit.
bool read_call(native_channel in, std::string& payload, frame_kind& kind, segment& shared) {
  std::vector<int> descriptors;
  const read_status status = read_frame_of(in, frame_kind::call, frame_kind::call_batch, kind,
                                           payload, /*trusted=*/true, &descriptors);
  if (!descriptors.empty())
    shared = segment::open(std::move(descriptors));
  switch (status) {
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
  worker_settings settings;
  // Where the parent captures this worker's output, each result follows a mark of where
  // the task's output ends (lib/output.hpp).
  settings.marks = !take_environment_variable(output_marks_variable).empty();
  // The parent's threshold for shared memory in replies; none unless it said so.
  settings.threshold = take_sharing_threshold();
  // A function that exits in the middle of a chunk: the replies before it still go.
  std::atexit(send_held_at_exit);
  // The pool hands this worker its first task, and starts that task's timeout, only once
  // it has this frame: the time the process took to start (static initialization, a GPU
  // runtime) is not the task's. A parent that has closed the channel already (a pool
  // shutting down) makes the send fail; the read below then sees the channel closed.
  try {
    std::string ready(frame_header_size, '\0');
    write_frame_header(ready.data(), frame_kind::ready, 0);
    write_frame(channel.out, ready);
  } catch (const std::exception&) {
  }
  std::string payload;
  try {
    for (;;) {
      frame_kind kind{};
      segment shared;
      if (!read_call(channel.in, payload, kind, shared))
        break;
      if (kind == frame_kind::call_batch && shared)
        throw decode_failure("a chunk of calls came with a shared-memory segment");
      if (kind == frame_kind::call_batch)
        serve_batch(payload, channel.out, settings);
      else
        serve_one(payload, shared.contents(), channel.out, settings, nullptr);
      // A large argument's memory goes back before the next call is read.
      if (shared)
        payload = std::string();
    }
  } catch (const std::exception& e) {
    stop(exit_bad_call_message, std::string("could not read a call: ") + e.what());
  }
  // A normal exit, as after a one-call child: static destructors run and output is flushed.
  std::exit(0);
}

} // namespace mpdecor::detail
