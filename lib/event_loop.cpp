// SPDX-License-Identifier: BSL-1.0
// mpdecor: the event-loop threads (lib/event_loop.hpp).
#include "event_loop.hpp"
#include "log.hpp"

#include <cstdio>
#include <exception>

namespace mpdecor::detail {

event_loop::event_loop() : thread_([this] { run_event_loop(io_); }) {}

event_loop::~event_loop() { stop(); }

void event_loop::stop() noexcept {
  if (!thread_.joinable())
    return;
  if (forked()) {
    // The thread object is a copy of the original's: it reads as running, and destroying it
    // would end the program. It is moved out of the way, never destroyed.
    new std::thread(std::move(thread_));
    return;
  }
  work_.reset();
  io_.stop();
  if (on_loop_thread())
    thread_.detach();
  else
    thread_.join();
}

void run_event_loop(boost::asio::io_context& io) noexcept {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      log(log_level::error,
          std::string("internal error on an event loop, please report it: ") + e.what());
    } catch (...) {
      log(log_level::error, "internal error on an event loop, please report it");
    }
  }
}

std::string forked_message(const std::string& what) {
  return "mpdecor: " + what +
         " in a process forked without exec from the one that used "
         "mpdecor first (pid " +
         std::to_string(process_v2::current_pid()) +
         "): mpdecor's "
         "threads do not survive a fork. Make calls from the original process, or exec "
         "after fork";
}

} // namespace mpdecor::detail
