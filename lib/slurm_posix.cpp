// SPDX-License-Identifier: BSL-1.0
// mpdecor: the Slurm start method. Each child is a job step: `srun --unbuffered ... <own
// executable> --mp-child NAME --mp-channel 0,1`. The channel is srun's standard input and
// output, which srun forwards byte for byte to the task's (unbuffered), so nothing but
// srun is needed between the nodes; the child moves its channel off its standard streams
// at once and sends the function's prints to standard error (lib/channel_posix.cpp).
// srun's standard error (the task's, and srun's own messages) is read here: it is passed
// on to this program's standard error, and srun's own error lines go into the error of a
// call that fails.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "channel.hpp"
#include "launch.hpp"
#include "os.hpp"
#include "spawn_posix.hpp"

#include <sys/wait.h>

#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <string_view>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// The hosts of a Slurm host list ("n[1-3],gpu7"), expanded by `scontrol show hostnames`
// (Slurm's own parser: the syntax has ranges, padding and nesting). Computed once per list;
// empty if scontrol cannot say.
std::vector<std::string> expand_host_list(const std::string& list) {
  struct cache {
    std::mutex mutex;
    std::map<std::string, std::vector<std::string>> known;
  };
  // Never destroyed: the at-exit wait may still launch queued steps.
  static cache* const the = new cache;
  std::lock_guard lock(the->mutex);
  auto& known = the->known;
  const auto found = known.find(list);
  if (found != known.end())
    return found->second;
  std::vector<std::string> hosts;
  bool safe = !list.empty();
  for (char c : list) // the list goes through a shell: accept host-list characters only
    safe = safe && (std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                    std::string_view("-_.,[]").find(c) != std::string_view::npos);
  if (safe) {
    const std::string command = "scontrol show hostnames '" + list + "' 2>/dev/null";
    if (FILE* output = ::popen(command.c_str(), "r")) {
      std::array<char, 512> line{};
      while (std::fgets(line.data(), static_cast<int>(line.size()), output) != nullptr) {
        std::string host(line.data());
        while (!host.empty() && (host.back() == '\n' || host.back() == '\r'))
          host.pop_back();
        if (!host.empty())
          hosts.push_back(host);
      }
      if (::pclose(output) != 0)
        hosts.clear();
    }
  }
  known[list] = hosts;
  return hosts;
}

bool chooses_nodes(const std::vector<std::string>& srun_options) {
  for (const auto& option : srun_options)
    for (const char* prefix : {"-w", "--nodelist", "-x", "--exclude", "-r", "--relative"})
      if (option.rfind(prefix, 0) == 0)
        return true;
  return false;
}

std::atomic<std::size_t> next_node{0};

std::vector<std::string> srun_arguments(const std::string& function, const slurm_options& slurm,
                                        launch_mode mode) {
  std::vector<std::string> arguments{slurm.srun_program, "--unbuffered", "--quiet",
                                     // The launch key travels in the environment, whatever
                                     // SLURM_EXPORT_ENV an sbatch left for srun.
                                     "--export=ALL", "--job-name=mpdecor:" + function, "--nodes=1",
                                     "--ntasks=1"};
  const bool in_allocation = !variable("SLURM_JOB_ID").empty();
  if (in_allocation) {
    slurm_steps steps = slurm.steps;
    if (steps == slurm_steps::automatic)
      // A call takes CPUs of its own and waits for them; a pool's workers live as long as
      // the pool, and the user sized it: they share.
      steps = mode == launch_mode::worker ? slurm_steps::overlap : slurm_steps::exact;
    arguments.push_back(steps == slurm_steps::overlap ? "--overlap" : "--exact");
    // Steps with CPUs of their own (--exact) are spread over the nodes by Slurm itself.
    // Steps that share CPUs (--overlap) would all go to the first node: they go round the
    // allocation's nodes instead, so that a pool's workers spread over all of them.
    if (steps == slurm_steps::overlap && !chooses_nodes(slurm.srun_options)) {
      std::string list = variable("SLURM_JOB_NODELIST");
      if (list.empty())
        list = variable("SLURM_NODELIST");
      const auto hosts = expand_host_list(list);
      if (!hosts.empty())
        arguments.push_back("--nodelist=" + hosts[next_node++ % hosts.size()]);
    }
  }
  for (const auto& option : slurm.srun_options)
    arguments.push_back(option);
  // The channel is srun's standard input and output.
  arguments.push_back(own_executable().string());
  for (auto& argument : child_arguments(mode_argument(mode), function, "0,1"))
    arguments.push_back(std::move(argument));
  return arguments;
}

