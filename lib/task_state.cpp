// mpdecor: the state of one call or pool task (lib/task_state.hpp) and what handles ask of it.
#include "task_state.hpp"

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

bool task_state::finish(failure why, std::string result, std::shared_ptr<const segment> shared,
                        const std::function<void()>& under_lock) {
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard lock(mutex);
    if (stage == task_stage::finished)
      return false;
    error = std::move(why);
    payload = std::move(result);
    reply_segment = std::move(shared);
    stage = task_stage::finished;
    waiting.swap(listeners);
    if (under_lock)
      under_lock();
  }
  changed.notify_all();
  for (auto& listener : waiting)
    listener();
  return true;
}

void wait(task_state& task) {
  std::unique_lock lock(task.mutex);
  task.changed.wait(lock, [&] { return task.stage == task_stage::finished; });
}

bool wait_for(task_state& task, std::chrono::nanoseconds timeout) {
  std::unique_lock lock(task.mutex);
  return task.changed.wait_for(lock, timeout,
                               [&] { return task.stage == task_stage::finished; });
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

std::string_view result_segment(task_state& task) {
  std::lock_guard lock(task.mutex);
  return task.reply_segment ? task.reply_segment->view() : std::string_view();
}

void kill(task_state& task) { task.kill(); }

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

void when_finished(task_state& task, std::function<void()> listener) {
  {
    std::lock_guard lock(task.mutex);
    if (task.stage != task_stage::finished) {
      task.listeners.push_back(std::move(listener));
      return;
    }
  }
  listener();
}

} // namespace mpdecor::detail
