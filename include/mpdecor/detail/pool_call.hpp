// SPDX-License-Identifier: BSL-1.0
// mpdecor: the interface between the header-only pool templates and the compiled pool
// (lib/pool.cpp). A task's state lives in the library; pool handles hold a shared pointer.
#ifndef MPDECOR_DETAIL_POOL_CALL_HPP
#define MPDECOR_DETAIL_POOL_CALL_HPP

#include <mpdecor/detail/task.hpp>
#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpdecor::detail {

struct pool_core; // defined in lib/pool_core.hpp

/// Everything a pool needs to run one task.
struct pool_request {
  std::string function;                           ///< registered name
  std::string frame;                              ///< the complete call frame
  std::optional<std::chrono::milliseconds> timeout; ///< none: the pool's default
  std::size_t chunk = 1; ///< tasks handed to one worker at once (see map_options::chunk)
};

/// Starts the workers of a pool; see `mpdecor::pool_options`. `initializer_frame` is the
/// initializer's encoded call; empty: a call of `initializer` without arguments.
std::shared_ptr<pool_core> start_pool(std::size_t workers, std::size_t max_tasks_per_worker,
                                      std::string initializer, options worker_options,
                                      std::string initializer_frame = {});
/// Queues a task. Throws `usage_error` once the pool is shutting down.
std::shared_ptr<task_state> submit(pool_core& pool, pool_request request);
/// Queues several tasks at once (a map's), in order, taking the pool's lock once.
std::vector<std::shared_ptr<task_state>> submit_all(pool_core& pool,
                                                     std::vector<pool_request> requests);
/// Stops taking tasks, cancels the queued ones if `cancel_queued`, waits for the rest and
/// for every worker to exit. Idempotent.
void shutdown(pool_core& pool, bool cancel_queued);

std::size_t queued_count(pool_core& pool);
std::size_t running_count(pool_core& pool);
std::size_t completed_count(pool_core& pool);
std::size_t worker_count(const pool_core& pool);
std::vector<pid_type> worker_pids(pool_core& pool);

} // namespace mpdecor::detail

#endif
