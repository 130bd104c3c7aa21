// SPDX-License-Identifier: BSL-1.0
// mpdecor: the stack at each throw, in a child that records traces (lib/stack_trace.hpp).
//
// The C++ runtime keeps nothing of where an exception was thrown once the stack has
// unwound to a catch, and Boost 1.81's Stacktrace has no hook for it (later Boosts do
// the same as this file in a library of their own). This program's __cxa_throw runs before
// the runtime's, since the program comes first in the dynamic linker's search order: it
// records the return addresses, unless recording is off, and passes the throw on to the
// runtime's own __cxa_throw, found with dlsym(RTLD_NEXT). This file includes no header
// that declares __cxa_throw (<cxxabi.h>), and its type's parameter is a plain pointer, as
// in the declaration GCC makes itself for a throw expression.
#include <cstddef>

#if defined(__linux__) && defined(__GLIBC__)

#include "stack_trace.hpp"

#include <boost/stacktrace/safe_dump_to.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <dlfcn.h>

namespace mpdecor::detail {
namespace {

std::atomic<bool> recording{false};

using throw_function = void (*)(void*, void*, void (*)(void*));

throw_function runtime_throw() noexcept {
  static const auto next = reinterpret_cast<throw_function>(::dlsym(RTLD_NEXT, "__cxa_throw"));
  return next;
}

} // namespace

void record_throws() noexcept { recording.store(true); }

} // namespace mpdecor::detail

// Default visibility, whatever the library's: the dynamic linker must find this definition
// ahead of the runtime's for throws from shared libraries (libstdc++'s own included).
extern "C" [[noreturn]] __attribute__((visibility("default"))) void
// NOLINTNEXTLINE(bugprone-reserved-identifier): replacing the runtime's is the point.
__cxa_throw(void* thrown, void* type, void (*destroy)(void*)) {
  using namespace mpdecor::detail;
  if (recording.load(std::memory_order_relaxed)) {
    auto& slot = next_throw_slot();
    slot.thrown = thrown;
    // Skips this function: the first frame is the one that threw.
    slot.count = boost::stacktrace::safe_dump_to(1, slot.frames, sizeof slot.frames);
    while (slot.count > 0 && slot.frames[slot.count - 1] == nullptr)
      --slot.count;
  }
  const throw_function next = runtime_throw();
  if (next == nullptr)
    std::abort(); // no C++ runtime behind this one: nothing can throw
  next(thrown, type, destroy);
  __builtin_unreachable();
}

#endif
