// SPDX-License-Identifier: BSL-1.0
// mpdecor: the supervisor. One background thread runs an Asio event loop that starts
// children, sends each its call, reads its result, waits for its exit and enforces its
// timeout. Callers never touch a process: they submit a call and wait on its state.
#include "config.hpp"
#include "deadline.hpp"
#include "event_loop.hpp"
#include "failure.hpp"
#include "child_connection.hpp"
#include "task_state.hpp"
#include "launch.hpp"
#include "log.hpp"
#include "reply.hpp"
#include "shared_memory.hpp"
#include "state.hpp"

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

namespace mpdecor::detail {

struct call_state final : task_state {
  explicit call_state(call_request request)
      : task_state(std::move(request.function)), frame(std::move(request.frame)),
        shared(std::move(request.shared)), settings(std::move(request.settings)) {}

  void kill() override;
  void terminate(std::chrono::milliseconds grace) override;

  std::string frame;                     // handed to the connection once launched
  std::shared_ptr<const segment> shared; // the call's shared memory, until handed over
  const options settings;

  // Owned by the supervisor's thread.
  std::shared_ptr<child_connection> connection;
  std::unique_ptr<boost::asio::steady_timer> timer; // the call's timeout
  frame_header fixed;
  std::string incoming;
  std::shared_ptr<const segment> incoming_segment; // the result's shared memory, if any
  std::string result;                              // the result's payload, once decoded as one
  bool got_result = false;
  bool timed_out = false;
  bool killed = false;
  bool terminated = false; // asked to end through its handle (killed, if at all, later)
  // terminate() came while the child was launched but not known to be started yet.
  std::optional<std::chrono::milliseconds> terminate_when_started;
  child_report report;    // what was seen of the child once it ended
  captured_output output; // what it wrote to its captured streams
};

namespace {
std::atomic<bool> initialized{false};

// The message of the error `why` describes, for the log.
std::string message_of(const failure& why) {
  try {
    why.raise();
  } catch (const std::exception& e) {
    return e.what();
  }
}
} // namespace

namespace {

class supervisor {
public:
  static supervisor& instance() {
    // Never destroyed: the at-exit handler stops its thread, and handles that outlive it
    // only touch their own call state.
    static supervisor* const the = new supervisor;
    return *the;
  }

  std::shared_ptr<task_state> submit(call_request request) {
    // Checked before taking the lock: a fork may have copied it locked.
    if (loop_.forked())
      throw usage_error(forked_message("'" + request.function + "' was called"));
    prepare_settings(request.settings, request.function);
    auto call = std::make_shared<call_state>(std::move(request));
    std::lock_guard lock(mutex_);
    if (ended_)
      throw usage_error("mpdecor: '" + call->function +
                        "' was called after mpdecor's at-exit "
                        "wait had ended (from a static destructor, or an atexit handler "
                        "registered before the program's first call): no child is started "
                        "then, since nothing would wait for it");
    if (limit_ == 0 || running_ < limit_) {
      ++running_;
      loop_.post([this, call] { start(call); });
    } else {
      queue_.push_back(call);
    }
    return call;
  }

  /// Kills the call's child, or asks it to end and kills it `grace` later.
  void kill(const std::shared_ptr<call_state>& call,
            std::optional<std::chrono::milliseconds> grace = std::nullopt) {
    loop_.post([this, call, grace] { kill_on_loop(call, grace); });
  }

  void wait_all() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_ == 0 && queue_.empty(); });
  }

  void set_limit(std::size_t limit) {
    std::lock_guard lock(mutex_);
    limit_ = limit;
    start_queued(lock);
  }
  std::size_t limit() {
    std::lock_guard lock(mutex_);
    return limit_;
  }
  std::size_t running() {
    std::lock_guard lock(mutex_);
    return running_;
  }
  std::size_t queued() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  void set_policy(at_exit_policy policy) {
    std::lock_guard lock(mutex_);
    policy_ = policy;
  }

