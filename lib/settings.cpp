// SPDX-License-Identifier: BSL-1.0
// mpdecor: the program-wide start method and Slurm settings, and reading them from the
// environment, so that a program built once moves to a cluster by a variable.
#include "launch.hpp"
#include "stack_trace.hpp"
#include "state.hpp"

#include <mpdecor/errors.hpp>
#include <mpdecor/options.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>

namespace mpdecor {
namespace detail {
namespace {

struct program_settings {
  std::mutex mutex;
  start_method method = start_method::spawn;
  slurm_options slurm;
};

program_settings& settings() {
  static program_settings* const the = new program_settings; // used until the very end
  return *the;
}

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

} // namespace

void prepare_settings(options& settings, const std::string& function) {
  for (const auto& [name, value] : settings.environment) {
    std::string problem;
    if (name.empty())
      problem = "an empty name";
    else if (name.find('=') != std::string::npos)
      problem = "a name that holds '=' (the name ends at the first '=')";
    else if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos)
      problem = "a NUL character, where the environment ends a string";
    else
      for (const char* own : {launch_key_variable, parent_pid_variable, memory_limit_variable,
                              sharing_threshold_variable, output_marks_variable,
                              stack_traces_variable, connect_variable})
        if (name == own)
          problem = "a name mpdecor sets itself in every child";
    if (!problem.empty()) {
      std::string shown; // the name as it can be printed: a NUL would end the message
      for (const char c : name)
        shown += c == '\0' ? std::string("\\0") : std::string(1, c);
      throw usage_error("mpdecor: the environment variable '" + shown + "' for '" + function +
                        "' has " + problem + "; nothing was started");
    }
  }
  // A file for the child's output is opened when the child starts: a relative path is
  // resolved now, against the directory current at the call.
  for (output_target* target : {&settings.standard_output, &settings.standard_error})
    if (target->what() == output_target::kind::file) {
      if (target->path().empty())
        throw usage_error("mpdecor: the output file for '" + function +
                          "' has an empty path; nothing was started");
      if (target->path().is_relative() && !target->path().has_root_directory()) {
        std::error_code error;
        auto absolute = std::filesystem::absolute(target->path(), error);
        if (!error)
          target->set_path(std::move(absolute));
      }
    }
  // Only a path relative to the current directory depends on where it is resolved. On
  // Windows a path with a root but no drive is relative too, to the current drive, which a
  // child shares with its parent: it stays as the caller wrote it, as its messages show.
  if (!settings.working_directory.empty() && settings.working_directory.is_relative() &&
      !settings.working_directory.has_root_directory()) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(settings.working_directory, error);
    if (!error) // otherwise the launch reports the directory it cannot enter
      settings.working_directory = std::move(absolute);
  }
}

start_method effective_start_method(const options& call) {
  if (call.start)
    return *call.start;
  return default_start_method();
}

slurm_options effective_slurm_options(const options& call) {
  if (call.slurm)
    return *call.slurm;
  return default_slurm_options();
}

void read_settings_from_environment() {
  const std::string method = variable("MPDECOR_START_METHOD");
  if (method == "spawn")
    set_start_method(start_method::spawn);
  else if (method == "fork-server" || method == "fork_server")
    set_start_method(start_method::fork_server);
  else if (method == "slurm")
    set_start_method(start_method::slurm);
  else if (!method.empty())
    throw usage_error("mpdecor: MPDECOR_START_METHOD is '" + method +
                      "'; it must be spawn, fork-server or slurm");

  const std::string steps = variable("MPDECOR_SLURM_STEPS");
  const std::string srun_options = variable("MPDECOR_SRUN_OPTIONS");
  const std::string channel = variable("MPDECOR_SLURM_CHANNEL");
  const std::string address = variable("MPDECOR_SLURM_ADDRESS");
  if (steps.empty() && srun_options.empty() && channel.empty() && address.empty())
    return;
  slurm_options slurm = default_slurm_options();
  if (steps == "automatic")
    slurm.steps = slurm_steps::automatic;
  else if (steps == "overlap")
    slurm.steps = slurm_steps::overlap;
  else if (steps == "exact")
    slurm.steps = slurm_steps::exact;
  else if (!steps.empty())
    throw usage_error("mpdecor: MPDECOR_SLURM_STEPS is '" + steps +
                      "'; it must be automatic, overlap or exact");
  if (channel == "direct")
    slurm.channel = slurm_channel::direct;
  else if (channel == "stdio" || channel == "standard-streams")
    slurm.channel = slurm_channel::standard_streams;
  else if (!channel.empty())
    throw usage_error("mpdecor: MPDECOR_SLURM_CHANNEL is '" + channel +
                      "'; it must be direct or stdio");
  if (!address.empty())
    slurm.listen_address = address;
  std::istringstream words(srun_options);
  for (std::string word; words >> word;)
    slurm.srun_options.push_back(word);
  set_slurm_options(std::move(slurm));
}

} // namespace detail

void set_start_method(start_method method) {
  auto& the = detail::settings();
  std::lock_guard lock(the.mutex);
  the.method = method;
}

start_method default_start_method() {
  auto& the = detail::settings();
  std::lock_guard lock(the.mutex);
  return the.method;
}

void set_slurm_options(slurm_options settings) {
  auto& the = detail::settings();
  std::lock_guard lock(the.mutex);
  the.slurm = std::move(settings);
}

slurm_options default_slurm_options() {
  auto& the = detail::settings();
  std::lock_guard lock(the.mutex);
  return the.slurm;
}

namespace {
std::atomic<bool> record_stack_traces{true};
} // namespace

void set_stack_traces(bool record) { record_stack_traces.store(record); }

bool stack_traces() { return record_stack_traces.load(); }

} // namespace mpdecor
