// mpdecor: the pool. Each pool has its own Asio thread, which starts the workers, hands
// them tasks, reads their replies, waits for their exits and enforces timeouts; callers
// only queue tasks and wait on their states. The workers are launched from this thread,
// so on Linux they die with it (PR_SET_PDEATHSIG), and it lives exactly as long as the pool.
#include "config.hpp"
#include "deadline.hpp"
#include "failure.hpp"
#include "child_connection.hpp"
#include "task_state.hpp"
#include "launch.hpp"
#include "registry.hpp"
#include "reply.hpp"
#include "state.hpp"

#include <mpdecor/detail/pool_call.hpp>
#include <mpdecor/proc.hpp> // encode_call, for the initializer
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

namespace mpdecor::detail {

struct pool_task final : task_state {
  pool_task(pool_request request, std::weak_ptr<pool_core> owner)
      : task_state(std::move(request.function)),
        frame(std::make_shared<const std::string>(std::move(request.frame))),
        timeout(request.timeout), chunk(request.chunk == 0 ? 1 : request.chunk),
        pool(std::move(owner)) {}

  void kill() override;

  // Kept until the task is gone: a task handed to a worker that dies before running it is
  // queued again and sent to another.
  const std::shared_ptr<const std::string> frame;
  const std::optional<std::chrono::milliseconds> timeout;
  const std::size_t chunk;
  const std::weak_ptr<pool_core> pool;
  bool initializer = false; // the first task of a worker, never seen by a caller
};

namespace {

// Finishes a task once; later outcomes (a reply for a task already cancelled) are dropped.
bool finish_task(pool_task& task, failure error, std::string payload = {}) {
  return task.finish(std::move(error), std::move(payload));
}

failure cancelled_error(const pool_task& task, const char* when) {
  return failure::cancellation(task.function,
                               "mpdecor: the pool task '" + task.function + "' was cancelled " +
                                   when);
}

// One worker process, as the pool's thread sees it.
struct worker {
  explicit worker(boost::asio::io_context& io) : task_timer(io) {}

  std::shared_ptr<child_connection> connection;
  pid_type pid = 0; // 0 until it has started
  // Tasks sent (or being sent), in order; the worker answers them in that order, so the
  // front one is the one it runs.
  std::deque<std::shared_ptr<pool_task>> in_flight;
  bool ready = false;    // its initializer (if any) has succeeded
  bool retiring = false; // its channel was closed on purpose: it exits by itself
  std::size_t handed = 0;
  boost::asio::steady_timer task_timer;
  std::shared_ptr<pool_task> killed_task; // the task whose timeout or cancel killed it
  bool timed_out = false;
  child_report report; // what was seen of it once it ended
};

} // namespace

struct pool_core : std::enable_shared_from_this<pool_core> {
  pool_core(std::size_t workers, std::size_t max_tasks, std::string initializer_name,
            options settings)
      : size(workers), max_tasks_per_worker(max_tasks), initializer(std::move(initializer_name)),
        worker_options(std::move(settings)) {}

  const pid_type owner = process_v2::current_pid(); // a fork's copy of the pool is not its own
  const std::size_t size;
  const std::size_t max_tasks_per_worker;
  const std::string initializer;
  const options worker_options;

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
      io.get_executor()};
  std::thread thread;

  // Everything below is shared with callers, under `mutex`; handlers on the pool's thread
  // take it too.
  std::mutex mutex;
  std::condition_variable stopped_changed;
  std::deque<std::shared_ptr<pool_task>> queue;
  std::list<std::shared_ptr<worker>> workers;
  failure broken; // why every task fails: an initializer or a launch failed
  bool stopping = false;
  bool stopped = false;
  std::size_t completed = 0;

  void start() {
    thread = std::thread([this] { run_event_loop(io); });
    boost::asio::post(io, [this] {
      std::lock_guard lock(mutex);
      for (std::size_t i = 0; i < size && !broken; ++i)
        launch_worker();
    });
  }

  // --- on the pool's thread, with `mutex` held ---------------------------------------------

