// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool, the callers' side (lib/pool_core.hpp).
#include "pool_core.hpp"

#include "registry.hpp"
#include "state.hpp"

#include <mpdecor/errors.hpp>
#include <mpdecor/proc.hpp> // encode_call, for an initializer without arguments
#include <mpdecor/shared_memory.hpp>

#include <algorithm>
#include <thread>

namespace mpdecor::detail {

std::shared_ptr<pool_core> start_pool(std::size_t workers, std::size_t max_tasks_per_worker,
                                      std::optional<std::chrono::milliseconds> start_timeout,
                                      std::string initializer, options worker_options,
                                      std::string initializer_frame) {
  if (!is_initialized())
    throw usage_error("mpdecor: call mpdecor::init(argc, argv) at the top of main before "
                      "starting a pool (without it the workers would run main from its start)");
  if (workers == 0) {
    const unsigned threads = std::thread::hardware_concurrency();
    workers = threads == 0 ? 2 : threads;
  }
  prepare_settings(worker_options, initializer.empty() ? "a pool's workers" : initializer);
  if (!initializer.empty() && find_registration(initializer) == nullptr)
    throw not_registered("mpdecor: the pool's initializer '" + initializer +
                             "' is not a registered function",
                         initializer, 0);
  try {
    if (!initializer.empty() && initializer_frame.empty())
      initializer_frame = encode_call<>(initializer, "");
    // The pool's workers all start the same way: with the start method in force now.
    if (!worker_options.start)
      worker_options.start = effective_start_method(worker_options);
    // A worker on this machine that has not started serving after a minute is stuck (in
    // its static initialization, say); a Slurm step may wait that long for resources.
    if (!start_timeout)
      start_timeout = worker_options.start == start_method::slurm ? std::chrono::milliseconds(0)
                                                                  : std::chrono::seconds(60);
    auto pool = std::make_shared<pool_core>(workers, max_tasks_per_worker, *start_timeout,
                                            std::move(initializer), std::move(initializer_frame),
                                            std::move(worker_options));
    pool->start();
    return pool;
  } catch (const std::exception& e) {
    // Its event loop or thread could not be made (the descriptor or thread limit).
    throw launch_error("pool", error_code_of(e), "starting the pool's thread and event loop");
  }
}

std::optional<std::size_t> sharing_threshold(const pool_core& pool) noexcept {
  if (!pool.workers_share_memory)
    return std::nullopt;
  return shared_memory_threshold();
}

std::shared_ptr<task_state> submit(pool_core& pool, pool_request request) {
  std::vector<pool_request> one;
  one.push_back(std::move(request));
  return submit_all(pool, std::move(one)).front();
}

std::vector<std::shared_ptr<task_state>> submit_all(pool_core& pool,
                                                    std::vector<pool_request> requests) {
  std::vector<std::shared_ptr<task_state>> states;
  if (requests.empty())
    return states;
  // Checked before taking the lock: a fork may have copied it locked.
  if (pool.loop.forked())
    throw usage_error(
        forked_message("a task '" + requests.front().function + "' was submitted to a pool"));
  std::vector<std::shared_ptr<pool_task>> tasks;
  tasks.reserve(requests.size());
  for (auto& request : requests)
    tasks.push_back(std::make_shared<pool_task>(std::move(request), pool.weak_from_this()));
  std::lock_guard lock(pool.mutex);
  if (pool.stopping)
    throw usage_error("mpdecor: the pool is shut down; it takes no more tasks ('" +
                      tasks.front()->function + "')");
  states.reserve(tasks.size());
  for (auto& task : tasks) {
    if (pool.broken)
      finish_task(*task, pool.broken);
    else
      pool.queue.push_back(task);
    states.push_back(std::move(task));
  }
  // One dispatch on the pool's thread takes every task queued by then: a map's many
  // submissions wake that thread once, not once each.
  if (!pool.broken && !pool.dispatch_posted) {
    pool.dispatch_posted = true;
    pool.loop.post([&pool] {
      std::lock_guard on_loop(pool.mutex);
      pool.dispatch_posted = false;
      pool.dispatch();
    });
  }
  return states;
}

void shutdown(pool_core& pool, bool cancel_queued) {
  // In a process forked without exec, the pool's thread and workers are the original's:
  // there is nothing of this process's own to stop (a pool destroyed there returns at once).
  if (pool.loop.forked()) {
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
    pool.loop.post([&pool] {
      std::lock_guard on_loop(pool.mutex);
      pool.dispatch();
    });
  }
  pool.stopped_changed.wait(lock, [&pool] { return pool.stopped; });
  if (!pool.loop.on_loop_thread()) {
    lock.unlock();
    pool.loop.stop();
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

void pool_task::end(std::optional<std::chrono::milliseconds> grace) {
  pool_task& task = *this;
  const auto owner = task.pool.lock();
  if (!owner)
    return;
  std::lock_guard lock(owner->mutex);
  const auto self = std::static_pointer_cast<pool_task>(task.shared_from_this());
  const auto queued = std::find(owner->queue.begin(), owner->queue.end(), self);
  if (queued != owner->queue.end()) {
    // Withdrawn here rather than on the pool's thread, so that the handle reads as
    // cancelled as soon as cancel returns.
    owner->queue.erase(queued);
    finish_task(task, cancelled_error(task, "before it started"));
    return;
  }
  if (finished(task))
    return;
  // Signals go from the pool's thread only: there a worker's pid cannot have been reaped
  // (and reused) between the check and the kill.
  owner->loop.post([owner, self, grace] {
    std::lock_guard on_loop(owner->mutex);
    owner->cancel_on_loop(self, grace);
  });
}

} // namespace mpdecor::detail
