// SPDX-License-Identifier: BSL-1.0
// mpdecor: the system-call seam (lib/os.hpp): injected failures and the calls themselves.
#include "os.hpp"

#include <array>
#include <atomic>
#include <thread>

namespace mpdecor::detail::os {
namespace {

struct injection {
  std::atomic<int> error{0};
  std::atomic<unsigned> times{0};
};

// Trivially destructible and constant-initialized: usable at any point of start-up or exit.
std::array<injection, static_cast<unsigned>(operation::count)> injections;

} // namespace

void inject_failure(operation call, int error, unsigned times) noexcept {
  auto& slot = injections[static_cast<unsigned>(call)];
  slot.error = error;
  slot.times = times;
}

int injected_failure(operation call) noexcept {
  auto& slot = injections[static_cast<unsigned>(call)];
  // One relaxed load in the common case, where nothing is injected.
  unsigned left = slot.times.load(std::memory_order_relaxed);
  while (left != 0)
    if (slot.times.compare_exchange_weak(left, left - 1))
      return slot.error.load();
  return 0;
}

std::error_code start_thread(std::function<void()> body) noexcept {
  if (const int error = injected_failure(operation::start_thread))
    return {error, std::generic_category()};
  try {
    std::thread(std::move(body)).detach();
    return {};
  } catch (const std::system_error& e) {
    return e.code();
  } catch (const std::exception&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

} // namespace mpdecor::detail::os
