// mpdecor: a pool's worker, the child side (lib/worker.cpp).
#ifndef MPDECOR_LIB_WORKER_HPP
#define MPDECOR_LIB_WORKER_HPP

namespace mpdecor::detail {

/// Serves calls on the channel of `--mp-worker LABEL --mp-channel IN,OUT` until the parent
/// closes it, then exits; never returns.
[[noreturn]] void run_worker(int argc, char** argv);

} // namespace mpdecor::detail

#endif
