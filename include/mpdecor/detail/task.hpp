// mpdecor: the state of one call or pool task, as handles see it. The state lives in the
// compiled library (lib/task_state.hpp); handles hold a shared pointer to it.
#ifndef MPDECOR_DETAIL_TASK_HPP
#define MPDECOR_DETAIL_TASK_HPP

#include <mpdecor/errors.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace mpdecor::detail {

struct task_state; // lib/task_state.hpp

void wait(task_state& task);
bool wait_for(task_state& task, std::chrono::nanoseconds timeout);
/// Waits, then returns the payload of the result, or throws the task's error.
std::string_view result(task_state& task);
/// The shared-memory segment that came with the result (empty if none); after result().
std::string_view result_segment(task_state& task);
/// Kills the child running the task, or withdraws it if it has not started yet.
void kill(task_state& task);
/// The pid of the child that runs the task; waits until one has it. Throws the task's
/// error if it ended before reaching one.
pid_type pid(task_state& task);
/// The pid of the child that had the task last; 0 if none had it. Never waits.
pid_type last_pid(task_state& task);
bool running(task_state& task);
bool finished(task_state& task);
const std::string& function_name(const task_state& task);
/// Calls `listener` once the task has finished: at once, on this thread, if it has; else on
/// the thread that finishes it (an event loop's, or one cancelling it). It must not block.
void when_finished(task_state& task, std::function<void()> listener);

} // namespace mpdecor::detail

#endif
