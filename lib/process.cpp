// SPDX-License-Identifier: BSL-1.0
// mpdecor: this program's executable, and a child that is a Boost.Process v2 process of
// its own.
#include "config.hpp"
#include "launch.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

namespace mpdecor::detail {

const std::filesystem::path& own_executable() {
  // Never destroyed: the at-exit wait still launches queued calls after the program's
  // static destructors have begun to run.
  static const auto* const path = new std::filesystem::path(boost::dll::program_location());
  return *path;
}

namespace {

class own_process final : public child_process {
public:
  explicit own_process(process_v2::process process)
      : process_(std::move(process)), pid_(process_.id()) {}

  pid_type id() const noexcept override { return pid_; }

  void async_wait(std::function<void(exit_status)> ended) override {
    process_.async_wait([this, ended = std::move(ended)](boost::system::error_code, int) {
      const auto status = process_.native_exit_code();
      // Reaped: the process object must not act on the pid any more (its destructor would
      // kill whatever process has the pid by then).
      process_.detach();
      reaped_ = true;
      ended(decode_exit_status(status));
    });
  }

  void kill() noexcept override {
    // Not reaped yet, so the pid cannot have been reused.
    if (!reaped_)
      kill_child(process_);
  }

private:
  process_v2::process process_;
  pid_type pid_;
  bool reaped_ = false;
};

} // namespace

void reserve_for_reply(std::string& buffer, std::uint64_t length) noexcept {
  try {
    buffer.reserve(
        static_cast<std::size_t>(std::min<std::uint64_t>(length, std::uint64_t{1} << 30)));
  } catch (const std::exception&) {
    // The buffer grows as the data arrives instead.
  }
}

std::unique_ptr<child_process> own_child(process_v2::process process) {
  return std::make_unique<own_process>(std::move(process));
}

} // namespace mpdecor::detail