  void launch_worker() {
    const std::string label = initializer.empty() ? "pool" : initializer;
    auto w = std::make_shared<worker>(io);
    child_events events;
    events.started = [this, w] {
      std::lock_guard lock(mutex);
      on_started(w);
    };
    events.not_started = [this, w, label](std::error_code error, std::string what) {
      std::lock_guard lock(mutex);
      workers.remove(w);
      break_pool(failure::launch_failed(label, error, what));
    };
    events.frame = [this, w](incoming_frame frame) {
      std::lock_guard lock(mutex);
      return on_reply(w, std::move(frame));
    };
    events.ended = [this, w](child_report report) {
      std::lock_guard lock(mutex);
      w->report = std::move(report);
      conclude(w);
    };
    std::error_code error;
    std::string what;
    w->connection = child_connection::launch(io, label, worker_options, launch_mode::worker,
                                             std::move(events), error, what);
    if (!w->connection) {
      break_pool(failure::launch_failed(label, error, what));
      return;
    }
    // Counted among the workers from now: the pool does not stop while one is starting.
    workers.push_back(w);
  }

  void on_started(const std::shared_ptr<worker>& w) {
    w->pid = w->connection->pid();
    if (initializer.empty()) {
      w->ready = true;
      dispatch();
    } else {
      auto task = std::make_shared<pool_task>(
          pool_request{initializer, encode_call<>(initializer), std::nullopt, 1},
          std::weak_ptr<pool_core>());
      task->initializer = true;
      hand(w, task);
    }
  }

  void hand(const std::shared_ptr<worker>& w, const std::shared_ptr<pool_task>& task) {
    task->start(w->pid);
    if (!task->initializer)
      ++w->handed;
    w->in_flight.push_back(task);
    w->connection->send(task->frame);
    if (w->in_flight.size() == 1)
      start_timer(w);
  }

  // The timeout of the task a worker is running starts when it reaches the front.
  void start_timer(const std::shared_ptr<worker>& w) {
    if (w->in_flight.empty())
      return;
    const auto task = w->in_flight.front();
    const auto limit = task->timeout ? task->timeout : worker_options.timeout;
    if (!limit || task->initializer)
      return;
    w->task_timer.expires_at(deadline_after(*limit));
    w->task_timer.async_wait([this, w, task](boost::system::error_code ec) {
      std::lock_guard lock(mutex);
      if (ec || w->connection->exited() || w->killed_task || w->in_flight.empty() ||
          w->in_flight.front() != task)
        return;
      w->timed_out = true;
      w->killed_task = task;
      w->connection->kill();
    });
  }

  // A reply from worker `w`: the answer to the task at the front. True to read the next.
  bool on_reply(const std::shared_ptr<worker>& w, incoming_frame frame) {
    if (w->in_flight.empty()) {
      w->connection->reject("a reply came for no task");
      return false;
    }
    const auto task = w->in_flight.front();
    failure error;
    try {
      error = decode_reply(frame.header.kind, frame.payload,
                           {task->function, w->pid, worker_options.memory_limit});
    } catch (const std::exception& e) {
      w->connection->reject(std::string("the reply could not be decoded: ") + e.what());
      return false;
    }
    w->in_flight.pop_front();
    w->task_timer.cancel();
    if (task->initializer) {
      if (error)
        break_pool(error);
      else
        w->ready = true;
    } else {
      ++completed;
      finish_task(*task, error, error ? std::string() : std::move(frame.payload));
    }
    start_timer(w);
    if (max_tasks_per_worker != 0 && w->handed >= max_tasks_per_worker && w->in_flight.empty())
      retire(w);
    dispatch();
    return true;
  }

  // Closing the channel is the worker's signal to exit once it is idle.
  void retire(const std::shared_ptr<worker>& w) {
    if (w->retiring)
      return;
    if (w->pid == 0) {
      // Not started yet (a fork server has not answered): abandoned, and killed by its
      // launcher if it starts after all.
      workers.remove(w);
      w->connection->abandon();
      check_stopped();
      return;
    }
    w->retiring = true;
    // A worker whose exit hangs (a static destructor waiting for something) is killed.
    w->connection->close(std::chrono::seconds(5));
  }

  // The worker has exited and every reply it sent has been read: what it was running when
  // it ended failed; what was handed to it but not started goes back to the queue.
  void conclude(const std::shared_ptr<worker>& w) {
    w->task_timer.cancel();
    workers.remove(w);
    if (!w->in_flight.empty()) {
      const auto task = w->in_flight.front();
      w->in_flight.pop_front();
      failure error = task_failure(*w, *task);
      if (task->initializer) {
        break_pool(error);
      } else {
        ++completed;
        finish_task(*task, error);
      }
      for (auto it = w->in_flight.rbegin(); it != w->in_flight.rend(); ++it)
        requeue(*it);
    }
    w->connection.reset();
    if (!broken && (!stopping || !queue.empty()))
      launch_worker();
    dispatch();
  }

