// SPDX-License-Identifier: BSL-1.0
// mpdecor: one child as the parent's event loop sees it (lib/child_connection.hpp).
#include "child_connection.hpp"

#include "failure.hpp"
#include "stack_trace.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstdio>
#include <cstring>
#include <utility>

namespace mpdecor::detail {

child_connection::child_connection(boost::asio::io_context& io, child_events events)
    : io_(io), events_(std::move(events)), channel_(std::make_unique<channel_ends>(io)), timer_(io),
      terminate_timer_(io) {}

std::shared_ptr<child_connection>
child_connection::launch(boost::asio::io_context& io, const std::string& function,
                         const options& settings, launch_mode mode, child_events events,
                         std::error_code& error, std::string& what) {
  std::shared_ptr<child_connection> connection;
  std::string key;
  try {
    connection = std::make_shared<child_connection>(io, std::move(events));
    key = new_launch_key();
    if (!connection->output_.open(settings, error, what))
      return nullptr;
    const start_method method = effective_start_method(settings);
    // What mpdecor asks of the child through its environment, besides the call's own.
    std::optional<options> adjusted;
    auto add_variable = [&](const char* name) {
      if (!adjusted)
        adjusted = settings;
      adjusted->environment.emplace_back(name, "1");
    };
    // A pool's worker whose output is captured marks where each task's output ends (not
    // through srun, whose forwarding makes the sizes a worker sees meaningless here).
    if (mode == launch_mode::worker && connection->output_.captures() &&
        method != start_method::slurm)
      add_variable(output_marks_variable);
    if (stack_traces())
      add_variable(stack_traces_variable);
    const launch_request request{io,
                                 function,
                                 adjusted ? *adjusted : settings,
                                 method,
                                 key,
                                 *connection->channel_,
                                 mode,
                                 connection->output_};
    launch_failure failed;
    connection->process_ = launch_child(request, failed);
    connection->output_.close_child_ends(); // the child has its own, or never will
    error = failed.error;
    what = std::move(failed.what);
  } catch (const std::exception& e) {
    // Nothing a launch throws may leave the event loop (Asio's reactor, made on first use,
    // at the descriptor limit): it fails this launch alone.
    error = error_code_of(e);
    what = std::string("starting a child: ") + e.what();
    return nullptr;
  }
  if (!connection->process_)
    return nullptr;
  connection->channel_ready_ = connection->process_->channel_ready();
  // Written first: a child still being forked reads it as soon as it exists.
  connection->outgoing_.push_back({std::make_shared<const std::string>(hello_frame(key)), {}});
  connection->write_next();
  connection->process_->async_started(
      [weak = connection->weak_from_this()](std::error_code failed, std::string doing) {
        // Always continued through the loop: a launcher may answer at once, on this thread.
        if (auto self = weak.lock())
          boost::asio::post(self->io_, [self, failed, doing = std::move(doing)]() mutable {
            self->on_started(failed, std::move(doing));
          });
      });
  return connection;
}

void child_connection::on_started(std::error_code error, std::string what) {
  if (abandoned_)
    return;
  if (error) {
    abandoned_ = true;
    process_.reset();
    channel_->close();
    return events_.not_started(error, std::move(what));
  }
  started_ = true;
  pid_ = process_->id();
  if (channel_ready_) {
    read_next();
  } else {
    process_->async_channel_ready([weak = weak_from_this()] {
      if (auto self = weak.lock())
        boost::asio::post(self->io_, [self] { self->on_channel_ready(); });
    });
  }
  process_->async_wait(
      [self = shared_from_this()](exit_status how) { self->on_exit(std::move(how)); });
  events_.started();
}

void child_connection::on_channel_ready() {
  if (abandoned_ || channel_ready_)
    return;
  channel_ready_ = true;
  if (closed_) // closed while the step connected: it gets no call, and reads nothing
    channel_->close();
  read_next();
  write_next();
}

void child_connection::send(std::shared_ptr<const std::string> frame,
                            std::shared_ptr<const segment> shared) {
  outgoing_.push_back({std::move(frame), std::move(shared)});
  write_next();
}

void child_connection::write_next() {
  if (writing_ || outgoing_.empty() || closed_ || exited_ || abandoned_ || !channel_ready_)
    return;
  writing_ = true;
  const outgoing& item = outgoing_.front();
  // With a segment, the frame's header goes first, then its descriptor, then the rest.
  const std::size_t first = item.shared ? frame_header_size : item.frame->size();
  boost::asio::async_write(channel_->writer(), boost::asio::buffer(item.frame->data(), first),
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             if (ec) {
                               self->writing_ = false;
                               self->outgoing_.clear();
                               return;
                             }
                             if (self->outgoing_.front().shared)
                               return self->write_rest(self->outgoing_.front());
                             self->writing_ = false;
                             self->outgoing_.pop_front();
                             self->write_next();
                           });
}