class srun_step final : public child_process {
public:
  // `forward_to`: where the step's output goes, -1 for this program's standard error.
  srun_step(boost::asio::io_context& io, pid_t pid, int pidfd, int errors, os::unique_fd forward_to)
      : process_(io.get_executor(), pid, pidfd), pid_(pid), errors_(io), timer_(io),
        forward_to_(std::move(forward_to)) {
    errors_.assign(errors);
  }

  pid_type id() const noexcept override { return pid_; }

  void async_wait(std::function<void(exit_status)> ended) override {
    ended_ = std::move(ended);
    read_errors();
    process_.async_wait([this](boost::system::error_code, int) {
      status_ = process_.native_exit_code();
      process_.detach();
      reaped_ = true;
      // What srun wrote is in the pipe already; something the task left running may still
      // hold the pipe open: give it a moment.
      timer_.expires_after(std::chrono::seconds(2));
      timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          boost::system::error_code ignored;
          errors_.close(ignored);
        }
      });
      conclude();
    });
  }

  // srun passes SIGTERM on to the task and then ends the step (and the job it created)
  // cleanly; a SIGKILL would leave the job to Slurm's own time-outs. One that does not end
  // in five seconds is killed.
  // srun passes a SIGTERM on to the step's tasks and ends when they do.
  void terminate() noexcept override {
    if (!reaped_ && !killing_)
      ::kill(pid_, SIGTERM);
  }

  void kill() noexcept override {
    if (reaped_ || killing_)
      return;
    killing_ = true;
    ::kill(pid_, SIGTERM);
    try {
      timer_.expires_after(std::chrono::seconds(5));
      timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !reaped_)
          ::kill(pid_, SIGKILL);
      });
    } catch (const std::exception&) {
      ::kill(pid_, SIGKILL); // no grace period without a timer
    }
  }

private:
  void read_errors() {
    errors_.async_read_some(boost::asio::buffer(buffer_),
                            [this](boost::system::error_code ec, std::size_t got) {
                              take(std::string_view(buffer_.data(), got));
                              if (ec) {
                                errors_done_ = true;
                                if (!line_.empty())
                                  take("\n");
                                conclude();
                                return;
                              }
                              read_errors();
                            });
  }

  // Passes the task's own lines and srun's messages on, line by line, and keeps srun's
  // lines ("srun: error: ...") for the call's error message. Once mpdecor itself has ended
  // the step (a timeout, a kill through the handle), the messages about that end are not
  // passed on: the call's error says it already.
  void take(std::string_view text) {
    for (char c : text) {
      line_ += c;
      if (c != '\n' && line_.size() < 4096)
        continue;
      const bool from_slurm = line_.rfind("srun: ", 0) == 0 || line_.rfind("slurmstepd", 0) == 0;
      if (line_.rfind("srun: ", 0) == 0 && notes_.size() < 4000) {
        std::string note = line_;
        while (!note.empty() && (note.back() == '\n' || note.back() == '\r'))
          note.pop_back();
        notes_ += (notes_.empty() ? "" : " | ") + note;
      }
      if (!(killing_ && from_slurm))
        write_error_output(forward_to_.get() != -1 ? forward_to_.get() : STDERR_FILENO, line_);
      line_.clear();
    }
  }

  static void write_error_output(int fd, std::string_view text) noexcept {
    try {
      write_all(fd, text);
    } catch (const std::exception&) {
      // Closed or full: srun's own lines are still in the call's error.
    }
  }

  void conclude() {
    if (!reaped_ || !errors_done_ || !ended_)
      return;
    timer_.cancel();
    exit_status how = decode_exit_status(status_);
    // srun ends with 128+N when the task was killed by signal N.
    if (how.exit_code && *how.exit_code > 128 && *how.exit_code < 128 + 65) {
      how.signal = *how.exit_code - 128;
      how.exit_code.reset();
    }
    how.notes = notes_;
    auto ended = std::move(ended_);
    ended_ = nullptr;
    ended(std::move(how));
  }

  process_v2::process process_;
  pid_t pid_;
  boost::asio::readable_pipe errors_;
  boost::asio::steady_timer timer_;
  std::array<char, 4096> buffer_{};
  std::function<void(exit_status)> ended_;
  process_v2::native_exit_code_type status_{};
  std::string line_;
  std::string notes_;
  os::unique_fd forward_to_;
  bool reaped_ = false;
  bool errors_done_ = false;
  bool killing_ = false;
};

} // namespace