  failure task_failure(const worker& w, const pool_task& task) {
    failure result;
    result.function = task.function;
    result.pid = w.pid;
    const child_report& report = w.report;
    if (!report.out_of_memory.empty()) {
      result.what = failure::kind::result_too_large;
      result.size = report.frame_size;
      result.message = report.out_of_memory;
      return result;
    }
    if (w.killed_task.get() == &task && w.timed_out)
      return failure::timed_out(task.function, w.pid,
                                task.timeout ? *task.timeout : *worker_options.timeout);
    if (report.damaged) {
      result.what = failure::kind::protocol;
      result.message = "mpdecor: the pool worker (pid " + std::to_string(w.pid) +
                       ") sent a damaged reply for '" + task.function + "': " + report.read_problem;
      return result;
    }
    const exit_status& how = report.how;
    std::string detail = "the pool worker ended while running the task";
    if (w.killed_task.get() == &task)
      detail = "killed through its handle";
    else if (w.killed_task)
      detail = "the pool worker was killed for another task";
    if (!how.notes.empty())
      detail += "; " + how.notes;
    result.what = failure::kind::crashed;
    result.exit_code = how.exit_code;
    result.signal = how.signal;
    result.message = detail;
    return result;
  }


  void requeue(const std::shared_ptr<pool_task>& task) {
    if (finished(*task))
      return;
    task->requeue();
    if (task->initializer)
      return;
    if (broken)
      finish_task(*task, broken);
    else
      queue.push_front(task);
  }

  void break_pool(const failure& error) {
    if (!broken)
      broken = error;
    for (auto& task : queue)
      finish_task(*task, broken);
    queue.clear();
    for (auto& w : std::list<std::shared_ptr<worker>>(workers)) // retire may remove one
      if (w->in_flight.empty())
        retire(w);
    check_stopped();
  }

  // Hands queued tasks to idle workers: one each, or a whole chunk of them.
  void dispatch() {
    for (auto& w : workers) {
      if (queue.empty())
        break;
      if (!w->ready || w->retiring || w->connection->exited() || !w->in_flight.empty())
        continue;
      if (max_tasks_per_worker != 0 && w->handed >= max_tasks_per_worker)
        continue;
      const std::size_t chunk = queue.front()->chunk;
      do {
        auto task = queue.front();
        queue.pop_front();
        hand(w, task);
      } while (!queue.empty() && w->in_flight.size() < chunk && queue.front()->chunk == chunk &&
               (max_tasks_per_worker == 0 || w->handed < max_tasks_per_worker));
    }
    if (stopping && queue.empty())
      for (auto& w : std::list<std::shared_ptr<worker>>(workers)) // retire may remove one
        if (w->in_flight.empty())
          retire(w);
    check_stopped();
  }

  void check_stopped() {
    if (stopping && workers.empty() && !stopped) {
      stopped = true;
      stopped_changed.notify_all();
    }
  }

  void cancel_on_loop(const std::shared_ptr<pool_task>& task) {
    for (auto& w : workers) {
      const auto it = std::find(w->in_flight.begin(), w->in_flight.end(), task);
      if (it == w->in_flight.end())
        continue;
      if (it == w->in_flight.begin()) {
        if (!w->connection->exited() && !w->killed_task) {
          w->killed_task = task;
          w->connection->kill();
        }
      } else {
        // Sent but not started: the worker will run it, and its result is dropped.
        finish_task(*task, cancelled_error(*task, "before its worker started it"));
      }
      return;
    }
  }
};

std::shared_ptr<pool_core> start_pool(std::size_t workers, std::size_t max_tasks_per_worker,
                                      std::string initializer, options worker_options) {
  if (!is_initialized())
    throw usage_error("mpdecor: call mpdecor::init(argc, argv) at the top of main before "
                      "starting a pool (without it the workers would run main from its start)");
  if (workers == 0) {
    const unsigned threads = std::thread::hardware_concurrency();
    workers = threads == 0 ? 2 : threads;
  }
  if (!initializer.empty() && find_registration(initializer) == nullptr)
    throw not_registered("mpdecor: the pool's initializer '" + initializer +
                             "' is not a registered function",
                         initializer, 0);
  try {
    auto pool = std::make_shared<pool_core>(workers, max_tasks_per_worker,
                                            std::move(initializer), std::move(worker_options));
    pool->start();
    return pool;
  } catch (const std::exception& e) {
    // Its event loop or thread could not be made (the descriptor or thread limit).
    throw launch_error("pool", error_code_of(e), "starting the pool's thread and event loop");
  }
}

