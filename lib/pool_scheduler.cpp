// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool's thread (lib/pool_core.hpp).
#include "pool_core.hpp"

#include "deadline.hpp"
#include "log.hpp"
#include "reply.hpp"

#include <mpdecor/detail/wire.hpp>

#include <algorithm>
#include <string>
#include <system_error>

namespace mpdecor::detail {

void pool_core::start() {
  loop.post([this] {
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < size && !broken; ++i)
      launch_worker();
  });
}

// --- on the pool's thread, with `mutex` held ---------------------------------------------

void pool_core::launch_worker() {
  const std::string label = initializer.empty() ? "pool" : initializer;
  auto w = std::make_shared<pool_worker>(loop.io());
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
  w->connection = child_connection::launch(loop.io(), label, worker_options, launch_mode::worker,
                                           std::move(events), error, what);
  if (!w->connection) {
    break_pool(failure::launch_failed(label, error, what));
    return;
  }
  // Counted among the workers from now: the pool does not stop while one is starting.
  workers.push_back(w);
  if (start_limit.count() > 0) {
    w->start_deadline.expires_at(deadline_after(start_limit));
    w->start_deadline.async_wait([this, w](boost::system::error_code ec) {
      std::lock_guard lock(mutex);
      if (!ec)
        on_start_deadline(w);
    });
  }
}

// A worker has not said it is serving within the start limit: it is stuck in its start
// (static initialization), as the next one would likely be. It is killed, and the pool is
// broken when it ends (conclude).
void pool_core::on_start_deadline(const std::shared_ptr<pool_worker>& w) {
  if (w->announced || w->retiring || !w->connection || w->connection->exited() ||
      w->start_timed_out)
    return;
  w->start_timed_out = true;
  if (w->pid == 0) {
    // Not even launched (a fork server that does not answer): given up, and killed by its
    // launcher if it starts after all.
    workers.remove(w);
    w->connection->abandon();
    break_pool(start_failure(*w));
    return;
  }
  w->connection->kill();
}

// Why worker `w` never started serving: it timed out, or it ended first.
failure pool_core::start_failure(const pool_worker& w) const {
  const std::string label = initializer.empty() ? "pool" : initializer;
  const std::string who =
      "the pool worker" + (w.pid != 0 ? " (pid " + std::to_string(w.pid) + ")" : std::string());
  if (w.start_timed_out)
    return failure::launch_failed(label, std::make_error_code(std::errc::timed_out),
                                  who + " had not started serving after " +
                                      std::to_string(start_limit.count()) +
                                      " ms, its start timeout (pool_options::start_timeout)");
  return failure_of_ended_child(label, w.pid, w.report,
                                who + " sent a damaged message before it was ready",
                                who + " ended before it was ready to take tasks");
}

void pool_core::on_started(const std::shared_ptr<pool_worker>& w) {
  w->pid = w->connection->pid();
  if (initializer.empty()) {
    // Tasks (and their timeouts) wait for the worker to say it is serving (on_reply).
    w->ready = w->announced;
    dispatch();
  } else {
    // The initializer has no timeout: it is handed over at once, and the worker reads it
    // once it has said it is serving.
    auto task = std::make_shared<pool_task>(
        pool_request{initializer, initializer_frame, std::nullopt, 1}, std::weak_ptr<pool_core>());
    task->initializer = true;
    hand(w, task);
  }
}

void pool_core::hand(const std::shared_ptr<pool_worker>& w,
                     const std::shared_ptr<pool_task>& task) {
  task->start(w->pid);
  if (!task->initializer)
    ++w->handed;
  w->in_flight.push_back(task);
  w->connection->send(task->frame, task->shared);
  if (w->in_flight.size() == 1)
    start_timer(w);
}

