#include "helpers.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace helpers {

program_result run(const std::string& command) {
  program_result result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  BOOST_REQUIRE_MESSAGE(pipe != nullptr, "could not run " << command);
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
#if defined(_WIN32)
  result.exit_code = status;
#else
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
#endif
  return result;
}

std::string program(const std::string& name) {
  return (std::filesystem::path(MPDECOR_TEST_PROGRAM_DIR) / ("mpdecor_" + name)).string();
}

std::string self() { return std::filesystem::canonical("/proc/self/exe").string(); }

namespace {

struct process_info {
  long pid = 0;
  char state = '?';
  long parent = 0;
};

// /proc/<pid>/stat: "pid (command) state ppid ..."; the command may hold spaces and
// parentheses, so parse from the last ')'.
bool read_stat(const std::filesystem::path& directory, process_info& info) {
  std::ifstream file(directory / "stat");
  std::string text;
  if (!std::getline(file, text))
    return false;
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream rest(text.substr(close + 1));
  info.pid = std::stol(text.substr(0, text.find(' ')));
  rest >> info.state >> info.parent;
  return static_cast<bool>(rest);
}

std::vector<process_info> my_children() {
  std::vector<process_info> result;
  const long me = ::getpid();
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    process_info info;
    if (read_stat(entry.path(), info) && info.parent == me)
      result.push_back(info);
  }
  return result;
}

} // namespace

std::vector<long> children() {
  std::vector<long> pids;
  for (const auto& child : my_children())
    pids.push_back(child.pid);
  return pids;
}

std::vector<long> zombie_children() {
  std::vector<long> pids;
  for (const auto& child : my_children())
    if (child.state == 'Z')
      pids.push_back(child.pid);
  return pids;
}

int open_descriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

bool process_exists(long pid) {
  return std::filesystem::exists("/proc/" + std::to_string(pid));
}

} // namespace helpers
