// SPDX-License-Identifier: BSL-1.0
// mpdecor: the fork-server start method (Linux): a call's child forked by the fork server
// (lib/fork_server.hpp), as a child_process of the supervisor's or a pool's.
#include "config.hpp"

#if defined(MPDECOR_FORK_SERVER)

#include "fork_server.hpp"
#include "spawn_posix.hpp"

#include <unistd.h>

namespace mpdecor::detail {
namespace {

class forked_child final : public child_process {
public:
  forked_child(std::uint64_t request, boost::asio::any_io_executor executor,
               std::filesystem::path directory)
      : request_(request), executor_(std::move(executor)), directory_(std::move(directory)) {}

  ~forked_child() override {
    if (pid_ <= 0 && !answered_)
      fork_server::instance().abandon(request_);
  }

  void async_started(std::function<void(std::error_code, std::string)> done) override {
    fork_server::instance().when_started(
        request_, executor_,
        [this, alive = std::weak_ptr<int>(alive_), done = std::move(done)](pid_t pid,
                                                                           std::error_code error) {
          if (alive.expired()) { // abandoned after the answer was posted
            if (pid > 0)
              fork_server::instance().discard(pid);
            return;
          }
          answered_ = true;
          if (pid > 0) {
            pid_ = pid;
            return done({}, {});
          }
          std::string what =
              error == std::errc::connection_aborted ? "forking from the fork server (it ended)"
              : directory_.empty()                   ? "forking from the fork server"
                                   : "forking from the fork server into " + directory_.string();
          done(error, std::move(what));
        });
  }

  pid_type id() const noexcept override { return pid_ > 0 ? pid_ : 0; }

  void async_wait(std::function<void(exit_status)> ended) override {
    fork_server::instance().watch(pid_, executor_,
                                  [this, ended = std::move(ended)](exit_status how) {
                                    ended_ = true;
                                    ended(std::move(how));
                                  });
  }

  void kill() noexcept override {
    if (ended_ || pid_ <= 0)
      return;
    try {
      fork_server::instance().kill(pid_);
    } catch (...) {
      // Only memory could fail here; the call's timeout or end reports the rest.
    }
  }

  void terminate() noexcept override {
    if (ended_ || pid_ <= 0)
      return;
    try {
      fork_server::instance().terminate(pid_);
    } catch (...) {
      // As in kill(); the grace period's kill follows anyway.
    }
  }

private:
  std::uint64_t request_;
  pid_t pid_ = 0;
  boost::asio::any_io_executor executor_;
  std::filesystem::path directory_;
  bool ended_ = false;    // on the executor's thread only
  bool answered_ = false; // the server answered the request (executor's thread only)
  std::shared_ptr<int> alive_ = std::make_shared<int>(0); // expires with this object
};

} // namespace

std::unique_ptr<child_process> launch_forked(const launch_request& launch, launch_failure& failed) {
  os::unique_fd child_end;
  if (!make_channel(launch.channel, child_end, failed.error, failed.what))
    return nullptr;
  const std::uint64_t request = fork_server::instance().request_fork(
      launch.function, launch.mode, launch.key, launch.settings, child_end.get(), launch.output,
      failed.error, failed.what);
  child_end.reset(); // the server has its own
  if (request == 0) {
    launch.channel.close();
    return nullptr;
  }
  return std::make_unique<forked_child>(request, launch.io.get_executor(),
                                        launch.settings.working_directory);
}

} // namespace mpdecor::detail

#endif
