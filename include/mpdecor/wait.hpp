// SPDX-License-Identifier: BSL-1.0
// mpdecor: waiting on a set of calls, as Python's concurrent.futures.wait and as_completed.
//
//     std::vector<mpdecor::handle<double>> calls = ...;
//     for (std::size_t i : mpdecor::as_completed(calls))       // indices, as calls finish
//       use(i, calls[i].get());
//     std::size_t first = mpdecor::wait_any(calls);             // FIRST_COMPLETED
//     bool all = mpdecor::wait_all_for(calls, 10s);             // ALL_COMPLETED, bounded
//     std::size_t which = mpdecor::wait_any(call, task);        // handles of any result types
//     mpdecor::wait_with_progress(calls, [](const mpdecor::progress& p) { draw(p); }, 100ms);
//
// A set is a range of handles (a vector, an array...) or, for handles of different result
// types, the handles themselves as arguments; fresh-process calls and pool tasks mix
// freely. Results are given as indices into the set, so nothing is copied and the handles
// stay where they are. An empty set, or a default-constructed handle in it, is a
// `usage_error`. Nothing here ever throws a call's error: `get()` or `exception()` does.
#ifndef MPDECOR_WAIT_HPP
#define MPDECOR_WAIT_HPP

#include <mpdecor/errors.hpp>
#include <mpdecor/handle.hpp>
#include <mpdecor/options.hpp>

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace mpdecor {
namespace detail {

template <class T, class = void>
struct is_handle_range : std::false_type {};
template <class T>
struct is_handle_range<T, std::void_t<decltype(std::begin(std::declval<const T&>())->state())>>
    : std::true_type {};

inline const std::shared_ptr<task_state>& checked_state(const std::shared_ptr<task_state>& state) {
  if (!state)
    throw usage_error("mpdecor: a default-constructed handle cannot be waited for");
  return state;
}

template <class Range>
std::vector<std::shared_ptr<task_state>> states_of(const Range& handles) {
  std::vector<std::shared_ptr<task_state>> states;
  for (const auto& h : handles)
    states.push_back(checked_state(h.state()));
  if (states.empty())
    throw usage_error("mpdecor: waiting for an empty set of handles");
  return states;
}

template <class... Results>
std::vector<std::shared_ptr<task_state>> states_of_each(const handle<Results>&... handles) {
  std::vector<std::shared_ptr<task_state>> states{checked_state(handles.state())...};
  if (states.empty())
    throw usage_error("mpdecor: waiting for an empty set of handles");
  return states;
}

template <class Clock, class Duration>
std::chrono::steady_clock::time_point steady_deadline(std::chrono::time_point<Clock, Duration> at) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>)
    return std::chrono::time_point_cast<std::chrono::steady_clock::duration>(at);
  else
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(at - Clock::now());
}

inline bool wait_all_until(const std::vector<std::shared_ptr<task_state>>& states,
                           std::chrono::steady_clock::time_point deadline) {
  for (const auto& state : states) {
    const auto now = std::chrono::steady_clock::now();
    if (!wait_for(*state, deadline > now ? deadline - now : std::chrono::nanoseconds(0)))
      return false;
  }
  return true;
}

} // namespace detail

/// How far a set of calls has come, for a progress display (`wait_with_progress`).
struct progress {
  std::size_t done = 0;                          ///< calls finished, however they ended
  std::size_t failed = 0;                        ///< of those, the ones that ended with an error
  std::size_t total = 0;                         ///< calls in the set
  std::chrono::steady_clock::duration elapsed{}; ///< since the wait began

  /// `done / total`, 1 for an empty set.
  double fraction() const noexcept {
    return total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  }
  /// Calls finished per second so far; 0 until one has.
  double rate() const noexcept {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    return done == 0 || seconds <= 0 ? 0.0 : static_cast<double>(done) / seconds;
  }
  /// The time left at the rate so far; nullopt until a call has finished.
  std::optional<std::chrono::steady_clock::duration> remaining() const {
    if (done == 0)
      return std::nullopt;
    const double seconds_left = std::chrono::duration<double>(elapsed).count() *
                                static_cast<double>(total - done) / static_cast<double>(done);
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds_left));
  }
};

/// The indices of a set of handles in the order the calls finish: an input range to use in
/// a range-for, and `next()` / `next_for(timeout)` to take them one at a time. Each index
/// comes once; one whose call had already finished comes first, at once. Movable, not
/// copyable; dropping it early leaves the calls running.
class completion_order {
public:
  /// Watches `handles` (a range of handles).
  template <class Range, std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
  explicit completion_order(const Range& handles)
      : queue_(std::make_unique<detail::completion_queue>(detail::states_of(handles))) {}
  /// Watches the handles given, of any result types.
  template <class... Results>
  explicit completion_order(const handle<Results>&... handles)
      : queue_(std::make_unique<detail::completion_queue>(detail::states_of_each(handles...))) {}