std::shared_ptr<task_state> submit(pool_core& pool, pool_request request) {
  // Checked before taking the lock: a fork may have copied it locked.
  if (process_v2::current_pid() != pool.owner)
    throw usage_error(forked_message("a task '" + request.function + "' was submitted to a pool"));
  auto task = std::make_shared<pool_task>(std::move(request), pool.weak_from_this());
  std::lock_guard lock(pool.mutex);
  if (pool.stopping)
    throw usage_error("mpdecor: the pool is shut down; it takes no more tasks ('" +
                      task->function + "')");
  if (pool.broken) {
    finish_task(*task, pool.broken);
    return task;
  }
  pool.queue.push_back(task);
  boost::asio::post(pool.io, [&pool] {
    std::lock_guard lock(pool.mutex);
    pool.dispatch();
  });
  return task;
}

void shutdown(pool_core& pool, bool cancel_queued) {
  // In a process forked without exec, the pool's thread and workers are the original's:
  // there is nothing of this process's own to stop (a pool destroyed there returns at once).
  if (process_v2::current_pid() != pool.owner) {
    // Kept forever: destroying it would destroy a std::thread that still reads as running,
    // which terminates the program.
    new std::shared_ptr<pool_core>(pool.shared_from_this());
    return;
  }
  std::unique_lock lock(pool.mutex);
  if (!pool.stopping) {
    pool.stopping = true;
    if (cancel_queued) {
      for (auto& task : pool.queue)
        finish_task(*task, cancelled_error(*task, "by the pool's shutdown before it started"));
      pool.queue.clear();
    }
    boost::asio::post(pool.io, [&pool] {
      std::lock_guard lock(pool.mutex);
      pool.dispatch();
    });
  }
  pool.stopped_changed.wait(lock, [&pool] { return pool.stopped; });
  if (pool.thread.joinable() && pool.thread.get_id() != std::this_thread::get_id()) {
    lock.unlock();
    pool.work.reset();
    pool.io.stop();
    pool.thread.join();
  }
}

std::size_t queued_count(pool_core& pool) {
  std::lock_guard lock(pool.mutex);
  return pool.queue.size();
}

std::size_t running_count(pool_core& pool) {
  std::lock_guard lock(pool.mutex);
  std::size_t count = 0;
  for (const auto& w : pool.workers)
    for (const auto& task : w->in_flight)
      count += task->initializer ? 0 : 1;
  return count;
}

std::size_t completed_count(pool_core& pool) {
  std::lock_guard lock(pool.mutex);
  return pool.completed;
}

std::size_t worker_count(const pool_core& pool) { return pool.size; }

std::vector<pid_type> worker_pids(pool_core& pool) {
  std::lock_guard lock(pool.mutex);
  std::vector<pid_type> pids;
  for (const auto& w : pool.workers)
    if (w->pid != 0) // started, and not yet concluded
      pids.push_back(w->pid);
  return pids;
}

void pool_task::kill() {
  pool_task& task = *this;
  const auto pool = task.pool.lock();
  if (!pool)
    return;
  std::lock_guard lock(pool->mutex);
  const auto self = std::static_pointer_cast<pool_task>(task.shared_from_this());
  const auto queued = std::find(pool->queue.begin(), pool->queue.end(), self);
  if (queued != pool->queue.end()) {
    // Withdrawn here rather than on the pool's thread, so that the handle reads as
    // cancelled as soon as cancel returns.
    pool->queue.erase(queued);
    finish_task(task, cancelled_error(task, "before it started"));
    return;
  }
  if (finished(task))
    return;
  // Signals go from the pool's thread only: there a worker's pid cannot have been reaped
  // (and reused) between the check and the kill.
  boost::asio::post(pool->io, [pool, self] {
    std::lock_guard lock(pool->mutex);
    pool->cancel_on_loop(self);
  });
}

} // namespace mpdecor::detail
