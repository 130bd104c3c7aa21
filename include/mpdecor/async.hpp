// SPDX-License-Identifier: BSL-1.0
// mpdecor: calls as Asio asynchronous operations.
//
//     auto loss = co_await mpdecor::async_call(ex, train, "a.cfg", 5, boost::asio::use_awaitable);
//     auto quick = co_await mpdecor::async_call(ex, mpdecor::proc(train).timeout(30s), "b.cfg",
//                                               5, boost::asio::use_awaitable);
//     mpdecor::async_call(ex, workers.submit(score), 7,
//                         [](std::exception_ptr error, double value) { ... });
//
// The operation starts a fresh child (a registered function itself, or a `proc` or
// `proc_wait` decorator with its options) or queues a pool task (`pool::submit`), and
// completes on the completion handler's associated executor
// (`ex` by default) with `void(std::exception_ptr, Result)` (`void(std::exception_ptr)` for
// a void function): the exception is the call's error (`remote_error`, `child_crashed`, ...).
// No Asio thread ever waits for the child. Any completion token works: callbacks,
// use_future, deferred, use_awaitable.
//
// Cancellation through the handler's cancellation slot kills the child (or withdraws the
// queued pool task, or kills its worker) and completes with a `boost::system::system_error`
// holding `boost::asio::error::operation_aborted`, unless the call had succeeded already.
//
// Unlike the other public headers, this one includes Asio: include it where you use it.
#ifndef MPDECOR_ASYNC_HPP
#define MPDECOR_ASYNC_HPP

#include <mpdecor/handle.hpp>
#include <mpdecor/pool.hpp>
#include <mpdecor/proc.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace mpdecor {
namespace detail {

template <class Result>
struct completion_signature {
  using type = void(std::exception_ptr, Result);
};
template <>
struct completion_signature<void> {
  using type = void(std::exception_ptr);
};

/// How async_call starts each kind of call and learns that it finished.
template <class Decorator>
struct async_traits;

template <bool Wait, class Result, class... Parameters>
struct async_traits<decorator<Wait, Result, Parameters...>> {
  using result_type = Result;
  using handle_type = handle<Result>;
  template <class... Arguments>
  static auto prepare(const decorator<Wait, Result, Parameters...>& call,
                      Arguments&&... arguments) {
    return [request = make_request(call.name(), call.settings(), [&](attachments* side) {
              return encode_call_sharing<Parameters...>(
                  side, call.name(), signature_id<Result, Parameters...>(), arguments...);
            })]() mutable {
      auto state = submit(std::move(request));
      return std::make_pair(handle<Result>(state), state);
    };
  }
};

/// A registered function itself runs as `proc(function)` would.
template <class Result, class... Parameters>
struct async_traits<Result(Parameters...)> : async_traits<decorator<false, Result, Parameters...>> {
  template <class... Arguments>
  static auto prepare(Result (&function)(Parameters...), Arguments&&... arguments) {
    return async_traits<decorator<false, Result, Parameters...>>::prepare(
        mpdecor::proc(&function), std::forward<Arguments>(arguments)...);
  }
};
template <class Result, class... Parameters>
struct async_traits<Result (*)(Parameters...)> : async_traits<Result(Parameters...)> {
  template <class... Arguments>
  static auto prepare(Result (*function)(Parameters...), Arguments&&... arguments) {
    return async_traits<Result(Parameters...)>::prepare(*function,
                                                        std::forward<Arguments>(arguments)...);
  }
};

template <class Result, class... Parameters>
struct async_traits<pool_decorator<Result, Parameters...>> {
  using result_type = Result;
  using handle_type = pool_handle<Result>;
  template <class... Arguments>
  static auto prepare(const pool_decorator<Result, Parameters...>& call, Arguments&&... arguments) {
    return [call, request = call.request(std::forward<Arguments>(arguments)...)]() mutable {
      auto task = call.submit_request(std::move(request));
      return std::make_pair(task, task.state());
    };
  }
};

/// Something in flight that its execution context must drop when it is destroyed.
class pending_operation {
public:
  virtual ~pending_operation() = default;
  /// Destroys the handler unrun and gives back its work; called once, while the context
  /// shuts down, if the operation has not completed by then.
  virtual void abandon() noexcept = 0;
};

/// Tracks the async_calls in flight on one execution context. An io_context destroyed
/// while a call runs destroys its pending handlers unrun; this service does the same for
/// ours at that moment, so that a call finishing later never posts to, nor gives work
/// back to, a context that no longer exists.
class pending_operations : public boost::asio::execution_context::service {
public:
  static inline boost::asio::execution_context::id id;

  explicit pending_operations(boost::asio::execution_context& context)
      : boost::asio::execution_context::service(context) {}

  /// Tracks `operation` until `forget` or the context's shutdown.
  void track(const std::shared_ptr<pending_operation>& operation) {
    std::lock_guard lock(mutex_);
    operations_.emplace(operation.get(), operation);
  }

  /// Stops tracking `operation` (it completed). False once the context has shut down: the
  /// operation was, or is being, abandoned.
  bool forget(const pending_operation* operation) {
    std::lock_guard lock(mutex_);
    if (shut_down_)
      return false;
    operations_.erase(operation);
    return true;
  }

private:
  void shutdown() override {
    std::unordered_map<const pending_operation*, std::weak_ptr<pending_operation>> operations;
    {
      std::lock_guard lock(mutex_);
      shut_down_ = true;
      operations.swap(operations_);
    }
    for (auto& entry : operations)
      if (auto operation = entry.second.lock())
        operation->abandon();
  }

