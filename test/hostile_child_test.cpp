// SPDX-License-Identifier: BSL-1.0
// A hostile child: one that writes on its channel whatever it likes instead of a reply.
// The parent never crashes, hangs or blames itself: each case ends in the documented error
// (docs/reliability.md), and the next call works.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using namespace fixtures;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs the hostile call `how` through a one-call child and through a pool's worker, and
// checks that each fails with `Error` whose message holds `message`, and that a plain call
// works afterwards.
template <class Error>
void refused(int how, const std::string& message) {
  BOOST_TEST_CONTEXT("hostile reply " << how) {
    const auto started = std::chrono::steady_clock::now();
    BOOST_CHECK_EXCEPTION(mpdecor::proc_wait(send_hostile_reply).timeout(30s)(how, 0), Error,
                          [&](const Error& e) { return contains(e.what(), message); });
    mpdecor::pool_options settings;
    settings.workers = 1;
    settings.worker_options.timeout = 30s;
    mpdecor::pool workers(settings);
    BOOST_CHECK_EXCEPTION(workers.submit(send_hostile_reply)(how, 0).get(), Error,
                          [&](const Error& e) { return contains(e.what(), message); });
    // A hang detector only: each case ends as soon as the child does.
    BOOST_TEST((std::chrono::steady_clock::now() - started < 20s));
    BOOST_TEST(mpdecor::proc_wait(add)(1, 2) == 3);
    BOOST_TEST(workers.submit(add)(2, 3).get() == 5);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(hostile_child)

BOOST_AUTO_TEST_CASE(deep_nesting_is_protocol_error_naming_the_limit) {
  refused<mpdecor::protocol_error>(0, std::to_string(mpdecor::detail::max_nesting_depth) +
                                          " levels deep");
}

BOOST_AUTO_TEST_CASE(a_length_past_the_end_is_protocol_error) {
  refused<mpdecor::protocol_error>(1, "elements but has only");
}

BOOST_AUTO_TEST_CASE(an_unknown_kind_is_protocol_error) {
  refused<mpdecor::protocol_error>(2, "unknown message kind 99");
}

BOOST_AUTO_TEST_CASE(a_result_followed_by_garbage_is_the_result) {
  // One reply per call: what follows it is never read as a reply.
  BOOST_TEST(tree_depth(mpdecor::proc_wait(send_hostile_reply)(3, 0)) == 1);
  BOOST_TEST(mpdecor::proc_wait(add)(1, 2) == 3);
}

BOOST_AUTO_TEST_CASE(a_reply_that_ends_early_is_child_crashed_with_what_came) {
  refused<mpdecor::child_crashed>(4, "the result ended after 8 of 1000000 bytes");
}

BOOST_AUTO_TEST_CASE(a_child_that_sends_nothing_is_stopped_by_the_timeout) {
  const auto started = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(mpdecor::proc_wait(send_hostile_reply).timeout(300ms)(5, 60),
                    mpdecor::timeout_error);
  mpdecor::pool_options settings;
  settings.workers = 1;
  mpdecor::pool workers(settings);
  BOOST_CHECK_THROW(workers.submit(send_hostile_reply).timeout(300ms)(5, 60).get(),
                    mpdecor::timeout_error);
  // A hang detector only: both end after 300 ms.
  BOOST_TEST((std::chrono::steady_clock::now() - started < 30s));
  // And without a timeout, a child that sends nothing and exits is child_crashed.
  BOOST_CHECK_THROW(mpdecor::proc_wait(send_hostile_reply)(5, 0), mpdecor::child_crashed);
}

BOOST_AUTO_TEST_SUITE_END()
