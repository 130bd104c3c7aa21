// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool of warm worker processes.
//
//     mpdecor::pool workers;                                  // one worker per hardware thread
//     auto h = workers.submit(train)("a.cfg", 5);             // returns at once
//     std::vector<int> squares = workers.map(square, std::vector{1, 2, 3});
//
// A worker is a child started like proc's, that serves calls one after another until the
// pool shuts down, so a call costs a message round trip instead of a process start. A task
// that crashes its worker, or runs past its timeout, fails alone: the worker is replaced and
// the pool keeps serving.
#ifndef MPDECOR_POOL_HPP
#define MPDECOR_POOL_HPP

#include <mpdecor/detail/pool_call.hpp>
#include <mpdecor/detail/signature.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>
#include <mpdecor/proc.hpp>
#include <mpdecor/register.hpp>

#include <boost/core/type_name.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace mpdecor {

/// Settings of a pool, fixed when it starts.
struct pool_options {
  /// Number of workers; 0 means one per hardware thread.
  std::size_t workers = 0;
  /// A worker is replaced by a fresh one after this many tasks (0: never), to bound what a
  /// leaking function can accumulate.
  std::size_t max_tasks_per_worker = 0;
  /// Registered name of a function without parameters that each worker runs once when it
  /// starts, before its first task (to load a model, say); empty for none. If it fails, the
  /// pool is broken: every task fails with its error. `pool(settings, function)` sets it.
  std::string initializer;
  /// How long a worker may take to start serving: from its launch until its static
  /// initialization is over and it waits for tasks (the initializer does not count: it has
  /// no limit). A worker that takes longer is killed and the pool is broken: every task
  /// fails with launch_error. Unset: 60 s for workers on this machine, no limit for Slurm
  /// steps (srun may wait for the allocation's resources); zero: no limit.
  std::optional<std::chrono::milliseconds> start_timeout;
  /// Environment, working directory and memory limit of every worker. Its `timeout` is
  /// the default timeout of each task (a task that runs longer fails with `timeout_error`
  /// and its worker is replaced). A task's time starts when a worker that has finished
  /// starting (and run the initializer) takes it, so a worker's start never counts.
  options worker_options;
};

/// What `pool::shutdown` does with tasks still queued.
enum class shutdown_mode {
  wait,   ///< run them all, then stop (what the destructor does)
  cancel, ///< fail them with `cancelled`; tasks already running finish
};

/// How `pool::map` hands out its items.
struct map_options {
  /// Items handed to one worker at once, as one message: the worker runs them one after
  /// another and sends their results back together, as one message, when the last is done
  /// (or sooner, past 256 KiB of results). For short tasks this saves two messages and two
  /// wake-ups per item. Results are still per item, in the API and in errors: an item that
  /// crashes its worker, or calls std::exit, fails alone (the results of those before it
  /// still come; those after it are queued again). A worker that ends without a word
  /// (std::_Exit, a kill from outside) cannot say which item ended it: the chunk's items
  /// without a result run again one at a time, so one before the culprit may run twice. A
  /// task with a timeout (its own or the pool's default) is sent and answered alone, chunk
  /// or not, so that its time is its own.
  ///
  /// `map_options::auto_chunk` (0, the default) sizes the chunks as the map runs: it starts
  /// at one item, measures how long an item takes a worker (its work and its share of the
  /// messages), and aims at about 4 ms of work per message, with chunks of at most 1 MiB of
  /// arguments, and small enough near the end that every worker gets a share.
  std::size_t chunk = auto_chunk;
  /// See `chunk`.
  static constexpr std::size_t auto_chunk = 0;
  /// The map reads its input as it goes: at most this many items are submitted past the
  /// oldest one not finished yet (in `map`, not returned yet), so that a map over millions
  /// of items holds only this many encoded arguments and tasks at once. 0 (the default):
  /// four chunks per worker, and at least 4,096 items for a fixed chunk size.
  std::size_t in_flight = 0;
  /// Called on the calling thread after each item finishes, with the number finished so far
  /// and the total. The total is the input's length when it can be measured without reading
  /// it (a sized or a multi-pass range); for a single-pass range it is the number of items
  /// read so far.
  std::function<void(std::size_t done, std::size_t total)> progress;
  /// A limit on the whole map, counted from its start (each task keeps its own timeout
  /// too). When it passes, the items not finished are cancelled (queued) or their workers
  /// killed (running; the pool replaces them), and the map throws `timeout_error` saying
  /// how many items were left. Unset: no limit.
  std::optional<std::chrono::milliseconds> timeout;
};

/// A task submitted to a pool: a `handle`, the same type as `proc` returns. `cancel()`
/// (or `kill()`) withdraws a queued task (it fails with `cancelled`), or kills the worker
/// running it (it fails with `child_crashed`; the pool replaces the worker). Dropping every
/// copy does not cancel it.
template <class Result>
using pool_handle = handle<Result>;