void child_connection::write_rest(const outgoing& item) {
  // Windows has no segments: this is never reached there, and would end the writes.
  channel_->async_wait_to_send([self = shared_from_this(), frame = item.frame,
                                shared = item.shared](boost::system::error_code ec) {
    bool sent = !ec;
    if (sent) {
      try {
        self->channel_->send_descriptors(shared->descriptors());
      } catch (const std::exception&) {
        sent = false;
      }
    }
    if (!sent) {
      self->writing_ = false;
      self->outgoing_.clear();
      return;
    }
    boost::asio::async_write(
        self->channel_->writer(),
        boost::asio::buffer(frame->data() + frame_header_size, frame->size() - frame_header_size),
        [self](boost::system::error_code write_error, std::size_t) {
          self->writing_ = false;
          if (write_error) {
            self->outgoing_.clear();
            return;
          }
          self->outgoing_.pop_front(); // the child holds the segment now
          self->write_next();
        });
  });
}

void child_connection::read_next() {
  async_read_frame(*channel_, [self = shared_from_this()](incoming_frame frame) {
    self->on_frame(std::move(frame));
  });
}

void child_connection::on_frame(incoming_frame frame) {
  if (abandoned_ || read_done_)
    return;
  switch (frame.how) {
  case incoming_frame::end::complete:
    if (frame.header.kind == frame_kind::crash_signal && !frame.header.has_segment) {
      // The child's own word on its crash, kept for an exit status that gets lost.
      std::int32_t number = 0;
      if (frame.payload.size() >= sizeof number) {
        std::memcpy(&number, frame.payload.data(), sizeof number);
        report_.crash_trace = frame.payload.substr(sizeof number); // its stack, if recorded
      }
      report_.reported_signal = number;
      report_.end_reported = true;
      return read_next();
    }
    if (frame.header.kind == frame_kind::reply_batch && !frame.header.has_segment) {
      // A chunk's replies: each frame in it is taken as if it had come alone.
      std::string_view rest = frame.payload;
      while (!rest.empty()) {
        incoming_frame part;
        part.how = incoming_frame::end::complete;
        try {
          if (rest.size() < frame_header_size)
            throw decode_failure("a batch of replies ends inside a frame header");
          part.header = read_frame_header(rest.data());
          if (part.header.has_segment || part.header.kind == frame_kind::reply_batch ||
              part.header.length > rest.size() - frame_header_size)
            throw decode_failure("a batch of replies holds a frame that cannot be in one");
        } catch (const decode_failure& e) {
          report_.read_problem = e.what();
          report_.damaged = true;
          kill();
          return finish_read();
        }
        part.payload.assign(rest.substr(frame_header_size, part.header.length));
        rest.remove_prefix(frame_header_size + part.header.length);
        if (!take(std::move(part)))
          return finish_read();
      }
      return read_next();
    }
    if (take(std::move(frame)))
      return read_next();
    break;
  case incoming_frame::end::closed: // the exit status tells why
    report_.read_problem = std::move(frame.problem);
    break;
  case incoming_frame::end::damaged:
    report_.read_problem = std::move(frame.problem);
    report_.damaged = true;
    kill();
    break;
  case incoming_frame::end::no_memory:
    // Not the child's fault, but it cannot finish sending: it is killed.
    report_.out_of_memory = std::move(frame.problem);
    report_.frame_size = frame.header.length;
    kill();
    break;
  }
  finish_read();
}

bool child_connection::take(incoming_frame frame) {
  if (abandoned_ || read_done_)
    return false;
  if (frame.header.kind == frame_kind::output_mark && !frame.header.has_segment) {
    output_mark mark;
    if (frame.payload.size() == sizeof mark.out + sizeof mark.err) {
      std::memcpy(&mark.out, frame.payload.data(), sizeof mark.out);
      std::memcpy(&mark.err, frame.payload.data() + sizeof mark.out, sizeof mark.err);
      mark_ = mark;
    }
    return true;
  }
  return events_.frame(std::move(frame)) && !read_done_;
}

