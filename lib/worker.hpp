// SPDX-License-Identifier: BSL-1.0
// mpdecor: a pool's worker, the child side (lib/worker.cpp).
#ifndef MPDECOR_LIB_WORKER_HPP
#define MPDECOR_LIB_WORKER_HPP

#include "channel.hpp"

#include <string>

namespace mpdecor::detail {

/// Serves calls on the channel of `--mp-worker LABEL --mp-channel IN,OUT` until the parent
/// closes it, then exits; never returns.
[[noreturn]] void run_worker(int argc, char** argv);

/// The part of run_worker after its arguments: checks the hello against `key`, then serves.
[[noreturn]] void serve_worker(child_channel channel, const std::string& key);

/// The part of a one-call child after its arguments (lib/child.cpp): checks the hello
/// against `key`, serves the call to `name`, sends the reply and exits.
[[noreturn]] void serve_child(child_channel channel, const std::string& name,
                              const std::string& key);

/// The fork server (lib/fork_server_main_posix.cpp): `--mp-fork-server - --mp-channel
/// IN,OUT`. Forks one child per request on its channel until the channel closes; never
/// returns. Defined only where `fork_server_supported`.
[[noreturn]] void run_fork_server(int argc, char** argv);

} // namespace mpdecor::detail

#endif
