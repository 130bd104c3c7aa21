// SPDX-License-Identifier: BSL-1.0
// mpdecor: the interface between the header-only pool templates and the compiled pool
// (lib/pool.cpp). A task's state lives in the library; pool handles hold a shared pointer.
#ifndef MPDECOR_DETAIL_POOL_CALL_HPP
#define MPDECOR_DETAIL_POOL_CALL_HPP

#include <mpdecor/export.hpp>
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
class segment;    // a shared-memory segment, lib/shared_memory.hpp

/// Everything a pool needs to run one task.
struct pool_request {
  std::string function;                             ///< registered name
  std::string frame;                                ///< the complete call frame
  std::optional<std::chrono::milliseconds> timeout; ///< none: the pool's default
  std::size_t chunk = 1; ///< tasks handed to one worker at once (see map_options::chunk)
  /// The blocks the frame left to shared memory (its header says so); null for none.
  std::shared_ptr<const segment> shared = nullptr;
};

/// The size from which this pool's tasks leave vectors and strings to shared memory, as
/// calls with the pool's options do (`sharing_threshold(const options&)`); 0: never; none
/// when its workers cannot receive descriptors at all.
MPDECOR_DECL std::optional<std::size_t> sharing_threshold(const pool_core& pool) noexcept;

/// Starts the workers of a pool; see `mpdecor::pool_options`. `initializer_frame` is the
/// initializer's encoded call; empty: a call of `initializer` without arguments.
MPDECOR_DECL std::shared_ptr<pool_core>
start_pool(std::size_t workers, std::size_t max_tasks_per_worker,
           std::optional<std::chrono::milliseconds> start_timeout, std::string initializer,
           options worker_options, std::string initializer_frame = {});
/// Queues a task. Throws `usage_error` once the pool is shutting down.
MPDECOR_DECL std::shared_ptr<task_state> submit(pool_core& pool, pool_request request);
/// Queues several tasks at once (a map's), in order, taking the pool's lock once.
MPDECOR_DECL std::vector<std::shared_ptr<task_state>>
submit_all(pool_core& pool, std::vector<pool_request> requests);
/// Stops taking tasks, cancels the queued ones if `cancel_queued`, waits for the rest and
/// for every worker to exit. Idempotent.
MPDECOR_DECL void shutdown(pool_core& pool, bool cancel_queued);

MPDECOR_DECL std::size_t queued_count(pool_core& pool);
MPDECOR_DECL std::size_t running_count(pool_core& pool);
MPDECOR_DECL std::size_t completed_count(pool_core& pool);
MPDECOR_DECL std::size_t worker_count(const pool_core& pool);
MPDECOR_DECL std::vector<pid_type> worker_pids(pool_core& pool);

/// How a map cuts its input: the chunk size of each block it submits (fixed, or measured
/// as it runs, see `map_options::chunk`), how many items a block holds, and how many items
/// may be submitted past the oldest one not finished (`map_options::in_flight`).
class MPDECOR_DECL chunk_sizer {
public:
  /// `chunk` 0: automatic; `in_flight` 0: the default; `length`: the input's length when
  /// known.
  chunk_sizer(std::size_t chunk, std::size_t in_flight, std::size_t workers,
              std::optional<std::size_t> length);
  /// The chunk size for the next block, `finished` items having finished so far.
  std::size_t next_chunk(std::size_t finished);
  /// Items in a block at the chunk size last given.
  std::size_t block() const noexcept;
  /// Items that may be submitted past the oldest one not finished.
  std::size_t limit() const noexcept;
  /// One more item was read, its call frame `frame_bytes` long.
  void encoded(std::size_t frame_bytes) noexcept;

private:
  bool automatic_;
  std::size_t wanted_;    // the chunk the measurements ask for
  std::size_t chunk_ = 1; // the chunk last given: wanted_, within the caps
  std::size_t in_flight_;
  std::size_t workers_;
  std::optional<std::size_t> length_;
  std::size_t read_ = 0;
  std::size_t bytes_read_ = 0;
  bool measuring_ = false;
  std::chrono::steady_clock::time_point since_;
  std::size_t finished_since_ = 0;
};

} // namespace mpdecor::detail

#endif
