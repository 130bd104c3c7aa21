// SPDX-License-Identifier: BSL-1.0
#include "functions.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <fstream>
#include <iostream>
#include <cstdio>
#include <exception>
#include <thread>

#if defined(_WIN32)
#include <process.h>
#include <windows.h>
#include <shellapi.h>
#define MPDECOR_TEST_GETPID _getpid
#else
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#define MPDECOR_TEST_GETPID getpid
#endif

namespace {
// A process started with MPDECOR_TEST_START_DELAY_MS set spends that long in its static
// initialization, as a program whose globals load a large library or a GPU runtime does;
// one started with MPDECOR_TEST_START_EXIT set exits there with that status, as one whose
// globals cannot find what they need does.
[[maybe_unused]] const bool start_delayed = [] {
  if (const char* delay = std::getenv("MPDECOR_TEST_START_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
  if (const char* status = std::getenv("MPDECOR_TEST_START_EXIT"))
    std::_Exit(std::atoi(status));
  return true;
}();
} // namespace

namespace fixtures {

int add(int a, int b) { return a + b; }
std::string shout(const std::string& text) {
  std::string result = text;
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return result + "!";
}
void do_nothing() {}
std::int64_t own_pid() { return MPDECOR_TEST_GETPID(); }
std::int64_t pid_for_item(int) { return own_pid(); }

point move_point(point p, int dx) {
  p.x += dx;
  p.label += " moved";
  return p;
}

matrix transpose(const matrix& m) {
  matrix result(m.columns(), m.rows());
  for (int r = 0; r < m.rows(); ++r)
    for (int c = 0; c < m.columns(); ++c)
      result.at(c, r) = m.at(r, c);
  return result;
}

temperature warmer(temperature t, double by) { return {t.kelvin + by}; }

std::map<std::string, int> count_words(std::vector<std::string> words) {
  std::map<std::string, int> counts;
  for (const auto& word : words)
    ++counts[word];
  return counts;
}

std::optional<int> parse_int(std::string text) {
  try {
    std::size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size())
      return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::variant<int, std::string> classify(std::variant<int, std::string> value) {
  if (std::holds_alternative<int>(value))
    return "int " + std::to_string(std::get<int>(value));
  return static_cast<int>(std::get<std::string>(value).size());
}

std::tuple<int, std::string, double> rotate(std::tuple<std::string, double, int> value) {
  return {std::get<2>(value), std::get<0>(value), std::get<1>(value)};
}

void throw_runtime_error(std::string message) { throw std::runtime_error(message); }
void throw_config_error(std::string message) { throw config_error(message); }
void throw_int(int value) { throw value; }
void raise_segfault() { std::raise(SIGSEGV); }
void call_abort() { std::abort(); }
int exit_with(int code) { std::exit(code); }
int sleep_ms(int milliseconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
  return milliseconds;
}

void call_terminate() { std::terminate(); }

int overflow_stack(int depth) {
  // The buffer is used after the recursive call, so the recursion cannot become a loop.
  volatile char buffer[4096];
  buffer[0] = static_cast<char>(depth);
  if (depth > 100'000'000) // never reached: 4 KiB a frame overflows any stack long before
    return depth;
  const int deeper = overflow_stack(depth + 1);
  return deeper + buffer[0];
}

std::uint64_t allocate_megabytes(std::uint64_t megabytes) {
  std::vector<char> block(megabytes << 20);
  for (std::size_t i = 0; i < block.size(); i += 4096)
    block[i] = 1;
  return block.size() >> 20;
}

void endless_loop() {
  volatile std::uint64_t spins = 0;
  for (;;)
    spins = spins + 1;
}

namespace {
#if defined(_WIN32)
// The child's end of the channel, a handle value, from its own command line
// (--mp-channel IN,OUT).
HANDLE channel_handle() {
  int count = 0;
  LPWSTR* arguments = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  std::wstring found;
  for (int i = 1; arguments != nullptr && i < count; ++i)
    if (std::wstring(arguments[i - 1]) == L"--mp-channel")
      found = arguments[i];
  ::LocalFree(arguments);
  if (found.empty())
    throw std::runtime_error("no --mp-channel argument");
  return reinterpret_cast<HANDLE>(
      static_cast<std::uintptr_t>(std::stoull(found.substr(found.find(L',') + 1))));
}
void close_channel_end() { ::CloseHandle(channel_handle()); }
bool write_to_channel(const std::string& data) {
  DWORD sent = 0;
  return ::WriteFile(channel_handle(), data.data(), static_cast<DWORD>(data.size()), &sent,
                     nullptr) != 0;
}
#else
// The child's end of the channel, from its own command line (--mp-channel IN,OUT).
int channel_descriptor() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::string argument;
  bool next = false;
  while (std::getline(file, argument, '\0')) {
    if (next)
      return std::stoi(argument.substr(argument.find(',') + 1));
    next = argument == "--mp-channel";
  }
  throw std::runtime_error("no --mp-channel argument");
}
void close_channel_end() { ::close(channel_descriptor()); }
bool write_to_channel(const std::string& data) {
  return ::write(channel_descriptor(), data.data(), data.size()) >= 0;
}
#endif
} // namespace

void close_channel() { close_channel_end(); }

namespace {
volatile std::sig_atomic_t got_sigterm = 0;
extern "C" void note_sigterm(int) { got_sigterm = 1; }
} // namespace

int on_sigterm(std::string ready_file, bool ignore) {
  std::signal(SIGTERM, ignore ? SIG_IGN : note_sigterm);
  std::ofstream(ready_file + ".part") << "ready" << std::endl;
  std::filesystem::rename(ready_file + ".part", ready_file);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!got_sigterm && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return got_sigterm ? 1 : 0;
}

int hang_after_result(int value) {
  struct hang_at_exit {
    ~hang_at_exit() { std::this_thread::sleep_for(std::chrono::minutes(1)); }
  };
  static hang_at_exit hang;
  return value;
}

#if !defined(_WIN32)
void exit_leaving_a_scribbler(int delay_ms) {
  if (::fork() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    write_to_channel("this is not an mpdecor message at all");
    ::_exit(0);
  }
  ::_exit(7);
}

namespace {
// Writes `pid` to `file` whole (through a rename), so that a reader never sees half of it.
void publish_pid(const std::string& file, long pid) {
  {
    std::ofstream out(file + ".part");
    out << pid << std::endl;
  }
  std::filesystem::rename(file + ".part", file);
}
} // namespace

long leave_grandchild(std::string pid_file, int then) {
  const pid_t grandchild = ::fork();
  if (grandchild == 0) {
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  publish_pid(pid_file, grandchild);
  if (then == 1)
    std::abort();
  if (then == 2)
    std::this_thread::sleep_for(std::chrono::minutes(1));
  return grandchild;
}

int run_shell(std::string command) { return std::system(command.c_str()); }
#endif

tree send_hostile_reply(int how, int seconds) {
  using namespace mpdecor::detail;
  const auto frame = [](frame_kind kind, const std::string& payload, std::uint64_t length) {
    std::string bytes(frame_header_size, '\0');
    write_frame_header(bytes.data(), kind, length);
    return bytes + payload;
  };
  const auto count = [](std::uint64_t value) {
    return std::string(reinterpret_cast<const char*>(&value), sizeof value);
  };
  std::string bytes;
  switch (how) {
  case 0: { // a tree 100,000 nodes deep, written without recursion
    std::string payload;
    for (int i = 0; i < 100'000; ++i)
      payload += count(1);
    payload += count(0);
    bytes = frame(frame_kind::value, payload, payload.size());
    break;
  }
  case 1: // a vector that claims far more elements than the message holds
    bytes = frame(frame_kind::value, count(std::uint64_t{1} << 40), 8);
    break;
  case 2: { // a kind no version of mpdecor sends
    bytes = frame(frame_kind::value, count(0), 8);
    const std::uint16_t unknown = 99;
    std::memcpy(bytes.data() + 6, &unknown, sizeof unknown);
    break;
  }
  case 3: // a whole result, then garbage
    bytes = frame(frame_kind::value, count(0), 8) + "and then some garbage";
    break;
  case 4: // a header that promises more than ever comes
    bytes = frame(frame_kind::value, count(0), 1'000'000);
    break;
  case 5: // nothing at all, for a long time
    break;
  }
  if (!bytes.empty() && !write_to_channel(bytes))
    throw std::runtime_error("write failed");
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  ::_exit(0); // mpdecor's own reply never goes
}

void scribble_on_channel() {
  const std::string garbage = "this is not an mpdecor message at all";
  if (!write_to_channel(garbage))
    throw std::runtime_error("write failed");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

void die_while_sending() {
  std::string frame(mpdecor::detail::frame_header_size + 10, 'x');
  mpdecor::detail::write_frame_header(frame.data(), mpdecor::detail::frame_kind::value, 1 << 20);
  if (!write_to_channel(frame))
    throw std::runtime_error("write failed");
  ::_exit(0);
}

std::string environment_variable(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "<unset>" : value;
}
std::string working_directory() { return std::filesystem::current_path().string(); }
#if !defined(_WIN32)
std::pair<int, std::uint64_t> file_mask_and_open_file_limit() {
  const mode_t mask = ::umask(0); // the function runs alone in its child: nothing races
  ::umask(mask);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  return {static_cast<int>(mask), static_cast<std::uint64_t>(files.rlim_cur)};
}
#endif
std::string environment_block_of(long pid) {
  // Linux shows the block the process started with, as it is in its memory now.
  std::ifstream block("/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) +
                          "/environ",
                      std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(block), std::istreambuf_iterator<char>());
}

std::uint8_t pattern_at(std::uint64_t index) {
  return static_cast<std::uint8_t>((index * 2654435761U) >> 13);
}

std::pair<std::uint64_t, std::uint64_t> checksum(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < bytes.size(); ++i)
    sum += bytes[i] * (i % 1021 + 1);
  return {bytes.size(), sum};
}

std::vector<std::uint8_t> make_bytes(std::uint64_t size) {
  std::vector<std::uint8_t> bytes(size);
  for (std::uint64_t i = 0; i < size; ++i)
    bytes[i] = pattern_at(i);
  return bytes;
}

std::pair<std::int64_t, std::int64_t> timed_sleep(int milliseconds) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now().time_since_epoch();
  std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
  const auto end = clock::now().time_since_epoch();
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(start).count(),
          std::chrono::duration_cast<std::chrono::nanoseconds>(end).count()};
}

std::vector<std::int64_t> nested_pids(int depth) {
  std::vector<std::int64_t> pids{own_pid()};
  if (depth > 0) {
    const auto deeper = mpdecor::proc_wait(nested_pids)(depth - 1);
    pids.insert(pids.end(), deeper.begin(), deeper.end());
  }
  return pids;
}

int square(int x) { return x * x; }
int square_unless_thirteen(int x) {
  if (x == 13)
    std::raise(SIGSEGV);
  return x * x;
}
namespace {
int initializer_runs = 0;
int tasks_served = 0;
} // namespace
void count_initializer_run() { ++initializer_runs; }
namespace {
std::string model_name;
int model_size = 0;
} // namespace
void load_named_model(std::string name, int size) {
  model_name = std::move(name);
  model_size = size;
}
std::string loaded_model() { return model_name + ":" + std::to_string(model_size); }
void failing_initializer() { throw std::runtime_error("the model could not be loaded"); }
std::pair<std::int64_t, int> initializer_runs_here() { return {own_pid(), initializer_runs}; }
std::pair<std::int64_t, int> tasks_served_here() { return {own_pid(), ++tasks_served}; }

bool maps_shared_segment() {
#if defined(__linux__)
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find("/memfd:mpdecor") != std::string::npos)
      return true;
#endif
  return false;
}

std::tuple<std::uint64_t, double, bool> sum_doubles(std::vector<double> values) {
  double sum = 0;
  for (double value : values)
    sum += value;
  return {values.size(), sum, maps_shared_segment()};
}

std::uint64_t segment_inode(const mpdecor::shared_array<double>& values) {
#if defined(__linux__)
  const auto& storage = values.storage();
  struct stat status {};
  if (storage && storage->fd() != -1 && ::fstat(storage->fd(), &status) == 0)
    return static_cast<std::uint64_t>(status.st_ino);
#else
  (void)values;
#endif
  return 0;
}

mpdecor::shared_array<double> identity_array(mpdecor::shared_array<double> values) {
  return values;
}

mpdecor::shared_array<double> scale_array(mpdecor::shared_array<double> values, double factor) {
  mpdecor::array_writer<double> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = values[i] * factor;
  return std::move(out).share();
}

std::vector<std::pair<std::uint64_t, double>>
inspect_arrays(std::vector<mpdecor::shared_array<double>> arrays) {
  std::vector<std::pair<std::uint64_t, double>> seen;
  for (const auto& array : arrays) {
    double sum = 0;
    for (const double value : array)
      sum += value;
    seen.emplace_back(segment_inode(array), sum);
  }
  return seen;
}

double scribble_on(mpdecor::shared_array<double> values) {
  if (values.empty())
    return 0;
  volatile double* first = const_cast<double*>(values.data());
  *first = -1; // SIGSEGV where the array is a read-only mapping
  return *first;
}

mpdecor::shared_array<double> make_array(std::uint64_t count) {
  mpdecor::array_writer<double> out(count);
  for (std::uint64_t i = 0; i < count; ++i)
    out[i] = static_cast<double>(i);
  return std::move(out).share();
}

std::vector<double> make_doubles(std::uint64_t count) {
  std::vector<double> values(count);
  for (std::uint64_t i = 0; i < count; ++i)
    values[i] = static_cast<double>(i);
  return values;
}

void crash_holding(std::vector<double> values) {
  if (!values.empty())
    raise_segfault();
}

tree deep_tree(int depth) {
  tree root;
  for (int i = 1; i < depth; ++i) {
    tree parent;
    parent.kids.push_back(std::move(root));
    root = std::move(parent);
  }
  return root;
}

int tree_depth(tree root) {
  int depth = 1;
  while (!root.kids.empty()) {
    tree child = std::move(root.kids.front());
    root = std::move(child);
    ++depth;
  }
  return depth;
}

// --- output ---

int print_lines(std::string text, int times) {
  for (int i = 0; i < times; ++i) {
    std::cout << text << " out " << i << '\n';
    std::fprintf(stderr, "%s err %d\n", text.c_str(), i);
  }
  return times;
}

void print_then_throw(std::string text) {
  std::cout << text << " out\n";
  std::cerr << text << " err\n";
  throw std::runtime_error("thrown after printing");
}

void print_then_abort(std::string text) {
  std::cout << text << " out" << std::endl;
  std::cerr << text << " err" << std::endl;
  std::abort();
}

void print_then_sleep(std::string text, int ms) {
  std::cout << text << " out" << std::endl;
  std::cerr << text << " err" << std::endl;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::size_t print_bytes(std::size_t count) {
  std::string text = "BEGIN" + std::string(count > 8 ? count - 8 : 0, '.') + "END";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return text.size();
}

int print_task(int i) {
  std::cout << "task " << i << std::endl;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::cerr << "task " << i << " err" << std::endl;
  return i;
}

// Throws for any depth it is given (a condition the compiler cannot see through, so that
// the callers below stay ordinary calls).
[[gnu::noinline]] int stack_trace_thrower(int depth) {
  if (depth >= 0)
    throw std::runtime_error("thrown by stack_trace_thrower");
  return depth;
}

[[gnu::noinline]] int descend_then_throw(int depth) {
  if (depth <= 0)
    return stack_trace_thrower(depth) + 1;
  return descend_then_throw(depth - 1) + 1; // not a tail call: each level keeps its frame
}

// Not inlined into the registration's invoker: the tests look for its frame.
[[gnu::noinline]] void throw_from_a_named_function(int depth) {
  descend_then_throw(depth);
  std::fflush(nullptr); // not a tail call: its frame stays
}

[[gnu::noinline]] void stack_trace_crasher() { std::abort(); }

// Not inlined into the registration's invoker: the tests look for its frame.
[[gnu::noinline]] void crash_in_a_named_function() {
  stack_trace_crasher();
  std::fflush(nullptr);
}

// A write through a null pointer that the compiler cannot see as one (it would make it a
// trap instruction instead): SIGSEGV, or an access violation on Windows.
volatile std::uintptr_t no_address = 0;
int exit_at_once_with(int code) { std::_Exit(code); }

[[gnu::noinline]] void stack_trace_faulter() { *reinterpret_cast<volatile int*>(no_address) = 1; }

// Not inlined into the registration's invoker: the tests look for its frame.
[[gnu::noinline]] void fault_in_a_named_function() {
  stack_trace_faulter();
  std::fflush(nullptr);
}

// Not inlined into the registration's invoker: the tests look for its frame.
[[gnu::noinline]] int parse_number(std::string text) {
  const int value = std::stoi(text);
  std::fflush(nullptr);
  return value;
}

[[gnu::noinline]] void first_thrower() { throw std::logic_error("caught inside"); }
[[gnu::noinline]] void second_thrower() { throw std::runtime_error("left the function"); }

// Not inlined into the registration's invoker: the tests look for its frame.
[[gnu::noinline]] void throw_after_a_caught_throw() {
  try {
    first_thrower();
  } catch (const std::logic_error&) {
  }
  second_thrower();
}

int connected_tcp_sockets() {
#if defined(__linux__)
  // The inodes of the established TCP connections (state 01), IPv4 and IPv6.
  std::set<std::string> established;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream lines(table);
    std::string line;
    std::getline(lines, line); // the heading
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string field, state, inode;
      for (int i = 0; i < 4 && fields >> field; ++i)
        state = field; // sl, local, remote, st
      for (int i = 4; i < 10 && fields >> field; ++i)
        inode = field; // tx:rx, tr:when, retrnsmt, uid, timeout, inode
      if (state == "01")
        established.insert(inode);
    }
  }
  int count = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (!error && target.rfind("socket:[", 0) == 0 &&
        established.count(target.substr(8, target.size() - 9)) != 0)
      ++count;
  }
  return count;
#else
  return -1;
#endif
}