  /// The index of the next call to finish, waiting as long as it takes; nullopt once every
  /// index has been given.
  std::optional<std::size_t> next() { return queue_->next(); }
  /// As `next()`, waiting at most `timeout`; nullopt also when it runs out.
  template <class Rep, class Period>
  std::optional<std::size_t> next_for(std::chrono::duration<Rep, Period> timeout) {
    return queue_->next(detail::deadline_after(timeout));
  }
  /// How many handles are watched.
  std::size_t size() const noexcept { return queue_->size(); }

  /// Input iterator over the indices; incrementing it waits for the next call to finish.
  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::size_t*;
    using reference = const std::size_t&;

    iterator() = default;
    reference operator*() const { return *current_; }
    iterator& operator++() {
      current_ = order_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) {
      return a.current_.has_value() == b.current_.has_value();
    }
    friend bool operator!=(const iterator& a, const iterator& b) { return !(a == b); }

  private:
    friend class completion_order;
    explicit iterator(completion_order* order) : order_(order), current_(order->next()) {}
    completion_order* order_ = nullptr;
    std::optional<std::size_t> current_;
  };

  /// Waits for the first call to finish.
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

private:
  std::unique_ptr<detail::completion_queue> queue_;
};

/// The indices of `handles` in the order their calls finish; see `completion_order`.
template <class Range, std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
completion_order as_completed(const Range& handles) {
  return completion_order(handles);
}
/// `as_completed` over handles of any result types, given one by one.
template <class... Results>
completion_order as_completed(const handle<Results>&... handles) {
  return completion_order(handles...);
}

/// Waits until one of `handles` has finished and returns its index (the first to finish;
/// a call already finished counts at once).
template <class Range, std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
std::size_t wait_any(const Range& handles) {
  return *detail::completion_queue(detail::states_of(handles)).next();
}
/// `wait_any` over handles of any result types, given one by one.
template <class... Results>
std::size_t wait_any(const handle<Results>&... handles) {
  return *detail::completion_queue(detail::states_of_each(handles...)).next();
}

/// `wait_any`, waiting at most `timeout`: nullopt if no call had finished by then.
template <class Range, class Rep, class Period,
          std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
std::optional<std::size_t> wait_any_for(const Range& handles,
                                        std::chrono::duration<Rep, Period> timeout) {
  return detail::completion_queue(detail::states_of(handles)).next(detail::deadline_after(timeout));
}

/// Waits until every call of `handles` has finished, however each ended.
template <class Range, std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
void wait_all(const Range& handles) {
  for (const auto& state : detail::states_of(handles))
    detail::wait(*state);
}
/// `wait_all` over handles of any result types, given one by one.
template <class Result, class... Results>
void wait_all(const handle<Result>& first, const handle<Results>&... rest) {
  for (const auto& state : detail::states_of_each(first, rest...))
    detail::wait(*state);
}

/// `wait_all`, waiting at most `timeout`: true when every call has finished.
template <class Range, class Rep, class Period,
          std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
bool wait_all_for(const Range& handles, std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_all_until(detail::states_of(handles), detail::deadline_after(timeout));
}

/// `wait_all`, waiting at most until `deadline`: true when every call has finished.
template <class Range, class Clock, class Duration,
          std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
bool wait_all_until(const Range& handles, std::chrono::time_point<Clock, Duration> deadline) {
  return detail::wait_all_until(detail::states_of(handles), detail::steady_deadline(deadline));
}

/// Waits for every call of `handles`, calling `report(progress)` on this thread: once at
/// the start, each time a call finishes, and, with an `interval`, at least that often
/// while nothing finishes (so that elapsed time and the estimate move on), but never more
/// often than that unless the last call has just finished. Returns the final progress.
template <class Range, class Report,
          std::enable_if_t<detail::is_handle_range<Range>::value, int> = 0>
progress wait_with_progress(const Range& handles, Report&& report,
                            std::chrono::milliseconds interval = std::chrono::milliseconds(0)) {
  auto states = detail::states_of(handles);
  const auto started = std::chrono::steady_clock::now();
  progress now;
  now.total = states.size();
  detail::completion_queue finished(states);
  report(static_cast<const progress&>(now));
  auto last_report = started;
  while (now.done < now.total) {
    std::optional<std::chrono::steady_clock::time_point> wake;
    if (interval.count() > 0)
      wake = last_report + interval;
    const auto index = finished.next(wake);
    const auto at = std::chrono::steady_clock::now();
    if (index) {
      ++now.done;
      if (detail::error_of(*states[*index]))
        ++now.failed;
    }
    now.elapsed = at - started;
    if (now.done == now.total || interval.count() == 0 || at - last_report >= interval) {
      report(static_cast<const progress&>(now));
      last_report = at;
    }
  }
  return now;
}

} // namespace mpdecor

#endif