namespace detail {

/// What `pool::submit` returns: a callable with the function's parameters.
template <class Result, class... Parameters>
class pool_decorator {
  static_assert(check_signature<Result, Parameters...>());

public:
  pool_decorator(std::shared_ptr<pool_core> pool, std::string name)
      : pool_(std::move(pool)), name_(std::move(name)) {}

  /// Queues the call and returns its handle at once.
  template <class... Arguments>
  pool_handle<Result> operator()(Arguments&&... arguments) const {
    return pool_handle<Result>(
        detail::submit(*pool_, request(std::forward<Arguments>(arguments)...)));
  }

  /// The task these arguments make, encoded, not submitted yet (for submit_all). Large
  /// vectors and strings go to shared memory as in calls (`shared_memory_threshold`), and
  /// inline when no segment can be made.
  template <class... Arguments>
  pool_request request(Arguments&&... arguments) const {
    static_assert(std::is_invocable_v<Result (*)(Parameters...), Arguments&&...>,
                  "mpdecor: these arguments do not match the function's parameters "
                  "(a direct call with them would not compile either)");
    shared_frame encoded = encode_sharing(sharing_threshold(*pool_), [&](attachments* side) {
      return encode_call_sharing<Parameters...>(side, name_, signature_id<Result, Parameters...>(),
                                                arguments...);
    });
    return pool_request{name_, std::move(encoded.frame), timeout_, chunk_,
                        std::move(encoded.shared)};
  }

  const std::shared_ptr<pool_core>& pool() const noexcept { return pool_; }

  /// Queues a task made by `request` (what `async_call` starts).
  pool_handle<Result> submit_request(pool_request task) const {
    return pool_handle<Result>(detail::submit(*pool_, std::move(task)));
  }

  /// Fails the task with `timeout_error`, and replaces its worker, after `limit`.
  template <class Rep, class Period>
  pool_decorator timeout(std::chrono::duration<Rep, Period> limit) const {
    pool_decorator copy = *this;
    copy.timeout_ = detail::saturating_milliseconds(limit);
    return copy;
  }

  /// Tasks handed to one worker at once (0 counts as 1: an automatic size is for maps); see
  /// `map_options::chunk`.
  pool_decorator chunk(std::size_t size) const {
    pool_decorator copy = *this;
    copy.chunk_ = size == 0 ? 1 : size;
    return copy;
  }

  /// The registered name the tasks go to.
  const std::string& name() const noexcept { return name_; }

private:
  std::shared_ptr<pool_core> pool_;
  std::string name_;
  std::optional<std::chrono::milliseconds> timeout_;
  std::size_t chunk_ = 1;
};

/// The length of a map's input when it can be had without reading the items: its size, or
/// the distance between its iterators when they can pass over it more than once.
template <class Range, class = void>
struct has_size : std::false_type {};
template <class Range>
struct has_size<Range, std::void_t<decltype(std::size(std::declval<Range&>()))>> : std::true_type {
};

template <class Range>
std::optional<std::size_t> length_of(Range& range) {
  using std::begin;
  using std::end;
  using iterator = decltype(begin(range));
  if constexpr (has_size<Range>::value) {
    return static_cast<std::size_t>(std::size(range));
  } else if constexpr (std::is_base_of_v<
                           std::forward_iterator_tag,
                           typename std::iterator_traits<iterator>::iterator_category>) {
    return static_cast<std::size_t>(std::distance(begin(range), end(range)));
  } else {
    return std::nullopt;
  }
}

template <class Result, class... Parameters>
std::string registered_name_of(Result (*function)(Parameters...)) {
  return std::string(registered_name(reinterpret_cast<erased_function>(function),
                                     boost::core::type_name<Result(Parameters...)>().c_str()));
}

} // namespace detail

/// A fixed number of warm worker processes that run registered functions.
///
/// The destructor waits for every submitted task and for the workers to exit; no worker
/// outlives the pool (on Linux, none outlives the program either, even if it is killed).
class pool {
public:
  /// Starts the workers; they start in the background, and tasks queue until one is ready.
  explicit pool(pool_options settings = {})
      : core_(detail::start_pool(settings.workers, settings.max_tasks_per_worker,
                                 settings.start_timeout, std::move(settings.initializer),
                                 std::move(settings.worker_options))) {}

  /// Starts the workers, each of which runs `initializer(arguments...)` once before its
  /// first task (to load a model, say). If it fails, the pool is broken: every task fails
  /// with its error.
  template <class Result, class... Parameters, class... Arguments>
  pool(pool_options settings, Result (*initializer)(Parameters...), Arguments&&... arguments)
      : core_(detail::start_pool(
            settings.workers, settings.max_tasks_per_worker, settings.start_timeout,
            detail::registered_name_of(initializer), std::move(settings.worker_options),
            initializer_frame(initializer, std::forward<Arguments>(arguments)...))) {}

