// SPDX-License-Identifier: BSL-1.0
// mpdecor: the state of one call or pool task, shared by its handles and the event loop
// that runs it (lib/supervisor.cpp for calls, lib/pool_scheduler.cpp for pool tasks).
#ifndef MPDECOR_LIB_TASK_STATE_HPP
#define MPDECOR_LIB_TASK_STATE_HPP

#include "failure.hpp"
#include "shared_memory.hpp"

#include <mpdecor/detail/task.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mpdecor::detail {

enum class task_stage { queued, running, finished };

/// Indices of finished tasks, for a consumer that waits on many (completion_queue,
/// task_window). Whoever finishes a task pushes its index; the consumer takes them all.
struct index_queue {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::size_t> indices;
};

/// Adds `index` to `queue`, waking its consumer if it had nothing to take.
void push_index(index_queue& queue, std::size_t index);

struct task_state : std::enable_shared_from_this<task_state> {
  explicit task_state(std::string name) : function(std::move(name)) {}
  virtual ~task_state() = default;
  task_state(const task_state&) = delete;
  task_state& operator=(const task_state&) = delete;

  /// Kills the child running the task, or withdraws the task if it has not started.
  virtual void kill() = 0;
  /// As kill(), but a running child is asked to end first and killed `grace` later.
  virtual void terminate(std::chrono::milliseconds grace) = 0;

  /// Marks the task started in child `child`.
  void start(pid_type child);
  /// Puts a started task back in the queue (its worker died before starting it).
  void requeue();
  /// Finishes the task once, with `error` or (when none) `result`; `under_lock` runs while
  /// the task's lock is held, before anyone can see it finished. False, changing nothing,
  /// if it had finished already.
  bool finish(failure error, std::string result = {},
              std::shared_ptr<const segment> shared = nullptr,
              const std::function<void()>& under_lock = {}, captured_output captured = {});

  const std::string function;

  // Shared with callers, under `mutex`.
  std::mutex mutex;
  std::condition_variable changed;
  task_stage stage = task_stage::queued;
  pid_type pid = 0;
  failure error; // none unless the task failed; made an exception on the caller's thread
  std::string payload;
  std::shared_ptr<const segment> reply_segment; // the result's shared memory, if any
  captured_output output;                       // what the child wrote to its captured streams
  /// when_finished() listeners by id, called once finished.
  std::vector<std::pair<std::uint64_t, std::function<void()>>> listeners;
  std::uint64_t next_listener = 1;
  /// A map's window, told of the finish without a listener (one allocation less per item).
  std::shared_ptr<index_queue> window;
  std::size_t window_index = 0;
};

} // namespace mpdecor::detail

#endif
