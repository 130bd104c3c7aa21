// SPDX-License-Identifier: BSL-1.0
// mpdecor: the Slurm start method. Each child is a job step: `srun --unbuffered ... <own
// executable> --mp-child NAME --mp-channel 0,1`, whose standard input and output srun
// forwards byte for byte to the task's (unbuffered). The call's channel is, by default, a
// direct TCP connection the step makes back to this program (slurm_channel::direct): srun's
// forwarding moves data in 1 KiB pieces and is far slower than the network. Each step gets
// a listener of its own on this node's address; the step sends its launch key first, and
// only a connection that holds it becomes the channel. A step that cannot connect says so
// on srun's standard output, which is then the channel, as it is with
// slurm_channel::standard_streams. Either way the child moves its standard streams off the
// channel at once and sends the function's prints to standard error (lib/channel_posix.cpp).
// srun's standard error (the task's, and srun's own messages) is read here: it is passed
// on to this program's standard error, and srun's own error lines go into the error of a
// call that fails.
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "channel.hpp"
#include "launch.hpp"
#include "launch_key.hpp"
#include "log.hpp"
#include "os.hpp"
#include "protocol.hpp"
#include "spawn_posix.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/wait.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <unistd.h>

namespace mpdecor::detail {
namespace {

// Stops a timer's wait. Boost 1.81's cancel() reports a failure by throwing, and Boost 1.88
// has no overload taking an error_code; cancelling a timer does not fail in practice.
void cancel_timer(boost::asio::steady_timer& timer) noexcept {
  try {
    timer.cancel();
  } catch (const std::exception&) {
  }
}

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

using boost::asio::ip::tcp;

// This node's own address for the steps' connections: its host name resolved, a
// non-loopback address first (IPv4, then IPv6), loopback where that is all there is. Empty,
// with `problem` set, when the name does not resolve. Computed once.
std::optional<boost::asio::ip::address> own_node_address(std::string& problem) {
  struct found {
    std::optional<boost::asio::ip::address> address;
    std::string problem;
  };
  // Never destroyed: the at-exit wait may still launch queued steps.
  static const found* const the = [] {
    auto* result = new found;
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0) {
      result->problem = std::string("gethostname: ") + std::strerror(errno);
      return result;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (const int failed = ::getaddrinfo(name.data(), nullptr, &hints, &list); failed != 0) {
      result->problem =
          std::string("resolving the host name '") + name.data() + "': " + ::gai_strerror(failed);
      return result;
    }
    std::optional<boost::asio::ip::address> v4, v6, loopback;
    for (const addrinfo* entry = list; entry != nullptr; entry = entry->ai_next) {
      boost::asio::ip::address address;
      if (entry->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ai_addr);
        address = boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
      } else if (entry->ai_family == AF_INET6) {
        const auto* in = reinterpret_cast<const sockaddr_in6*>(entry->ai_addr);
        boost::asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), in->sin6_addr.s6_addr, bytes.size());
        address = boost::asio::ip::address_v6(bytes, in->sin6_scope_id);
      } else {
        continue;
      }
      auto& slot = address.is_loopback() ? loopback : address.is_v4() ? v4 : v6;
      if (!slot)
        slot = address;
    }
    ::freeaddrinfo(list);
    result->address = v4 ? v4 : v6 ? v6 : loopback;
    if (!result->address)
      result->problem = std::string("the host name '") + name.data() + "' has no IP address";
    return result;
  }();
  problem = the->problem;
  return the->address;
}