void child_connection::reject(std::string problem) noexcept {
  report_.read_problem = std::move(problem);
  report_.damaged = true;
  kill();
  read_done_ = true; // on_frame, which called the handler, concludes
}

void child_connection::finish_read() {
  read_done_ = true;
  check_done();
}

void child_connection::on_exit(exit_status how) {
  exited_ = true;
  report_.how = std::move(how);
  channel_->end_tree(); // what the child started ends with it (Windows; POSIX reaped it so)
  timer_.cancel();
  terminate_timer_.cancel();
  if (!read_done_)
    stop_reading_when_drained(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  check_done();
}

// Everything the child wrote is in the channel once it has exited, so a read still waiting
// then can only be waiting for a process the child started that still holds the channel:
// the outcome must not wait for that process, nor take what it writes. The pending read is
// stopped once nothing is left unread (checked every millisecond), or the channel closed at
// `give_up` if it keeps filling.
void child_connection::stop_reading_when_drained(std::chrono::steady_clock::time_point give_up) {
  if (read_done_)
    return;
  if (std::chrono::steady_clock::now() >= give_up) {
    channel_->close();
    return;
  }
  // A read that completed just before the cancel finds its next read cancelled at the next
  // check, a millisecond later.
  if (!channel_->has_unread())
    channel_->cancel_read();
  timer_.expires_after(std::chrono::milliseconds(1));
  timer_.async_wait([self = shared_from_this(), give_up](boost::system::error_code ec) {
    if (!ec)
      self->stop_reading_when_drained(give_up);
  });
}

void child_connection::check_done() {
  if (!exited_ || !read_done_ || reported_ || abandoned_)
    return;
  reported_ = true;
  timer_.cancel();
  channel_->close();
  auto ended = std::move(events_.ended);
  events_ = {};
  ended(std::move(report_));
}

captured_output child_connection::take_output() noexcept {
  captured_output taken = output_.take(mark_);
  mark_.reset();
  return taken;
}

void child_connection::kill() noexcept {
  if (started_ && !exited_ && process_) {
    process_->kill();
    channel_->end_tree();
  }
}

void child_connection::terminate(std::chrono::steady_clock::duration grace) {
  if (!started_ || exited_ || !process_ || terminating_)
    return;
  terminating_ = true;
  process_->terminate();
  terminate_timer_.expires_after(grace);
  terminate_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->exited_)
      self->kill();
  });
}

void child_connection::close(std::chrono::steady_clock::duration grace) {
  if (closed_)
    return;
  closed_ = true;
  channel_->close();
  if (exited_)
    return;
  // A child whose exit hangs (a static destructor waiting for something) is killed.
  timer_.expires_after(grace);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->exited_)
      self->kill();
  });
}

void child_connection::abandon() noexcept {
  abandoned_ = true;
  events_ = {};
  process_.reset();
  channel_->close();
  // Boost 1.87 removed the overload of cancel that takes an error_code. Asio's timer
  // service never reports an error here; if it did, an abandoned call has nothing to undo.
  try {
    timer_.cancel();
  } catch (const boost::system::system_error&) {
  }
}

failure failure_of_ended_child(const std::string& function, pid_type pid,
                               const child_report& report, const std::string& damaged,
                               const std::string& lead) {
  failure result;
  result.function = function;
  result.pid = pid;
  if (!report.out_of_memory.empty()) {
    result.what = failure::kind::result_too_large;
    result.size = report.frame_size;
    result.message = report.out_of_memory;
    return result;
  }
  if (report.damaged) {
    result.what = failure::kind::protocol;
    result.message = "mpdecor: " + damaged + ": " + report.read_problem;
    return result;
  }
  std::string detail = lead;
  for (const std::string* part : {&report.read_problem, &report.how.notes})
    if (!part->empty())
      detail = detail.empty() ? *part : detail + "; " + *part;
  result.what = failure::kind::crashed;
  result.exit_code = report.how.exit_code;
  result.signal = report.how.signal;
  result.trace = report.crash_trace;
  if (!result.exit_code && !result.signal && report.reported_signal > 0)
    result.signal = report.reported_signal;
  result.message = detail;
  return result;
}

} // namespace mpdecor::detail