private:
  supervisor() {
    const unsigned threads = std::thread::hardware_concurrency();
    limit_ = threads == 0 ? 2 : threads;
    std::atexit([] { instance().shut_down(); });
  }

  // At normal exit: wait for the children (or kill them), then stop the thread.
  void shut_down() {
    if (loop_.forked()) // a fork's exit leaves the original's calls alone
      return;
    if (loop_.on_loop_thread()) // exit() from a handler: cannot wait
      std::abort();
    at_exit_policy policy;
    {
      std::lock_guard lock(mutex_);
      policy = policy_;
    }
    if (policy == at_exit_policy::kill) {
      loop_.post([this] { kill_everything(); });
    }
    {
      // Refused from here on: a call made later would wait for a thread that is gone.
      std::unique_lock lock(mutex_);
      idle_.wait(lock, [this] { return running_ == 0 && queue_.empty(); });
      ended_ = true;
    }
    loop_.stop();
  }

  void kill_everything() {
    std::deque<std::shared_ptr<call_state>> queued;
    {
      std::lock_guard lock(mutex_);
      queued.swap(queue_);
    }
    for (auto& call : queued)
      finish(call,
             failure::cancellation(call->function,
                                   "mpdecor: the call to '" + call->function +
                                       "' was cancelled at program exit before it started"),
             /*held_slot=*/false);
    const auto active = active_; // kill_on_loop may finish a call, which leaves active_
    for (auto& call : active)
      kill_on_loop(call);
    std::lock_guard lock(mutex_);
    if (running_ == 0)
      idle_.notify_all();
  }

  // Starts queued calls while slots are free; called with the lock held.
  void start_queued(std::lock_guard<std::mutex>&) {
    while (!queue_.empty() && (limit_ == 0 || running_ < limit_)) {
      auto call = queue_.front();
      queue_.pop_front();
      ++running_;
      loop_.post([this, call] { start(call); });
    }
  }

  void start(const std::shared_ptr<call_state>& call) {
    {
      std::lock_guard lock(call->mutex);
      if (call->stage == task_stage::finished) { // cancelled while waiting for its slot
        release_slot();
        return;
      }
    }
    child_events events;
    events.started = [this, call] { on_started(call); };
    events.not_started = [this, call](std::error_code error, std::string what) {
      fail_launch(call, error, std::move(what));
    };
    events.frame = [call](incoming_frame frame) {
      call->fixed = frame.header;
      call->incoming = std::move(frame.payload);
      call->incoming_segment = std::move(frame.shared);
      call->got_result = true;
      return false; // one result per call
    };
    events.ended = [this, call](child_report report) {
      if (call->timer)
        call->timer->cancel();
      call->report = std::move(report);
      call->output = call->connection->take_output();
      finish(call, outcome(*call), true);
    };
    std::error_code error;
    std::string what;
    call->connection = child_connection::launch(loop_.io(), call->function, call->settings,
                                                launch_mode::call, std::move(events), error, what);
    if (!call->connection)
      return fail_launch(call, error, what);
    active_.insert(call);
    call->connection->send(std::make_shared<const std::string>(std::move(call->frame)),
                           std::move(call->shared));
    // The timeout counts from here, whatever the launch is still doing (a fork server that
    // is slow to answer, or stopped).
    if (call->settings.timeout) {
      call->timer = std::make_unique<boost::asio::steady_timer>(
          loop_.io(), deadline_after(*call->settings.timeout));
      call->timer->async_wait([this, call](boost::system::error_code ec) {
        if (ec || !call->connection || call->connection->exited())
          return;
        call->timed_out = true;
        if (!call->connection->started()) {
          return abandon_launch(call,
                                failure::timed_out(call->function, 0, *call->settings.timeout));
        }
        call->connection->kill();
      });
    }
  }

  void on_started(const std::shared_ptr<call_state>& call) {
    call->start(call->connection->pid());
    if (logs(log_level::debug))
      log(log_level::debug, "'" + call->function + "' started in child pid " +
                                std::to_string(call->connection->pid()));
    if (call->terminate_when_started) {
      call->terminated = true;
      call->connection->terminate(*call->terminate_when_started);
    }
  }

  // Ends a call whose child has not started yet (its timeout, or a kill): the launch is
  // abandoned, and a child that starts after all is killed by its launcher.
  void abandon_launch(const std::shared_ptr<call_state>& call, failure why) {
    call->connection->abandon();
    finish(call, std::move(why), true);
  }

  void fail_launch(const std::shared_ptr<call_state>& call, std::error_code error,
                   std::string what) {
    finish(call, failure::launch_failed(call->function, error, std::move(what)), true);
  }

  // Turns what was seen of the child into the call's result or error.
  failure outcome(call_state& call) {
    const auto& name = call.function;
    child_report& report = call.report;
    if (report.out_of_memory.empty()) {
      // A result read in full stands, whatever happened to the child afterwards: a timeout
      // that fired while it hung on its way out (a static destructor) ended nothing the
      // caller asked for.
      if (call.got_result) {
        try {
          failure reply = decode_reply(call.fixed.kind, call.incoming,
                                       {name, call.pid, call.settings.memory_limit});
          if (!reply)
            call.result = std::move(call.incoming);
          return reply;
        } catch (const std::exception& e) {
          report.damaged = true;
          report.read_problem = std::string("the reply could not be decoded: ") + e.what();
        }
      }
      if (call.timed_out)
        return failure::timed_out(name, call.pid, *call.settings.timeout);
    }
    return failure_of_ended_child(name, call.pid, report,
                                  "'" + name + "' (pid " + std::to_string(call.pid) +
                                      ") sent a damaged result",
                                  call.killed       ? "killed through its handle"
                                  : call.terminated ? "terminated through its handle"
                                                    : "");
  }

  void finish(const std::shared_ptr<call_state>& call, failure error, bool held_slot) {
    if (logs(log_level::debug)) {
      const auto pid = last_pid(*call);
      log(log_level::debug, "'" + call->function + "'" +
                                (pid != 0 ? " (pid " + std::to_string(pid) + ")" : "") +
                                (error ? " failed: " + message_of(error) : " returned its result"));
    }
    // The slot is freed while the call's lock is held: a caller that sees its call finished
    // and starts the next one at once finds the slot free, and wait_all() never returns
    // before every call it waited for reads as finished.
    call->finish(
        std::move(error), std::move(call->result), std::move(call->incoming_segment),
        [this, held_slot] {
          if (held_slot)
            release_slot();
        },
        std::move(call->output));
    active_.erase(call);
    call->connection.reset();
    call->timer.reset();
    call->incoming = std::string();
  }

  void release_slot() {
    std::lock_guard lock(mutex_);
    --running_;
    start_queued(lock);
    if (running_ == 0 && queue_.empty())
      idle_.notify_all();
  }

  void kill_on_loop(const std::shared_ptr<call_state>& call,
                    std::optional<std::chrono::milliseconds> grace = std::nullopt) {
    task_stage stage;
    {
      std::lock_guard lock(call->mutex);
      stage = call->stage;
    }
    if (stage == task_stage::finished)
      return;
    if (call->connection && !call->connection->started() && grace) {
      // Launched, and maybe running already (a fork-server child runs before the server's
      // answer arrives): asked to end as soon as it is known to have started.
      if (!call->terminate_when_started)
        call->terminate_when_started = grace;
      return;
    }
    if (call->connection && !call->connection->started()) // launched, not started yet
      return abandon_launch(
          call, failure::cancellation(call->function, "mpdecor: the call to '" + call->function +
                                                          "' was cancelled before its child "
                                                          "started"));
    if (call->connection) {
      // Nothing once it has exited: the call finishes as soon as its channel is read.
      if (call->connection->exited())
        return;
      if (grace) {
        call->terminated = true;
        call->connection->terminate(*grace);
      } else {
        call->killed = true;
        call->connection->kill();
      }
      return;
    }
    // Not started yet: it is in the queue, or its start is already posted.
    bool was_queued = false;
    {
      std::lock_guard lock(mutex_);
      for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if (*it == call) {
          queue_.erase(it);
          was_queued = true;
          break;
        }
      if (was_queued && running_ == 0 && queue_.empty())
        idle_.notify_all();
    }
    // A call whose start is already posted holds a slot; start() sees it finished and
    // releases the slot.
    finish(call,
           failure::cancellation(call->function, "mpdecor: the call to '" + call->function +
                                                     "' was cancelled before it started"),
           false);
  }

  event_loop loop_;

  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t limit_ = 0;
  std::size_t running_ = 0;
  std::deque<std::shared_ptr<call_state>> queue_;
  at_exit_policy policy_ = at_exit_policy::wait;
  bool ended_ = false;                           // the at-exit wait is over: calls are refused
  std::set<std::shared_ptr<call_state>> active_; // supervisor thread only
};

} // namespace