// The program's end of one step's direct channel while the step starts: a listener of the
// step's own and srun's standard output. The first connection that sends the step's
// launch key becomes the call's channel; stdio_fallback_marker on srun's standard output
// (the step could not connect), or that output's end (srun ended), makes srun's streams the
// channel instead. Other connections are closed: a wrong key, garbage, or nothing within
// the handshake's time. Until then nothing is written to the channel (child_process::
// channel_ready). Handlers hold the link itself, so it outlives its srun_step safely.
class direct_link : public std::enable_shared_from_this<direct_link> {
public:
  // `output`: where what the task printed on its standard output before connecting goes.
  direct_link(boost::asio::io_context& io, std::string key, channel_ends& channel,
              std::function<void(std::string_view)> output)
      : io_(io), acceptor_(io), stdio_(io), retry_(io), key_(std::move(key)), channel_(&channel),
        output_(std::move(output)) {}

  // Listens on `address`, on a port the system chooses; the address for the step
  // ("HOST:PORT", "[V6]:PORT"), or nothing with `error` set.
  std::optional<std::string> listen(const boost::asio::ip::address& address,
                                    boost::system::error_code& error) {
    const tcp::endpoint where(address, 0);
    acceptor_.open(where.protocol(), error);
    if (!error)
      acceptor_.bind(where, error);
    if (!error)
      acceptor_.listen(boost::asio::socket_base::max_listen_connections, error);
    tcp::endpoint bound;
    if (!error)
      bound = acceptor_.local_endpoint(error);
    if (error)
      return std::nullopt;
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(bound.port());
  }

  // srun's standard output (and input), the channel if the step falls back.
  void start(boost::asio::local::stream_protocol::socket stdio) {
    stdio_ = std::move(stdio);
    accept_next();
    read_stdio();
  }

  void when_ready(std::function<void()> ready) {
    if (decided_)
      return ready();
    ready_ = std::move(ready);
  }

  // srun has ended: the channel is srun's streams (they read nothing more), if it is
  // nothing yet. Its reading is cancelled first, so that nothing else reads them.
  void srun_ended() {
    if (decided_)
      return;
    boost::system::error_code ignored;
    stdio_.cancel(ignored);
    use_stdio();
  }

  // The step is gone (abandoned before it started, or done): nothing more happens here.
  void cancel() noexcept {
    decided_ = true;
    ready_ = nullptr;
    channel_ = nullptr;
    close_listening();
    boost::system::error_code ignored;
    stdio_.close(ignored);
  }

private:
  struct handshake {
    explicit handshake(boost::asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    boost::asio::steady_timer timer;
    std::array<char, launch_key_size * 2> key{};
  };
  // Connections that may be checking their key at once; more are closed at once, so that
  // a flood costs nothing but the refusals.
  static constexpr std::size_t most_handshakes = 16;
  // How long a connection has to send the key.
  static constexpr auto handshake_time = std::chrono::seconds(5);

  void accept_next() {
    auto next = std::make_shared<handshake>(io_);
    acceptor_.async_accept(
        next->socket, [self = shared_from_this(), next](boost::system::error_code ec) {
          if (self->decided_ || ec == boost::asio::error::operation_aborted)
            return;
          if (ec) {
            // Out of descriptors, typically: try again shortly rather than spin.
            self->retry_.expires_after(std::chrono::milliseconds(50));
            self->retry_.async_wait([self](boost::system::error_code timer_error) {
              if (!timer_error && !self->decided_)
                self->accept_next();
            });
            return;
          }
          if (self->handshakes_.size() < most_handshakes)
            self->check(next);
          else
            next->socket.close(ec);
          self->accept_next();
        });
  }

  void check(const std::shared_ptr<handshake>& candidate) {
    handshakes_.insert(candidate);
    candidate->timer.expires_after(handshake_time);
    candidate->timer.async_wait([candidate](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        candidate->socket.close(ignored); // ends the read below
      }
    });
    boost::asio::async_read(
        candidate->socket, boost::asio::buffer(candidate->key),
        [self = shared_from_this(), candidate](boost::system::error_code ec, std::size_t) {
          self->handshakes_.erase(candidate);
          boost::system::error_code ignored;
          cancel_timer(candidate->timer);
          if (self->decided_)
            return;
          if (ec || !keys_match(std::string_view(candidate->key.data(), candidate->key.size()),
                                self->key_)) {
            candidate->socket.close(ignored);
            return;
          }
          self->use_connection(candidate->socket);
        });
  }

