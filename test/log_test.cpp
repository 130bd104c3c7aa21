// SPDX-License-Identifier: BSL-1.0
// set_log_handler and set_log_level: mpdecor's own messages go to the program's handler.
#include "functions.hpp"

#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

// Collects the messages while it lives, then puts stderr and the default level back.
struct collected_log {
  std::mutex mutex;
  std::vector<std::pair<mpdecor::log_level, std::string>> messages;

  collected_log() {
    mpdecor::set_log_handler([this](mpdecor::log_level level, std::string_view message) {
      std::lock_guard lock(mutex);
      messages.emplace_back(level, std::string(message));
    });
  }
  ~collected_log() {
    mpdecor::set_log_handler(nullptr);
    mpdecor::set_log_level(mpdecor::log_level::warning);
  }
  bool has(mpdecor::log_level level, const std::string& part) {
    std::lock_guard lock(mutex);
    for (const auto& [at, text] : messages)
      if (at == level && text.find(part) != std::string::npos)
        return true;
    return false;
  }
  std::size_t below(mpdecor::log_level level) {
    std::lock_guard lock(mutex);
    std::size_t count = 0;
    for (const auto& message : messages)
      count += message.first < level ? 1 : 0;
    return count;
  }
};

// Finishes a call whose completion callback throws; returns once the callback has run.
void run_a_throwing_callback() {
  std::promise<void> ran;
  auto call = mpdecor::proc(add)(1, 1);
  call.on_finished([](const auto&) { throw std::runtime_error("callback failed"); });
  call.on_finished([&](const auto&) { ran.set_value(); });
  BOOST_REQUIRE(ran.get_future().wait_for(60s) == std::future_status::ready);
}

} // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(the_log_handler_receives_what_mpdecor_reports_instead_of_stderr) {
  collected_log log;
  run_a_throwing_callback();
  BOOST_TEST(log.has(mpdecor::log_level::warning,
                     "a completion callback of 'fixtures::add' threw std::runtime_error: "
                     "callback failed; it was ignored"));
  BOOST_TEST(log.below(mpdecor::log_level::warning) == 0U); // the default level drops them
}

BOOST_AUTO_TEST_CASE(the_debug_level_reports_each_childs_start_and_end) {
  collected_log log;
  mpdecor::set_log_level(mpdecor::log_level::debug);
  auto call = mpdecor::proc(add)(2, 3);
  const auto pid = call.pid();
  BOOST_TEST(call.get() == 5);
  BOOST_TEST(static_cast<bool>(mpdecor::proc(refuse)("no").exception()));
  BOOST_TEST(log.has(mpdecor::log_level::debug,
                     "'fixtures::add' started in child pid " + std::to_string(pid)));
  BOOST_TEST(log.has(mpdecor::log_level::debug,
                     "'fixtures::add' (pid " + std::to_string(pid) + ") returned its result"));
  BOOST_TEST(log.has(mpdecor::log_level::debug, "'refuse'"));
  BOOST_TEST(log.has(mpdecor::log_level::debug, "failed: mpdecor:"));
}

BOOST_AUTO_TEST_CASE(a_level_above_a_message_drops_it) {
  collected_log log;
  mpdecor::set_log_level(mpdecor::log_level::error);
  run_a_throwing_callback();
  BOOST_TEST(!log.has(mpdecor::log_level::warning, "threw"));
}

BOOST_AUTO_TEST_CASE(a_log_handler_that_throws_is_ignored) {
  mpdecor::set_log_handler([](mpdecor::log_level, std::string_view) { throw 1; });
  run_a_throwing_callback();
  mpdecor::set_log_handler(nullptr);
  BOOST_TEST(mpdecor::proc_wait(add)(1, 2) == 3);
}

BOOST_AUTO_TEST_SUITE_END()