  std::mutex mutex_;
  bool shut_down_ = false;
  std::unordered_map<const pending_operation*, std::weak_ptr<pending_operation>> operations_;
};

/// One operation in flight: the handler, the work that keeps its executor running, and
/// whether the caller asked to cancel.
template <class Handler, class Executor, class Handle>
struct async_operation final : pending_operation {
  using executor_type = boost::asio::associated_executor_t<Handler, Executor>;

  async_operation(Handler&& h, const Executor& executor)
      : handler(std::move(h)), work(boost::asio::make_work_guard(
                                   boost::asio::get_associated_executor(*handler, executor))),
        operations(&boost::asio::use_service<pending_operations>(
            boost::asio::query(work->get_executor(), boost::asio::execution::context))) {}

  void abandon() noexcept override {
    std::lock_guard lock(mutex);
    if (!handler)
      return;
    boost::asio::get_associated_cancellation_slot(*handler).clear();
    handler.reset();
    work.reset();
  }

  std::mutex mutex; // orders completion against abandon()
  std::optional<Handler> handler;
  std::optional<boost::asio::executor_work_guard<executor_type>> work;
  pending_operations* operations; // valid while `handler` is set
  std::atomic<bool> cancel_requested{false};
  Handle task;
};

template <class Handle, class Result, class Executor>
struct initiate_call {
  Executor executor;

  template <class Handler, class Start>
  void operator()(Handler&& handler, Start start) const {
    using handler_type = std::decay_t<Handler>;
    using operation = async_operation<handler_type, Executor, Handle>;
    auto op = std::make_shared<operation>(std::move(handler), executor);
    auto [task, state] = start();
    op->task = task;
    op->operations->track(op);
    auto slot = boost::asio::get_associated_cancellation_slot(*op->handler);
    if (slot.is_connected()) {
      // Killing a child, or withdrawing a task, ends the call at once: every kind of
      // cancellation Asio asks for (terminal, partial, total) is met.
      slot.assign([weak = std::weak_ptr<operation>(op)](boost::asio::cancellation_type) {
        if (auto alive = weak.lock()) {
          alive->cancel_requested = true;
          alive->task.kill();
        }
      });
    }
    when_finished(*state, [op] {
      std::exception_ptr error;
      std::optional<std::conditional_t<std::is_void_v<Result>, int, Result>> value;
      try {
        if constexpr (std::is_void_v<Result>)
          op->task.get();
        else
          value.emplace(op->task.get());
      } catch (...) {
        error = op->cancel_requested
                    ? std::make_exception_ptr(boost::system::system_error(
                          boost::asio::error::operation_aborted, "mpdecor: the call was cancelled"))
                    : std::current_exception();
      }
      // Held while posting: the context's shutdown waits here, so it cannot be destroyed
      // between the check and the post.
      std::lock_guard lock(op->mutex);
      if (!op->handler || !op->operations->forget(op.get()))
        return; // the context is gone, or going: the handler was (or is being) dropped
      // The work is given back here, after post returns, not in the handler: Asio's post
      // still touches the io_context after queueing the handler, and once the handler has
      // run without outstanding work, run() may return and the io_context be destroyed.
      auto work = std::move(*op->work);
      op->work.reset();
      boost::asio::post(work.get_executor(), [op, handler = std::move(*op->handler), error,
                                              value = std::move(value)]() mutable {
        boost::asio::get_associated_cancellation_slot(handler).clear();
        if constexpr (std::is_void_v<Result>)
          std::move(handler)(error);
        else
          std::move(handler)(error, value ? std::move(*value) : Result{});
      });
      op->handler.reset();
      work.reset();
    });
  }
};

template <class Executor, class Decorator, class Arguments, std::size_t... Index>
auto async_call_split(const Executor& executor, const Decorator& call, Arguments&& all,
                      std::index_sequence<Index...>) {
  using traits = async_traits<Decorator>;
  using result_type = typename traits::result_type;
  constexpr std::size_t token_index = std::tuple_size_v<std::decay_t<Arguments>> - 1;
  auto start = traits::prepare(call, std::get<Index>(std::move(all))...);
  // async_initiate takes the token as a non-const lvalue; tokens such as use_future are
  // const objects, so it gets its own copy.
  using token_type = std::decay_t<std::tuple_element_t<token_index, std::decay_t<Arguments>>>;
  token_type token(std::get<token_index>(std::move(all)));
  return boost::asio::async_initiate<token_type, typename completion_signature<result_type>::type>(
      initiate_call<typename traits::handle_type, result_type, Executor>{executor}, token,
      std::move(start));
}

} // namespace detail

/// Runs `call` (a registered function, a `proc`/`proc_wait` decorator, or a pool's
/// `submit(f)`) with `arguments` as an Asio asynchronous operation; the last argument is the
/// completion token. See the file comment for the completion signature and cancellation.
template <class Executor, class Decorator, class... ArgumentsAndToken>
auto async_call(const Executor& executor, const Decorator& call,
                ArgumentsAndToken&&... arguments_and_token) {
  static_assert(sizeof...(ArgumentsAndToken) >= 1,
                "mpdecor: async_call's last argument is the completion token");
  if constexpr (detail::is_function_object_v<Decorator>) // a lambda or function object
    return async_call(executor, *detail::function_pointer_of(call),
                      std::forward<ArgumentsAndToken>(arguments_and_token)...);
  else
    return detail::async_call_split(
        executor, call,
        std::forward_as_tuple(std::forward<ArgumentsAndToken>(arguments_and_token)...),
        std::make_index_sequence<sizeof...(ArgumentsAndToken) - 1>{});
}

} // namespace mpdecor

#endif