  void use_connection(tcp::socket& socket) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    const int fd = ec ? -1 : socket.release(ec);
    if (ec || fd < 0) {
      socket.close(ec);
      return; // the step sees its channel close, and fails with what it says
    }
    channel_->stream.assign(boost::asio::local::stream_protocol(), fd, ec);
    if (ec)
      ::close(fd);
    // srun's standard output still carries what the task prints there before its call
    // (a static constructor): it is read on, and passed on, until srun ends.
    decide();
  }

  void use_stdio() {
    channel_->stream = std::move(stdio_);
    decide();
  }

  void decide() {
    decided_ = true;
    close_listening();
    if (auto ready = std::move(ready_)) {
      ready_ = nullptr;
      ready();
    }
  }

  void close_listening() noexcept {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    cancel_timer(retry_);
    for (const auto& candidate : handshakes_) {
      candidate->socket.close(ignored);
      cancel_timer(candidate->timer);
    }
    handshakes_.clear();
  }

  // Reads srun's standard output up to the end of stdio_fallback_marker and never past
  // it: each read asks for no more than what would complete a marker begun at the end of
  // what was read. What comes before the marker is the task's output.
  void read_stdio() {
    const std::string_view marker = stdio_fallback_marker;
    std::size_t begun = std::min(pending_.size(), marker.size() - 1);
    while (begun > 0 && pending_.compare(pending_.size() - begun, begun, marker, 0, begun) != 0)
      --begun;
    stdio_.async_read_some(
        boost::asio::buffer(buffer_.data(), marker.size() - begun),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t got) {
          if (ec == boost::asio::error::operation_aborted || !self->channel_)
            return;
          self->pending_.append(self->buffer_.data(), got);
          const std::string_view wanted = stdio_fallback_marker;
          const bool fell_back = !self->decided_ && self->pending_.size() >= wanted.size() &&
                                 self->pending_.compare(self->pending_.size() - wanted.size(),
                                                        wanted.size(), wanted) == 0;
          if (fell_back)
            self->pending_.resize(self->pending_.size() - wanted.size());
          // Whole lines are passed on as they come; the rest when the stream ends or turns.
          if (ec || fell_back || self->pending_.size() > 4096 ||
              (!self->pending_.empty() && self->pending_.back() == '\n' &&
               self->pending_.size() >= wanted.size())) {
            if (!self->pending_.empty())
              self->output_(self->pending_);
            self->pending_.clear();
          }
          // The end of srun's output decides nothing: a step that connected closes its
          // standard streams at once, maybe before its key has been read. srun's own end
          // (srun_ended) makes srun's streams the channel of a step that never connected.
          if (ec)
            return;
          if (fell_back)
            return self->use_stdio();
          self->read_stdio();
        });
  }

  boost::asio::io_context& io_;
  tcp::acceptor acceptor_;
  boost::asio::local::stream_protocol::socket stdio_;
  boost::asio::steady_timer retry_;
  std::string key_;
  channel_ends* channel_;
  std::function<void(std::string_view)> output_;
  std::function<void()> ready_;
  std::set<std::shared_ptr<handshake>> handshakes_;
  std::array<char, 16> buffer_{};
  std::string pending_;
  bool decided_ = false;
};

class srun_step final : public child_process {
public:
  // `forward_to`: where the step's output goes, -1 for this program's standard error.
  // `link`: the step's direct channel while it connects; none for srun's streams.
  srun_step(boost::asio::io_context& io, pid_t pid, int pidfd, int errors,
            std::shared_ptr<os::unique_fd> forward_to, std::shared_ptr<direct_link> link)
      : process_(io.get_executor(), pid, pidfd), pid_(pid), errors_(io), timer_(io),
        forward_to_(std::move(forward_to)), link_(std::move(link)) {
    errors_.assign(errors);
  }