  /// `pool(settings, initializer, arguments...)` with a registered captureless lambda or
  /// stateless function object as the initializer.
  template <class Object, class... Arguments,
            std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
  pool(pool_options settings, const Object& initializer, Arguments&&... arguments)
      : pool(std::move(settings), detail::function_pointer_of(initializer),
             std::forward<Arguments>(arguments)...) {}

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  /// Shuts down with `shutdown_mode::wait`.
  ~pool() { detail::shutdown(*core_, false); }

  /// Decorates a registered function: each call queues a task and returns a `pool_handle`.
  /// `workers.submit(f).timeout(2s)(args...)` sets a timeout for that task.
  template <class Result, class... Parameters>
  detail::pool_decorator<Result, Parameters...> submit(Result (*function)(Parameters...)) const {
    return {core_, detail::registered_name_of(function)};
  }

  /// `submit` of a registered captureless lambda or stateless function object.
  template <class Object, std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
  auto submit(const Object& object) const {
    return submit(detail::function_pointer_of(object));
  }

  /// Runs `function` on every item of `inputs` (any range, read once) and returns the
  /// results in input order. Waits for every item; if some failed, throws the error of the
  /// first failed one.
  template <class Result, class Parameter, class Range>
  std::vector<Result> map(Result (*function)(Parameter), Range&& inputs,
                          const map_options& settings = {}) const {
    static_assert(!std::is_void_v<Result>, "mpdecor: map needs a function that returns a value");
    const auto call = submit(function);
    return ordered_results<Result>(
        call.name(), std::forward<Range>(inputs),
        [&call](auto&& item) { return call.request(item); }, settings);
  }

  /// `map` of a registered captureless lambda or stateless function object.
  template <class Object, class Range,
            std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
  auto map(const Object& object, Range&& inputs, const map_options& settings = {}) const {
    return map(detail::function_pointer_of(object), std::forward<Range>(inputs), settings);
  }

  /// Runs `function` on every item of `inputs`, and calls `on_result(index, handle)` on this
  /// thread as each item finishes, in the order they finish; `handle.get()` gives that
  /// item's result or throws its error. Returns once every item has finished.
  template <class Result, class Parameter, class Range, class Callback>
  void map_as_completed(Result (*function)(Parameter), Range&& inputs, Callback&& on_result,
                        const map_options& settings = {}) const {
    const auto call = submit(function);
    run_map<Result>(
        call.name(), std::forward<Range>(inputs),
        [&call](auto&& item) { return call.request(item); }, settings, false, on_result);
  }

  /// `map_as_completed` of a registered captureless lambda or stateless function object.
  template <class Object, class Range, class Callback,
            std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
  void map_as_completed(const Object& object, Range&& inputs, Callback&& on_result,
                        const map_options& settings = {}) const {
    map_as_completed(detail::function_pointer_of(object), std::forward<Range>(inputs),
                     std::forward<Callback>(on_result), settings);
  }

  /// `map` for a function of several parameters: each item of `inputs` is a tuple (or
  /// pair, or array) of its arguments, as Python's `Pool.starmap`.
  template <class Result, class... Parameters, class Range>
  std::vector<Result> starmap(Result (*function)(Parameters...), Range&& inputs,
                              const map_options& settings = {}) const {
    static_assert(!std::is_void_v<Result>,
                  "mpdecor: starmap needs a function that returns a value");
    const auto call = submit(function);
    return ordered_results<Result>(
        call.name(), std::forward<Range>(inputs),
        [&call](auto&& item) {
          return std::apply(
              [&call](auto&&... arguments) {
                return call.request(std::forward<decltype(arguments)>(arguments)...);
              },
              item);
        },
        settings);
  }

  /// `starmap` of a registered captureless lambda or stateless function object.
  template <class Object, class Range,
            std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
  auto starmap(const Object& object, Range&& inputs, const map_options& settings = {}) const {
    return starmap(detail::function_pointer_of(object), std::forward<Range>(inputs), settings);
  }

  /// Stops taking tasks and waits until the workers have exited. `wait` runs the queued
  /// tasks first; `cancel` fails them with `cancelled`. Later submits throw `usage_error`.
  void shutdown(shutdown_mode mode = shutdown_mode::wait) {
    detail::shutdown(*core_, mode == shutdown_mode::cancel);
  }

