// SPDX-License-Identifier: BSL-1.0
// mpdecor: the state of one call or pool task, as handles see it. The state lives in the
// compiled library (lib/task_state.hpp); handles hold a shared pointer to it.
#ifndef MPDECOR_DETAIL_TASK_HPP
#define MPDECOR_DETAIL_TASK_HPP

#include <mpdecor/export.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/detail/wire.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpdecor::detail {

struct task_state; // lib/task_state.hpp

MPDECOR_DECL void wait(task_state& task);
MPDECOR_DECL bool wait_for(task_state& task, std::chrono::nanoseconds timeout);
/// Waits, then returns the payload of the result, or throws the task's error.
MPDECOR_DECL std::string_view result(task_state& task);
/// The shared-memory segment that came with the result (empty if none); after result().
MPDECOR_DECL segment_contents result_segment(task_state& task);
/// Kills the child running the task, or withdraws it if it has not started yet.
MPDECOR_DECL void kill(task_state& task);
/// As kill(), asking a running child to end first and killing it `grace` later.
MPDECOR_DECL void terminate(task_state& task, std::chrono::milliseconds grace);
/// The pid of the child that runs the task; waits until one has it. Throws the task's
/// error if it ended before reaching one.
MPDECOR_DECL pid_type pid(task_state& task);
/// The pid of the child that had the task last; 0 if none had it. Never waits.
MPDECOR_DECL pid_type last_pid(task_state& task);
MPDECOR_DECL bool running(task_state& task);
MPDECOR_DECL bool finished(task_state& task);
MPDECOR_DECL const std::string& function_name(const task_state& task);
/// Calls `listener` once the task has finished: at once, on this thread, if it has; else on
/// the thread that finishes it (an event loop's, or one cancelling it). It must not block.
/// Returns an id for `forget_listener`, or 0 when the listener has run already.
MPDECOR_DECL std::uint64_t when_finished(task_state& task, std::function<void()> listener);
/// Drops a listener that has not run yet (nothing if it has, or `id` is 0).
MPDECOR_DECL void forget_listener(task_state& task, std::uint64_t id);
/// Waits, then returns the task's error, or nullptr when it succeeded. Never throws it.
MPDECOR_DECL std::exception_ptr error_of(task_state& task);
/// Waits, then returns what the task's child wrote to its captured streams.
MPDECOR_DECL captured_output output_of(task_state& task);
/// True once the task has finished as `cancelled` (withdrawn before it started).
MPDECOR_DECL bool was_cancelled(task_state& task);
/// Runs a user's completion callback, reporting (never passing on) what it throws: it runs
/// on one of mpdecor's own threads, which must go on serving every other call.
MPDECOR_DECL void run_callback(const task_state& task,
                               const std::function<void()>& callback) noexcept;

/// The indices of a set of tasks in the order they finish (`as_completed`, `wait_any`).
/// Listens to each task until it finishes or this queue is destroyed.
class MPDECOR_DECL completion_queue {
public:
  explicit completion_queue(std::vector<std::shared_ptr<task_state>> tasks);
  ~completion_queue();
  completion_queue(const completion_queue&) = delete;
  completion_queue& operator=(const completion_queue&) = delete;

  /// The index of the next task to finish, waiting for it at most until `deadline` (no
  /// limit when unset); nullopt when every index has been given, or at the deadline.
  std::optional<std::size_t>
  next(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  /// How many tasks the queue watches.
  std::size_t size() const noexcept { return tasks_.size(); }

private:
  struct finished_indices;
  std::shared_ptr<finished_indices> finished_;
  std::vector<std::shared_ptr<task_state>> tasks_;
  std::vector<std::uint64_t> listeners_;
  std::deque<std::size_t> taken_; // indices taken from finished_, not given yet
  std::size_t given_ = 0;
};

/// The tasks of a streaming map (`pool::map`): added in input order, reported as they
/// finish, and dropped once used, so that only the span from the oldest task not yet
/// released to the newest is held, however long the input.
class MPDECOR_DECL task_window {
public:
  task_window();
  ~task_window();
  task_window(const task_window&) = delete;
  task_window& operator=(const task_window&) = delete;

  /// Adds the next task; returns its index (0, 1, 2, ... in the order of adding).
  std::size_t add(std::shared_ptr<task_state> task);
  /// The index of the next task to finish, waiting at most until `deadline` (no limit when
  /// unset); nullopt when no task held is unreported, or at the deadline.
  std::optional<std::size_t>
  next(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  /// The task of a held index.
  const std::shared_ptr<task_state>& at(std::size_t index) const;
  /// True when the oldest held task has been reported by `next`.
  bool front_reported() const noexcept;
  /// The index of the oldest held task; `added()` when none is held.
  std::size_t front() const noexcept { return base_; }
  /// Drops a task (its listener, its result); the window moves past the dropped ones at
  /// its front.
  void release(std::size_t index);
  /// Tasks added so far.
  std::size_t added() const noexcept { return base_ + slots_.size(); }
  /// The span held: from the oldest task not released to the newest.
  std::size_t span() const noexcept { return slots_.size(); }
  /// Kills every task held (withdraws the queued ones) and waits until each has finished.
  void kill_all();

private:
  struct slot {
    std::shared_ptr<task_state> task;
    bool reported = false;
  };
  struct finished_indices;
  std::shared_ptr<finished_indices> finished_;
  std::deque<slot> slots_;
  std::deque<std::size_t> taken_; // indices taken from finished_, not given yet
  std::size_t base_ = 0;
  std::size_t unreported_ = 0;
};

} // namespace mpdecor::detail

#endif
