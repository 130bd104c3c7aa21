// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool as its thread and its callers share it. lib/pool.cpp is the callers'
// side (submitting, cancelling, counting, shutting down); lib/pool_scheduler.cpp is the
// pool's thread, which starts the workers, hands them tasks, reads their replies, waits
// for their exits and enforces timeouts. The workers are launched from that thread, so on
// Linux they die with it (PR_SET_PDEATHSIG), and it lives exactly as long as the pool.
#ifndef MPDECOR_LIB_POOL_CORE_HPP
#define MPDECOR_LIB_POOL_CORE_HPP

#include "child_connection.hpp"
#include "event_loop.hpp"
#include "failure.hpp"
#include "task_state.hpp"

#include <mpdecor/detail/pool_call.hpp>
#include <mpdecor/options.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mpdecor::detail {

struct pool_task final : task_state {
  pool_task(pool_request request, std::weak_ptr<pool_core> owner)
      : task_state(std::move(request.function)),
        frame(std::make_shared<const std::string>(std::move(request.frame))),
        shared(std::move(request.shared)), timeout(request.timeout),
        chunk(request.chunk == 0 ? 1 : request.chunk), pool(std::move(owner)) {}

  void kill() override { end(std::nullopt); }
  void terminate(std::chrono::milliseconds grace) override { end(grace); }
  /// Withdraws the task if queued; otherwise kills its worker, or (with `grace`) asks the
  /// worker to end and kills it `grace` later.
  void end(std::optional<std::chrono::milliseconds> grace);

  // Kept until the task is gone: a task handed to a worker that dies before running it is
  // queued again and sent to another.
  const std::shared_ptr<const std::string> frame;
  const std::shared_ptr<const segment> shared; // the frame's large blocks, if it has any
  const std::optional<std::chrono::milliseconds> timeout;
  const std::size_t chunk;
  const std::weak_ptr<pool_core> pool;
  bool initializer = false; // the first task of a worker, never seen by a caller
  bool batched = false;     // handed over in a chunk's one message (pool_core::hand_chunk)
  bool alone = false;       // to be handed over alone: it was in a chunk whose worker
                            // ended without a word, and which of them ended it is unknown
};

// One worker process, as the pool's thread sees it.
struct pool_worker {
  explicit pool_worker(boost::asio::io_context& io) : task_timer(io), start_deadline(io) {}

  std::shared_ptr<child_connection> connection;
  pid_type pid = 0; // 0 until it has started
  // Tasks sent (or being sent), in order; the worker answers them in that order, so the
  // front one is the one it runs.
  std::deque<std::shared_ptr<pool_task>> in_flight;
  bool announced = false; // it said it is serving (frame_kind::ready)
  bool ready = false;     // it said so, and its initializer (if any) has succeeded
  bool retiring = false;  // its channel was closed on purpose: it exits by itself
  std::size_t handed = 0;
  boost::asio::steady_timer task_timer;
  boost::asio::steady_timer start_deadline; // until it has said it is serving
  bool start_timed_out = false;             // killed for not saying so in time
  std::shared_ptr<pool_task> killed_task;   // the task whose timeout or cancel killed it
  bool terminated = false; // killed_task's handle asked it to end (terminate), not killed it
  bool timed_out = false;
  child_report report; // what was seen of it once it ended
};

struct pool_core : std::enable_shared_from_this<pool_core> {
  pool_core(std::size_t worker_count, std::size_t max_tasks,
            std::chrono::milliseconds start_timeout, std::string initializer_name,
            std::string initializer_call, options settings)
      : size(worker_count), max_tasks_per_worker(max_tasks), start_limit(start_timeout),
        initializer(std::move(initializer_name)), initializer_frame(std::move(initializer_call)),
        worker_options(std::move(settings)),
        workers_share_memory(shared_memory_supported &&
                             worker_options.start != start_method::slurm) {}
  ~pool_core() { loop.stop(); }
  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  const std::size_t size;
  const std::size_t max_tasks_per_worker;
  const std::chrono::milliseconds start_limit; // for a worker to start serving; 0: none
  const std::string initializer;
  const std::string initializer_frame; // its encoded call, arguments included
  const options worker_options;
  // The workers are local processes, which take descriptors over their sockets: large
  // blocks of tasks and replies may go through shared memory (not for Slurm steps).
  // `worker_options.start` is set by then (start_pool).
  const bool workers_share_memory;

  // The pool's thread. Its io_context outlives the workers' timers and connections below;
  // its thread is stopped (by shutdown, or the destructor) before any of them go.
  event_loop loop;

  // Everything below is shared with callers, under `mutex`; handlers on the pool's thread
  // take it too.
  std::mutex mutex;
  std::condition_variable stopped_changed;
  std::deque<std::shared_ptr<pool_task>> queue;
  std::list<std::shared_ptr<pool_worker>> workers;
  failure broken; // why every task fails: an initializer or a launch failed
  bool stopping = false;
  bool stopped = false;
  bool dispatch_posted = false; // a dispatch is posted to the pool's thread, not yet run
  std::size_t completed = 0;

  /// Starts the workers.
  void start();

  // --- on the pool's thread, with `mutex` held (lib/pool_scheduler.cpp) --------------------
  void launch_worker();
  void on_started(const std::shared_ptr<pool_worker>& w);
  void on_start_deadline(const std::shared_ptr<pool_worker>& w);
  failure start_failure(const pool_worker& w) const;
  void hand(const std::shared_ptr<pool_worker>& w, const std::shared_ptr<pool_task>& task);
  void hand_chunk(const std::shared_ptr<pool_worker>& w,
                  const std::vector<std::shared_ptr<pool_task>>& tasks);
  void start_timer(const std::shared_ptr<pool_worker>& w);
  bool on_reply(const std::shared_ptr<pool_worker>& w, incoming_frame frame);
  void retire(const std::shared_ptr<pool_worker>& w);
  void conclude(const std::shared_ptr<pool_worker>& w);
  failure task_failure(const pool_worker& w, const pool_task& task);
  void requeue(const std::shared_ptr<pool_task>& task);
  void break_pool(const failure& error);
  void dispatch();
  void check_stopped();
  void cancel_on_loop(const std::shared_ptr<pool_task>& task,
                      std::optional<std::chrono::milliseconds> grace = std::nullopt);
};

// Finishes a task once; later outcomes (a reply for a task already cancelled) are dropped.
inline bool finish_task(pool_task& task, failure error, std::string payload = {},
                        captured_output output = {},
                        std::shared_ptr<const segment> shared = nullptr) {
  return task.finish(std::move(error), std::move(payload), std::move(shared), {},
                     std::move(output));
}

inline failure cancelled_error(const pool_task& task, const char* when) {
  return failure::cancellation(task.function, "mpdecor: the pool task '" + task.function +
                                                  "' was cancelled " + when);
}

} // namespace mpdecor::detail

#endif
