// SPDX-License-Identifier: BSL-1.0
// mpdecor: starting a process on POSIX systems (lib/spawn_posix.hpp).
#include "config.hpp"

#if defined(MPDECOR_POSIX)

#include "os.hpp"
#include "spawn_posix.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spawn.h>

namespace mpdecor::detail {
namespace {

// The program to execute: `request.program`, or where PATH finds it (posix_spawnp's
// search, done here so that one posix_spawn serves both).
std::string program_to_run(const spawn_request& request, std::error_code& error) {
  if (!request.search_path || request.program.find('/') != std::string::npos)
    return request.program;
  const char* path = std::getenv("PATH");
  std::string_view folders = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto end = folders.find(':');
    std::string folder(folders.substr(0, end));
    std::string candidate = (folder.empty() ? "." : folder) + "/" + request.program;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (end == std::string_view::npos)
      break;
    folders.remove_prefix(end + 1);
  }
  error = std::make_error_code(std::errc::no_such_file_or_directory);
  return {};
}

// posix_spawn, not Boost.Process v2's launcher: glibc starts the child with a vfork-like
// clone that shares the parent's memory until exec, so a launch costs the same whatever
// the parent's size (a fork copies the page tables: measured 0.95 ms for a small parent,
// 40 ms with 1 GB touched, 140 ms with 4 GB). Only posix_spawn's own actions run in the
// child before exec; whatever else the child needs (dying with its parent, a memory
// limit) it does itself, told by its environment (lib/channel_posix.cpp).
pid_t start_process(const spawn_request& request, const std::string& program,
                    const std::vector<std::pair<int, int>>& moves, int last,
                    std::error_code& error) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  int status = 0;
  for (const auto& [spare, theirs] : moves)
    if (status == 0)
      status = ::posix_spawn_file_actions_adddup2(&actions, spare, theirs);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  // Descriptors that the program opened without close-on-exec stay out of the child.
  if (status == 0)
    status = ::posix_spawn_file_actions_addclosefrom_np(&actions, last + 1);
#else
  (void)last;
#endif
  if (status == 0 && !request.directory.empty())
    status = ::posix_spawn_file_actions_addchdir_np(&actions, request.directory.c_str());
  // The child starts with no signal blocked, whatever the launching thread blocks.
  sigset_t none;
  sigemptyset(&none);
  if (status == 0)
    status = ::posix_spawnattr_setsigmask(&attributes, &none);
  short flags = POSIX_SPAWN_SETSIGMASK;
  if (request.contained) {
    // The call's whole process tree is one process group that the parent ends at once.
    flags |= POSIX_SPAWN_SETPGROUP;
    if (status == 0)
      status = ::posix_spawnattr_setpgroup(&attributes, 0);
  }
  if (status == 0)
    status = ::posix_spawnattr_setflags(&attributes, flags);

  std::vector<char*> argv;
  for (const auto& argument : request.arguments)
    argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& entry : request.environment)
    envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (status == 0)
    status = ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  if (status != 0) {
    error.assign(status, std::system_category());
    return -1;
  }
  return pid;
}

} // namespace

pid_t spawn(const spawn_request& request, std::error_code& error) {
  if (const int injected = os::injected_failure(os::operation::spawn)) {
    error.assign(injected, std::system_category());
    return -1;
  }
  const std::string program = program_to_run(request, error);
  if (error)
    return -1;
  // Every descriptor handed on is first moved above the numbers it goes to, so that one
  // dup2 cannot overwrite the source of the next.
  std::vector<int> spares;
  std::vector<std::pair<int, int>> moves;
  auto release = [&spares] {
    for (int fd : spares)
      ::close(fd);
  };
  int last = 2;
  for (const auto& [ours, theirs] : request.descriptors) {
    const int spare = ::fcntl(ours, F_DUPFD_CLOEXEC, 16);
    if (spare == -1) {
      error.assign(errno, std::system_category());
      release();
      return -1;
    }
    spares.push_back(spare);
    moves.emplace_back(spare, theirs);
    last = std::max(last, theirs);
  }
  const pid_t pid = start_process(request, program, moves, last, error);
  release();
  return pid;
}

} // namespace mpdecor::detail

#endif