void mark_initialized() noexcept { initialized = true; }
bool is_initialized() noexcept { return initialized; }

std::shared_ptr<task_state> submit(call_request request) {
  if (!is_initialized())
    throw usage_error("mpdecor: call mpdecor::init(argc, argv) at the top of main before the "
                      "first call to '" +
                      request.function +
                      "' (without it the child would run "
                      "main from its start)");
  supervisor* the = nullptr;
  try {
    the = &supervisor::instance();
  } catch (const std::exception& e) {
    // Its event loop or thread could not be made (the descriptor or thread limit): this
    // call fails like any launch, and the next one tries again.
    auto call = std::make_shared<call_state>(std::move(request));
    call->finish(failure::launch_failed(call->function, error_code_of(e),
                                        "starting mpdecor's supervisor thread and event loop"));
    return call;
  }
  return the->submit(std::move(request));
}

void call_state::kill() {
  // The handle's shared pointer keeps the state alive; the supervisor needs its own.
  supervisor::instance().kill(std::static_pointer_cast<call_state>(shared_from_this()));
}

void call_state::terminate(std::chrono::milliseconds grace) {
  supervisor::instance().kill(std::static_pointer_cast<call_state>(shared_from_this()), grace);
}

} // namespace mpdecor::detail

namespace mpdecor {

void set_max_running(std::size_t limit) { detail::supervisor::instance().set_limit(limit); }
std::size_t max_running() { return detail::supervisor::instance().limit(); }
void set_at_exit(at_exit_policy policy) { detail::supervisor::instance().set_policy(policy); }
void wait_all() { detail::supervisor::instance().wait_all(); }
std::size_t running_count() { return detail::supervisor::instance().running(); }
std::size_t queued_count() { return detail::supervisor::instance().queued(); }

} // namespace mpdecor