void pool_core::hand_chunk(const std::shared_ptr<pool_worker>& w,
                           const std::vector<std::shared_ptr<pool_task>>& tasks) {
  // A chunk goes as one message, and its replies come back as one, unless a task has a
  // timeout: its time starts when the reply before it comes, so its replies must not wait.
  // A task with a shared-memory segment goes alone, its descriptor after its header.
  const bool together =
      tasks.size() > 1 && !worker_options.timeout &&
      std::none_of(tasks.begin(), tasks.end(), [](const std::shared_ptr<pool_task>& task) {
        return task->timeout.has_value() || task->alone || task->shared;
      });
  if (!together) {
    for (const auto& task : tasks)
      hand(w, task);
    return;
  }
  std::size_t bytes = frame_header_size;
  for (const auto& task : tasks)
    bytes += task->frame->size();
  auto frame = std::make_shared<std::string>();
  frame->reserve(bytes);
  frame->resize(frame_header_size);
  for (const auto& task : tasks) {
    task->start(w->pid);
    task->batched = true;
    ++w->handed;
    w->in_flight.push_back(task);
    frame->append(*task->frame);
  }
  write_frame_header(frame->data(), frame_kind::call_batch, bytes - frame_header_size);
  w->connection->send(std::move(frame));
}

// The timeout of the task a worker is running starts when it reaches the front.
void pool_core::start_timer(const std::shared_ptr<pool_worker>& w) {
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
bool pool_core::on_reply(const std::shared_ptr<pool_worker>& w, incoming_frame frame) {
  if (frame.header.kind == frame_kind::ready) {
    if (w->announced || frame.header.has_segment || !frame.payload.empty()) {
      w->connection->reject("the worker said it was ready twice, or with a payload");
      return false;
    }
    w->announced = true;
    w->start_deadline.cancel();
    // Its start is over: tasks may go now. With an initializer, ready comes with its reply.
    if (w->pid != 0 && initializer.empty()) {
      w->ready = true;
      dispatch();
    }
    return true;
  }
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
  // What the worker wrote for this task (up to its mark) is the task's.
  captured_output output = w->connection->take_output();
  if (task->initializer) {
    if (error) {
      error.output = std::move(output);
      break_pool(error);
    } else {
      w->ready = true;
    }
  } else {
    ++completed;
    finish_task(*task, error, error ? std::string() : std::move(frame.payload), std::move(output),
                error ? nullptr : std::move(frame.shared));
  }
  start_timer(w);
  if (max_tasks_per_worker != 0 && w->handed >= max_tasks_per_worker && w->in_flight.empty())
    retire(w);
  dispatch();
  return true;
}

// Closing the channel is the worker's signal to exit once it is idle.
void pool_core::retire(const std::shared_ptr<pool_worker>& w) {
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
void pool_core::conclude(const std::shared_ptr<pool_worker>& w) {
  w->task_timer.cancel();
  w->start_deadline.cancel();
  workers.remove(w);
  if (!w->announced && !w->retiring && !broken) {
    // It ended (or was killed) before it could take a task: so would the next one, over
    // and over. The pool is broken, as by a failed initializer; only the initializer can
    // have been handed to it.
    failure error = start_failure(*w);
    error.output = w->connection->take_output();
    w->in_flight.clear();
    break_pool(error);
  }
  if (!w->in_flight.empty() && w->in_flight.front()->batched && !w->killed_task &&
      !w->report.end_reported && !w->report.damaged && w->report.out_of_memory.empty()) {
    // The worker ended inside a chunk without a word (killed from outside, or _exit; on
    // Windows also a raise() of a crash signal): the replies it held back are lost, and
    // which task it was running is unknown. Each task of the chunk without a result runs
    // again, alone, so that the one that ends its worker fails by itself.
    w->connection->take_output();
    if (logs(log_level::info))
      log(log_level::info, "a pool worker (pid " + std::to_string(w->pid) +
                               ") ended inside a chunk without reporting why; its " +
                               std::to_string(w->in_flight.size()) +
                               " unanswered tasks run again, one at a time");
    for (auto it = w->in_flight.rbegin(); it != w->in_flight.rend(); ++it) {
      (*it)->alone = true;
      requeue(*it);
    }
    w->in_flight.clear();
  } else if (!w->in_flight.empty()) {
    const auto task = w->in_flight.front();
    w->in_flight.pop_front();
    failure error = task_failure(*w, *task);
    captured_output output = w->connection->take_output();
    if (task->initializer) {
      error.output = std::move(output);
      break_pool(error);
    } else {
      ++completed;
      finish_task(*task, error, {}, std::move(output));
    }
    for (auto it = w->in_flight.rbegin(); it != w->in_flight.rend(); ++it)
      requeue(*it);
  }
  w->connection.reset();
  const bool replace = !broken && (!stopping || !queue.empty());
  if (!w->retiring && logs(log_level::info))
    log(log_level::info, "a pool worker (pid " + std::to_string(w->pid) + ") ended" +
                             (replace ? "; a new one replaces it" : ""));
  if (replace)
    launch_worker();
  dispatch();
}

failure pool_core::task_failure(const pool_worker& w, const pool_task& task) {
  if (w.report.out_of_memory.empty() && w.killed_task.get() == &task && w.timed_out)
    return failure::timed_out(task.function, w.pid,
                              task.timeout ? *task.timeout : *worker_options.timeout);
  std::string lead = "the pool worker ended while running the task";
  if (w.killed_task.get() == &task)
    lead = w.terminated ? "terminated through its handle" : "killed through its handle";
  else if (w.killed_task)
    lead = "the pool worker was killed for another task";
  return failure_of_ended_child(task.function, w.pid, w.report,
                                "the pool worker (pid " + std::to_string(w.pid) +
                                    ") sent a damaged reply for '" + task.function + "'",
                                lead);
}

void pool_core::requeue(const std::shared_ptr<pool_task>& task) {
  if (finished(*task))
    return;
  task->requeue();
  task->batched = false;
  if (task->initializer)
    return;
  if (broken)
    finish_task(*task, broken);
  else
    queue.push_front(task);
}

void pool_core::break_pool(const failure& error) {
  if (!broken)
    broken = error;
  for (auto& task : queue)
    finish_task(*task, broken);
  queue.clear();
  for (auto& w : std::list<std::shared_ptr<pool_worker>>(workers)) // retire may remove one
    if (w->in_flight.empty())
      retire(w);
  check_stopped();
}

// Hands queued tasks to idle workers: one each, or a whole chunk of them.
void pool_core::dispatch() {
  for (auto& w : workers) {
    if (queue.empty())
      break;
    if (!w->ready || w->retiring || w->connection->exited() || !w->in_flight.empty())
      continue;
    if (max_tasks_per_worker != 0 && w->handed >= max_tasks_per_worker)
      continue;
    const std::size_t chunk = queue.front()->alone ? 1 : queue.front()->chunk;
    std::vector<std::shared_ptr<pool_task>> taken;
    do {
      taken.push_back(queue.front());
      queue.pop_front();
    } while (!queue.empty() && taken.size() < chunk && queue.front()->chunk == chunk &&
             (max_tasks_per_worker == 0 || w->handed + taken.size() < max_tasks_per_worker));
    hand_chunk(w, taken);
  }
  if (stopping && queue.empty())
    for (auto& w : std::list<std::shared_ptr<pool_worker>>(workers)) // retire may remove one
      if (w->in_flight.empty())
        retire(w);
  check_stopped();
}

void pool_core::check_stopped() {
  if (stopping && workers.empty() && !stopped) {
    stopped = true;
    stopped_changed.notify_all();
  }
}

void pool_core::cancel_on_loop(const std::shared_ptr<pool_task>& task,
                               std::optional<std::chrono::milliseconds> grace) {
  for (auto& w : workers) {
    const auto it = std::find(w->in_flight.begin(), w->in_flight.end(), task);
    if (it == w->in_flight.end())
      continue;
    if (it == w->in_flight.begin()) {
      if (w->connection->exited())
        return;
      if (grace && (!w->killed_task || w->terminated)) {
        w->killed_task = task;
        w->terminated = true;
        w->connection->terminate(*grace);
      } else if (!grace && (!w->killed_task || w->terminated)) {
        w->killed_task = task; // a kill after a terminate: killed now
        w->terminated = false;
        w->connection->kill();
      }
    } else {
      // Sent but not started: the worker will run it, and its result is dropped.
      finish_task(*task, cancelled_error(*task, "before its worker started it"));
    }
    return;
  }
}

} // namespace mpdecor::detail
