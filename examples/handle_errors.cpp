// SPDX-License-Identifier: BSL-1.0
// What a failing call looks like from the parent: an exception the function threw, a
// child that crashed or exited, and a call that ran too long. Each arrives as a typed
// error, thrown from proc_wait or from handle::get(); the parent itself never crashes.
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

int parse_positive(std::string text) {
  const int value = std::stoi(text); // throws std::invalid_argument for "abc"
  if (value <= 0)
    throw std::domain_error("expected a positive number, got " + text);
  return value;
}

void crash_hard() { std::abort(); }
void exit_early(int code) { std::exit(code); }

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

MPDECOR_REGISTER(parse_positive);
MPDECOR_REGISTER(crash_hard);
MPDECOR_REGISTER(exit_early);
MPDECOR_REGISTER(sleep_ms);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  int failures_seen = 0;

  for (const char* input : {"abc", "-5"}) {
    try {
      mpdecor::proc_wait(parse_positive)(input);
    } catch (const mpdecor::remote_error& e) {
      // The exception itself stays in the child; its type name and message come back.
      std::printf("remote_error: %s: %s (pid %lld)\n", e.type().c_str(), e.message().c_str(),
                  static_cast<long long>(e.pid()));
      ++failures_seen;
    }
  }

  // Where it was thrown: the child's stack, named by the parent (Linux; empty elsewhere).
  try {
    mpdecor::proc_wait(parse_positive)("-7");
  } catch (const mpdecor::remote_error& e) {
    std::printf("%s\nthrown at:\n%s", e.what(), e.stack_trace().c_str());
    ++failures_seen;
  }

  // A crash kills only the child. Through a handle, the error comes out of get().
  auto crashing = mpdecor::proc(crash_hard)();
  try {
    crashing.get();
  } catch (const mpdecor::child_crashed& e) {
    std::printf("child_crashed: signal %s, exit code %s\n", e.signal_name().c_str(),
                e.exit_code() ? std::to_string(*e.exit_code()).c_str() : "none");
    std::printf("crashed at:\n%s", e.stack_trace().c_str());
    ++failures_seen;
  }

  try {
    mpdecor::proc_wait(exit_early)(3);
  } catch (const mpdecor::child_crashed& e) {
    std::printf("child_crashed: exit code %d, no result sent\n", e.exit_code().value_or(-1));
    ++failures_seen;
  }

  try {
    using namespace std::chrono_literals;
    mpdecor::proc_wait(sleep_ms).timeout(200ms)(10000);
  } catch (const mpdecor::timeout_error& e) {
    std::printf("timeout_error: no result within %lld ms; the child was killed\n",
                static_cast<long long>(e.timeout().count()));
    ++failures_seen;
  }

  // Every mpdecor error derives from mpdecor::error, and what() reads well on its own.
  try {
    mpdecor::proc_wait(parse_positive)("0");
  } catch (const mpdecor::error& e) {
    std::printf("any error: %s\n", e.what());
    ++failures_seen;
  }
  return failures_seen == 7 ? 0 : 1;
}