  ~srun_step() override {
    if (link_)
      link_->cancel();
  }

  pid_type id() const noexcept override { return pid_; }

  bool channel_ready() const noexcept override { return !link_; }

  void async_channel_ready(std::function<void()> ready) override {
    if (link_)
      link_->when_ready(std::move(ready));
    else
      ready();
  }

  void async_wait(std::function<void(exit_status)> ended) override {
    ended_ = std::move(ended);
    read_errors();
    process_.async_wait([this](boost::system::error_code, int) {
      status_ = process_.native_exit_code();
      process_.detach();
      reaped_ = true;
      if (link_)
        link_->srun_ended(); // a step that never connected has srun's streams, now ended
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
        write_output(*forward_to_, line_);
      line_.clear();
    }
  }

public:
  // Writes what the step printed where the call's output goes (`forward_to`, or this
  // program's standard error).
  static void write_output(const os::unique_fd& forward_to, std::string_view text) noexcept {
    try {
      write_all(forward_to.get() != -1 ? forward_to.get() : STDERR_FILENO, text);
    } catch (const std::exception&) {
      // Closed or full: srun's own lines are still in the call's error.
    }
  }

private:
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
  std::shared_ptr<os::unique_fd> forward_to_; // shared with the direct link
  std::shared_ptr<direct_link> link_;
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
  // The step's standard output and error both reach this program through srun's standard
  // error (its standard output is the channel, or leads to it): they go where the call's
  // standard error goes, or its standard output where that one is inherited.
  int target = launch.output.child_stream(STDERR_FILENO);
  if (target == no_output_handle)
    target = launch.output.child_stream(STDOUT_FILENO);
  auto forward_to = std::make_shared<os::unique_fd>(
      target == no_output_handle ? -1 : ::fcntl(target, F_DUPFD_CLOEXEC, 3));
  // srun is not told to die with this thread: it ends when its channel closes, and ends the
  // step with it.
  std::vector<std::string> environment = child_environment(launch.settings, launch.key, false);
  std::shared_ptr<direct_link> link;
  if (slurm.channel == slurm_channel::direct) {
    std::string problem;
    std::optional<boost::asio::ip::address> address;
    if (!slurm.listen_address.empty()) {
      boost::system::error_code ec;
      address = boost::asio::ip::make_address(slurm.listen_address, ec);
      if (ec) {
        launch.channel.close();
        failed.error = std::make_error_code(std::errc::invalid_argument);
        failed.what = "the Slurm listen address '" + slurm.listen_address +
                      "' is not an IPv4 or IPv6 address";
        return nullptr;
      }
    } else {
      address = own_node_address(problem);
    }
    if (address) {
      link = std::make_shared<direct_link>(
          launch.io, launch.key, launch.channel,
          [forward_to](std::string_view text) { srun_step::write_output(*forward_to, text); });
      boost::system::error_code ec;
      if (const auto connect_to = link->listen(*address, ec)) {
        environment.push_back(std::string(connect_variable) + "=" + *connect_to);
      } else {
        problem = "listening on " + address->to_string() + ": " + ec.message();
        link.reset();
      }
    }
    if (!link)
      log(log_level::warning, "mpdecor: no direct channel for the Slurm step of '" +
                                  launch.function + "' (" + problem +
                                  "); its call travels through srun's standard streams");
  }
  spawn_request request{slurm.srun_program,
                        srun_arguments(launch.function, slurm, launch.mode),
                        std::move(environment),
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
  const int pidfd = os::pidfd_open(pid);
  if (pidfd >= 0) {
    try {
      auto step = std::make_unique<srun_step>(launch.io, pid, pidfd, read_end.get(),
                                              std::move(forward_to), link);
      read_end.release(); // the step's now
      if (link) // srun's streams wait as the fallback; the channel is made once it connects
        link->start(std::move(launch.channel.stream));
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
