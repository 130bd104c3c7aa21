// mpdecor: the interface between the header-only decorators and the compiled supervisor.
// A call's state lives in the library; handles hold a shared pointer to it.
#ifndef MPDECOR_DETAIL_CALL_HPP
#define MPDECOR_DETAIL_CALL_HPP

#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mpdecor::detail {

struct call_state; // defined in lib/supervisor.cpp

/// Everything the supervisor needs to start a call.
struct call_request {
  std::string function; ///< registered name
  std::string frame;    ///< the complete call frame (header and payload)
  options settings;
};

/// Starts the call now, or queues it when the limit on running children is reached.
std::shared_ptr<call_state> submit(call_request request);

void wait(call_state& call);
bool wait_for(call_state& call, std::chrono::nanoseconds timeout);
/// Waits, then returns the payload of the result, or throws the call's error.
std::string_view result(call_state& call);
void kill(call_state& call);
pid_type pid(call_state& call);
bool running(call_state& call);
bool finished(call_state& call);
const std::string& function_name(const call_state& call);
/// Calls `listener` once the call has finished: at once, on this thread, if it has; else on
/// the supervisor's thread (or one cancelling the call). It must not block.
void when_finished(call_state& call, std::function<void()> listener);

} // namespace mpdecor::detail

#endif
