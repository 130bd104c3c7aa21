// SPDX-License-Identifier: BSL-1.0
// mpdecor: the library's messages (include/mpdecor/log.hpp).
#include "log.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace mpdecor {
namespace detail {
namespace {

// Never destroyed: a message can come from an mpdecor thread while the program exits.
struct log_settings {
  std::mutex mutex;
  std::shared_ptr<const log_handler> handler;
  std::atomic<int> minimum{static_cast<int>(log_level::warning)};
};

log_settings& settings() {
  static log_settings* const the = new log_settings;
  return *the;
}

} // namespace

bool logs(log_level level) noexcept {
  return static_cast<int>(level) >= settings().minimum.load(std::memory_order_relaxed);
}

void log(log_level level, const std::string& message) noexcept {
  if (!logs(level))
    return;
  std::shared_ptr<const log_handler> handler;
  {
    std::lock_guard lock(settings().mutex);
    handler = settings().handler;
  }
  if (handler) {
    try {
      (*handler)(level, message);
    } catch (...) {
      // Dropped, as documented: a message about a failure must not cause another.
    }
    return;
  }
  std::fprintf(stderr, "mpdecor: %s\n", message.c_str());
}

} // namespace detail

void set_log_handler(log_handler handler) {
  auto shared = handler ? std::make_shared<const log_handler>(std::move(handler)) : nullptr;
  std::lock_guard lock(detail::settings().mutex);
  detail::settings().handler = std::move(shared);
}

void set_log_level(log_level minimum) {
  detail::settings().minimum.store(static_cast<int>(minimum), std::memory_order_relaxed);
}

} // namespace mpdecor