  /// Tasks waiting for a worker.
  std::size_t queued() const { return detail::queued_count(*core_); }
  /// Tasks handed to a worker and not finished yet.
  std::size_t running() const { return detail::running_count(*core_); }
  /// Tasks that ran to an end in a worker (a result or an error; cancelled ones do not count).
  std::size_t completed() const { return detail::completed_count(*core_); }
  /// The number of workers the pool keeps.
  std::size_t size() const { return detail::worker_count(*core_); }
  /// Pids of the workers alive now.
  std::vector<pid_type> worker_pids() const { return detail::worker_pids(*core_); }

private:
  template <class Result, class... Parameters, class... Arguments>
  static std::string initializer_frame(Result (*initializer)(Parameters...),
                                       Arguments&&... arguments) {
    static_assert(detail::check_signature<Result, Parameters...>());
    static_assert(std::is_invocable_v<Result (*)(Parameters...), Arguments&&...>,
                  "mpdecor: these arguments do not match the initializer's parameters "
                  "(a direct call with them would not compile either)");
    return detail::encode_call<Parameters...>(detail::registered_name_of(initializer),
                                              detail::signature_id<Result, Parameters...>(),
                                              std::forward<Arguments>(arguments)...);
  }

  // Runs a map, reading `inputs` as it goes (see map_options::in_flight), and hands each
  // item's handle to `on_result(index, handle)` on this thread: in input order when
  // `ordered`, else as each finishes. Enforces the map's timeout. Every task submitted has
  // finished when it returns or throws.
  template <class Result, class Range, class Request, class Callback>
  void run_map(const std::string& function, Range&& inputs, Request&& request_of,
               const map_options& settings, bool ordered, Callback&& on_result) const {
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (settings.timeout)
      deadline = detail::deadline_after(*settings.timeout);
    const std::optional<std::size_t> length = detail::length_of(inputs);
    using std::begin;
    using std::end;
    auto next_item = begin(inputs);
    const auto last_item = end(inputs);
    detail::chunk_sizer sizer(settings.chunk, settings.in_flight, detail::worker_count(*core_),
                              length);
    detail::task_window window;
    std::size_t finished = 0;
    std::vector<detail::pool_request> requests;
    // Encodes and submits a block of whole chunks once the window has room for one (or for
    // half the window, when that is smaller): one lock of the pool and one wake-up of its
    // thread per block, and no chunk cut short by a window that is nearly full.
    const auto submit_more = [&] {
      while (next_item != last_item) {
        const std::size_t chunk = sizer.next_chunk(finished);
        const std::size_t limit = sizer.limit();
        const std::size_t room = limit > window.span() ? limit - window.span() : 0;
        if (room == 0 || room < std::min(sizer.block(), std::max<std::size_t>(1, limit / 2)))
          break;
        const std::size_t block = std::min(sizer.block(), room);
        for (; next_item != last_item && requests.size() < block; ++next_item) {
          requests.push_back(request_of(*next_item));
          requests.back().chunk = chunk;
          sizer.encoded(requests.back().frame.size());
        }
        for (auto& state : detail::submit_all(*core_, std::move(requests)))
          window.add(std::move(state));
        requests.clear();
      }
    };
    const auto total = [&] { return length ? *length : window.added(); };
    submit_more();
    while (finished < window.added()) {
      const auto index = window.next(deadline);
      if (!index) {
        const std::size_t left = total() - finished;
        window.kill_all();
        throw timeout_error("mpdecor: a map of '" + function + "' did not finish within " +
                                std::to_string(settings.timeout->count()) + " ms; " +
                                std::to_string(left) + " of its " +
                                (length ? std::to_string(*length) + " items were"
                                        : std::to_string(total()) + " items read were") +
                                " cancelled or killed",
                            function, *settings.timeout);
      }
      ++finished;
      if (!ordered) {
        on_result(*index, pool_handle<Result>(window.at(*index)));
        window.release(*index);
      }
      while (ordered && window.front_reported()) {
        const std::size_t front = window.front();
        on_result(front, pool_handle<Result>(window.at(front)));
        window.release(front);
      }
      if (settings.progress)
        settings.progress(finished, total());
      submit_more();
    }
  }

  // A map's results in input order; once every item has finished, throws the error of the
  // first failed one, if any.
  template <class Result, class Range, class Request>
  std::vector<Result> ordered_results(const std::string& function, Range&& inputs,
                                      Request&& request_of, const map_options& settings) const {
    std::vector<Result> results;
    if (const auto length = detail::length_of(inputs))
      results.reserve(*length);
    std::exception_ptr first_error;
    run_map<Result>(function, std::forward<Range>(inputs), std::forward<Request>(request_of),
                    settings, true, [&](std::size_t, const pool_handle<Result>& task) {
                      if (first_error)
                        return;
                      if (auto error = task.exception()) {
                        first_error = std::move(error);
                        results = std::vector<Result>();
                        return;
                      }
                      results.push_back(task.get());
                    });
    if (first_error)
      std::rethrow_exception(first_error);
    return results;
  }

  std::shared_ptr<detail::pool_core> core_;
};

} // namespace mpdecor

#endif