std::string standard_output_target() {
#if defined(__linux__)
  std::error_code error;
  return std::filesystem::read_symlink("/proc/self/fd/1", error).string();
#else
  return {};
#endif
}

} // namespace fixtures

MPDECOR_REGISTER(fixtures::add);
MPDECOR_REGISTER(fixtures::deep_tree);
MPDECOR_REGISTER(fixtures::environment_block_of);
MPDECOR_REGISTER(fixtures::tree_depth);
MPDECOR_REGISTER(fixtures::shout);
MPDECOR_REGISTER(fixtures::do_nothing);
MPDECOR_REGISTER(fixtures::own_pid);
MPDECOR_REGISTER(fixtures::pid_for_item);
MPDECOR_REGISTER(fixtures::move_point);
MPDECOR_REGISTER(fixtures::transpose);
MPDECOR_REGISTER(fixtures::warmer);
MPDECOR_REGISTER(fixtures::count_words);
MPDECOR_REGISTER(fixtures::parse_int);
MPDECOR_REGISTER(fixtures::classify);
MPDECOR_REGISTER(fixtures::rotate);
MPDECOR_REGISTER(fixtures::throw_runtime_error);
MPDECOR_REGISTER(fixtures::throw_config_error);
MPDECOR_REGISTER(fixtures::throw_int);
MPDECOR_REGISTER(fixtures::raise_segfault);
MPDECOR_REGISTER(fixtures::call_abort);
MPDECOR_REGISTER(fixtures::exit_with);
MPDECOR_REGISTER(fixtures::sleep_ms);
MPDECOR_REGISTER(fixtures::call_terminate);
MPDECOR_REGISTER(fixtures::overflow_stack);
MPDECOR_REGISTER(fixtures::allocate_megabytes);
MPDECOR_REGISTER(fixtures::endless_loop);
MPDECOR_REGISTER(fixtures::close_channel);
MPDECOR_REGISTER(fixtures::hang_after_result);
MPDECOR_REGISTER(fixtures::on_sigterm);
MPDECOR_REGISTER(fixtures::cube);
MPDECOR_REGISTER(fixtures::word_length{});
MPDECOR_REGISTER_AS(fixtures::refuse, "refuse");
#if !defined(_WIN32)
MPDECOR_REGISTER(fixtures::exit_leaving_a_scribbler);
MPDECOR_REGISTER(fixtures::leave_grandchild);
MPDECOR_REGISTER(fixtures::run_shell);
MPDECOR_REGISTER(fixtures::file_mask_and_open_file_limit);
#endif
MPDECOR_REGISTER(fixtures::scribble_on_channel);
MPDECOR_REGISTER(fixtures::send_hostile_reply);
MPDECOR_REGISTER(fixtures::die_while_sending);
MPDECOR_REGISTER(fixtures::environment_variable);
MPDECOR_REGISTER(fixtures::connected_tcp_sockets);
MPDECOR_REGISTER(fixtures::working_directory);
MPDECOR_REGISTER(fixtures::checksum);
MPDECOR_REGISTER(fixtures::make_bytes);
MPDECOR_REGISTER(fixtures::timed_sleep);
MPDECOR_REGISTER(fixtures::nested_pids);
MPDECOR_REGISTER_AS(fixtures::add, "sum_of_two");
MPDECOR_REGISTER(fixtures::square);
MPDECOR_REGISTER(fixtures::square_unless_thirteen);
MPDECOR_REGISTER(fixtures::count_initializer_run);
MPDECOR_REGISTER(fixtures::failing_initializer);
MPDECOR_REGISTER(fixtures::load_named_model);
MPDECOR_REGISTER(fixtures::loaded_model);
MPDECOR_REGISTER(fixtures::initializer_runs_here);
MPDECOR_REGISTER(fixtures::tasks_served_here);
MPDECOR_REGISTER(fixtures::sum_doubles);
MPDECOR_REGISTER(fixtures::make_doubles);
MPDECOR_REGISTER(fixtures::identity_array);
MPDECOR_REGISTER(fixtures::scale_array);
MPDECOR_REGISTER(fixtures::inspect_arrays);
MPDECOR_REGISTER(fixtures::scribble_on);
MPDECOR_REGISTER(fixtures::make_array);
MPDECOR_REGISTER(fixtures::crash_holding);
MPDECOR_REGISTER(fixtures::print_lines);
MPDECOR_REGISTER(fixtures::print_then_throw);
MPDECOR_REGISTER(fixtures::print_then_abort);
MPDECOR_REGISTER(fixtures::print_then_sleep);
MPDECOR_REGISTER(fixtures::print_bytes);
MPDECOR_REGISTER(fixtures::print_task);
MPDECOR_REGISTER(fixtures::standard_output_target);
MPDECOR_REGISTER(fixtures::throw_from_a_named_function);
MPDECOR_REGISTER(fixtures::crash_in_a_named_function);
MPDECOR_REGISTER(fixtures::fault_in_a_named_function);
MPDECOR_REGISTER(fixtures::exit_at_once_with);
MPDECOR_REGISTER(fixtures::parse_number);
MPDECOR_REGISTER(fixtures::throw_after_a_caught_throw);
