// SPDX-License-Identifier: BSL-1.0
// mpdecor: the state of one call or pool task (lib/task_state.hpp) and what handles ask of it.
#include "task_state.hpp"
#include "log.hpp"

#include <boost/core/demangle.hpp>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <typeinfo>

namespace mpdecor::detail {

void task_state::start(pid_type child) {
  {
    std::lock_guard lock(mutex);
    pid = child;
    stage = task_stage::running;
  }
  changed.notify_all();
}

void task_state::requeue() {
  std::lock_guard lock(mutex);
  if (stage == task_stage::finished)
    return;
  stage = task_stage::queued;
  pid = 0;
}

void push_index(index_queue& queue, std::size_t index) {
  bool was_empty = false;
  {
    std::lock_guard lock(queue.mutex);
    was_empty = queue.indices.empty();
    queue.indices.push_back(index);
  }
  // A consumer waits only while the queue is empty: a task that finishes while others are
  // waiting to be taken wakes nobody (a chunk's replies finish a thousand tasks at once).
  if (was_empty)
    queue.changed.notify_all();
}

bool task_state::finish(failure why, std::string result, std::shared_ptr<const segment> shared,
                        const std::function<void()>& under_lock, captured_output captured) {
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiting;
  std::shared_ptr<index_queue> to_window;
  {
    std::lock_guard lock(mutex);
    if (stage == task_stage::finished)
      return false;
    error = std::move(why);
    if (error && error.output.empty())
      error.output = captured;
    output = std::move(captured);
    payload = std::move(result);
    reply_segment = std::move(shared);
    stage = task_stage::finished;
    waiting.swap(listeners);
    to_window.swap(window);
    if (under_lock)
      under_lock();
  }
  changed.notify_all();
  for (auto& listener : waiting)
    listener.second();
  if (to_window)
    push_index(*to_window, window_index);
  return true;
}

void wait(task_state& task) {
  std::unique_lock lock(task.mutex);
  task.changed.wait(lock, [&] { return task.stage == task_stage::finished; });
}

bool wait_for(task_state& task, std::chrono::nanoseconds timeout) {
  std::unique_lock lock(task.mutex);
  return task.changed.wait_for(lock, timeout, [&] { return task.stage == task_stage::finished; });
}

std::string_view result(task_state& task) {
  wait(task);
  failure error;
  {
    std::lock_guard lock(task.mutex);
    if (!task.error)
      return task.payload;
    error = task.error;
  }
  error.raise();
}

segment_contents result_segment(task_state& task) {
  std::lock_guard lock(task.mutex);
  return task.reply_segment ? task.reply_segment->contents() : segment_contents();
}

void kill(task_state& task) { task.kill(); }

void terminate(task_state& task, std::chrono::milliseconds grace) { task.terminate(grace); }

pid_type pid(task_state& task) {
  std::unique_lock lock(task.mutex);
  task.changed.wait(lock, [&] { return task.stage != task_stage::queued; });
  if (task.pid == 0 && task.error) {
    const failure error = task.error;
    lock.unlock();
    error.raise();
  }
  return task.pid;
}

pid_type last_pid(task_state& task) {
  std::lock_guard lock(task.mutex);
  return task.pid;
}

bool running(task_state& task) {
  std::lock_guard lock(task.mutex);
  return task.stage == task_stage::running;
}

bool finished(task_state& task) {
  std::lock_guard lock(task.mutex);
  return task.stage == task_stage::finished;
}

const std::string& function_name(const task_state& task) { return task.function; }

std::uint64_t when_finished(task_state& task, std::function<void()> listener) {
  {
    std::lock_guard lock(task.mutex);
    if (task.stage != task_stage::finished) {
      const auto id = task.next_listener++;
      task.listeners.emplace_back(id, std::move(listener));
      return id;
    }
  }
  listener();
  return 0;
}

void forget_listener(task_state& task, std::uint64_t id) {
  if (id == 0)
    return;
  std::lock_guard lock(task.mutex);
  auto& listeners = task.listeners;
  listeners.erase(std::remove_if(listeners.begin(), listeners.end(),
                                 [id](const auto& listener) { return listener.first == id; }),
                  listeners.end());
}

captured_output output_of(task_state& task) {
  wait(task);
  std::lock_guard lock(task.mutex);
  return task.output;
}

std::exception_ptr error_of(task_state& task) {
  wait(task);
  std::lock_guard lock(task.mutex);
  return task.error.as_exception_ptr();
}

bool was_cancelled(task_state& task) {
  std::lock_guard lock(task.mutex);
  return task.stage == task_stage::finished && task.error.what == failure::kind::cancelled;
}

void run_callback(const task_state& task, const std::function<void()>& callback) noexcept {
  try {
    callback();
  } catch (const std::exception& e) {
    log(log_level::warning, "a completion callback of '" + task.function + "' threw " +
                                boost::core::demangle(typeid(e).name()) + ": " + e.what() +
                                "; it was ignored");
  } catch (...) {
    log(log_level::warning, "a completion callback of '" + task.function +
                                "' threw something that is not a std::exception; it was "
                                "ignored");
  }
}

namespace {

// A listener that pushes `index`. It holds the queue, not its owner: it may run after the
// owner is gone.
std::function<void()> pusher(std::shared_ptr<index_queue> queue, std::size_t index) {
  return [queue = std::move(queue), index] { push_index(*queue, index); };
}

// Waits until `queue` holds an index, or until `deadline`; then moves every index it holds
// to the back of `taken`. False at the deadline.
bool take_indices(index_queue& queue, std::optional<std::chrono::steady_clock::time_point> deadline,
                  std::deque<std::size_t>& taken) {
  std::unique_lock lock(queue.mutex);
  const auto ready = [&] { return !queue.indices.empty(); };
  if (deadline) {
    if (!queue.changed.wait_until(lock, *deadline, ready))
      return false;
  } else {
    queue.changed.wait(lock, ready);
  }
  if (taken.empty())
    taken.swap(queue.indices);
  else
    taken.insert(taken.end(), queue.indices.begin(), queue.indices.end());
  queue.indices.clear();
  return true;
}

std::optional<std::size_t> pop_index(index_queue& queue,
                                     std::optional<std::chrono::steady_clock::time_point> deadline,
                                     std::deque<std::size_t>& taken) {
  if (taken.empty() && !take_indices(queue, deadline, taken))
    return std::nullopt;
  const auto index = taken.front();
  taken.pop_front();
  return index;
}

} // namespace

struct completion_queue::finished_indices : index_queue {};

completion_queue::completion_queue(std::vector<std::shared_ptr<task_state>> tasks)
    : finished_(std::make_shared<finished_indices>()), tasks_(std::move(tasks)) {
  listeners_.reserve(tasks_.size());
  for (std::size_t index = 0; index < tasks_.size(); ++index)
    listeners_.push_back(when_finished(*tasks_[index], pusher(finished_, index)));
}

completion_queue::~completion_queue() {
  for (std::size_t index = 0; index < tasks_.size(); ++index)
    forget_listener(*tasks_[index], listeners_[index]);
}

std::optional<std::size_t>
completion_queue::next(std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (given_ == tasks_.size())
    return std::nullopt;
  const auto index = pop_index(*finished_, deadline, taken_);
  if (index)
    ++given_;
  return index;
}

struct task_window::finished_indices : index_queue {};

task_window::task_window() : finished_(std::make_shared<finished_indices>()) {}

namespace {

// Stops telling a window of the task's finish (a window that is going, or that dropped it).
void leave_window(task_state& task) {
  std::lock_guard lock(task.mutex);
  task.window.reset();
}

} // namespace

task_window::~task_window() {
  for (const auto& held : slots_)
    if (held.task && !held.reported)
      leave_window(*held.task);
}

std::size_t task_window::add(std::shared_ptr<task_state> task) {
  const std::size_t index = added();
  slots_.push_back(slot{std::move(task), false});
  ++unreported_;
  auto& added_task = *slots_.back().task;
  bool finished_already = false;
  {
    std::lock_guard lock(added_task.mutex);
    finished_already = added_task.stage == task_stage::finished;
    if (!finished_already) {
      added_task.window = finished_;
      added_task.window_index = index;
    }
  }
  if (finished_already)
    push_index(*finished_, index);
  return index;
}

std::optional<std::size_t>
task_window::next(std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (unreported_ > 0) {
    const auto index = pop_index(*finished_, deadline, taken_);
    if (!index)
      return std::nullopt;
    // A task released before it was reported (a map that gave up) is skipped.
    if (*index < base_ || !slots_[*index - base_].task)
      continue;
    auto& held = slots_[*index - base_];
    held.reported = true;
    --unreported_;
    return index;
  }
  return std::nullopt;
}

const std::shared_ptr<task_state>& task_window::at(std::size_t index) const {
  return slots_.at(index - base_).task;
}

bool task_window::front_reported() const noexcept {
  return !slots_.empty() && slots_.front().reported;
}

void task_window::release(std::size_t index) {
  auto& held = slots_.at(index - base_);
  if (!held.task)
    return;
  if (!held.reported) {
    leave_window(*held.task);
    --unreported_;
  }
  held.task.reset();
  while (!slots_.empty() && !slots_.front().task) {
    slots_.pop_front();
    ++base_;
  }
}

void task_window::kill_all() {
  for (const auto& held : slots_)
    if (held.task)
      held.task->kill();
  for (const auto& held : slots_)
    if (held.task)
      wait(*held.task);
}

} // namespace mpdecor::detail