std::unique_ptr<child_process> launch_slurm_step(const launch_request& launch,
                                                 launch_failure& failed) {
  const slurm_options slurm = effective_slurm_options(launch.settings);
  os::unique_fd child_end;
  if (!make_channel(launch.channel, child_end, failed.error, failed.what))
    return nullptr;
  int errors[2];
  if (::pipe2(errors, O_CLOEXEC) != 0) {
    failed.error.assign(errno, std::system_category());
    failed.what = "creating a pipe for srun's messages";
    launch.channel.close();
    return nullptr;
  }
  os::unique_fd read_end(errors[0]);  // ours
  os::unique_fd write_end(errors[1]); // srun's standard error
  spawn_request request{slurm.srun_program,
                        srun_arguments(launch.function, slurm, launch.mode),
                        // srun is not told to die with this thread: it ends when its
                        // channel closes, and ends the step with it.
                        child_environment(launch.settings, launch.key, false),
                        {{child_end.get(), STDIN_FILENO},
                         {child_end.get(), STDOUT_FILENO},
                         {write_end.get(), STDERR_FILENO}},
                        launch.settings.working_directory};
  // No output marks from a step's worker: its output reaches the spool through srun, some
  // time after the worker wrote it, so a worker's task takes what has arrived by its result.
  request.search_path = true;
  request.contained = false; // srun signals its steps itself, and is watched by Boost.Process
  const pid_t pid = spawn(request, failed.error);
  // srun has its own copies of both.
  child_end.reset();
  write_end.reset();
  if (pid <= 0) {
    launch.channel.close();
    failed.what = "starting " + slurm.srun_program + " (the slurm start method)";
    return nullptr;
  }
  // The step's standard output and error both reach this program through srun's standard
  // error (its standard output is the channel): they go where the call's standard error
  // goes, or its standard output where that one is inherited.
  int target = launch.output.child_stream(STDERR_FILENO);
  if (target == no_output_handle)
    target = launch.output.child_stream(STDOUT_FILENO);
  os::unique_fd forward_to(target == no_output_handle ? -1 : ::fcntl(target, F_DUPFD_CLOEXEC, 3));
  const int pidfd = os::pidfd_open(pid);
  if (pidfd >= 0) {
    try {
      auto step =
          std::make_unique<srun_step>(launch.io, pid, pidfd, read_end.get(), std::move(forward_to));
      read_end.release(); // the step's now
      return step;
    } catch (const std::system_error& e) {
      failed.error = e.code();
    }
  } else {
    failed.error.assign(errno, std::system_category());
  }
  // Not watched, so not kept: srun ends the step when it dies.
  ::kill(pid, SIGKILL);
  os::waitpid(pid, nullptr, 0);
  launch.channel.close();
  failed.what = "watching srun (pid " + std::to_string(pid) + ")";
  return nullptr;
}

} // namespace mpdecor::detail

#endif
