// SPDX-License-Identifier: BSL-1.0
// The functions the tests run in child processes, each registered in functions.cpp.
#ifndef MPDECOR_TEST_FUNCTIONS_HPP
#define MPDECOR_TEST_FUNCTIONS_HPP

#include <mpdecor/mpdecor.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace fixtures {

// --- results and argument types ---
int add(int a, int b);
std::string shout(const std::string& text);
void do_nothing();
std::int64_t own_pid();
/// The pid of the process that ran item `item` (for maps: which worker had which item).
std::int64_t pid_for_item(int item);

/// A plain aggregate: serialized field by field through Boost.PFR.
struct point {
  int x = 0;
  double y = 0;
  std::string label;
};
point move_point(point p, int dx);

/// A user type with its own cereal serialize member.
class matrix {
public:
  matrix() = default;
  matrix(int rows, int columns) : rows_(rows), columns_(columns), cells_(rows * columns, 0.0) {}
  double& at(int row, int column) { return cells_[row * columns_ + column]; }
  double at(int row, int column) const { return cells_[row * columns_ + column]; }
  int rows() const { return rows_; }
  int columns() const { return columns_; }
  template <class Archive>
  void serialize(Archive& archive) {
    archive(rows_, columns_, cells_);
  }

private:
  int rows_ = 0;
  int columns_ = 0;
  std::vector<double> cells_;
};
matrix transpose(const matrix& m);

/// A user type with a free serialize function.
struct temperature {
  double kelvin = 0;
};
template <class Archive>
void serialize(Archive& archive, temperature& t) {
  archive(t.kelvin);
}
temperature warmer(temperature t, double by);

std::map<std::string, int> count_words(std::vector<std::string> words);
std::optional<int> parse_int(std::string text);
std::variant<int, std::string> classify(std::variant<int, std::string> value);
std::tuple<int, std::string, double> rotate(std::tuple<std::string, double, int> value);

// --- lambdas and function objects ---
/// A captureless lambda, registered as "fixtures::cube".
inline constexpr auto cube = [](int x) { return x * x * x; };
/// A stateless function object, registered as "fixtures::word_length".
struct word_length {
  std::size_t operator()(const std::string& word) const { return word.size(); }
};
/// A lambda that throws, registered under an explicit name.
inline constexpr auto refuse = [](std::string why) -> int { throw std::invalid_argument(why); };

// --- failures ---
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void throw_runtime_error(std::string message);
void throw_config_error(std::string message);
void throw_int(int value);
void raise_segfault();
void call_abort();
int exit_with(int code);
/// Ends its process at once with std::_Exit(code): no atexit handler, no flush.
int exit_at_once_with(int code);
int sleep_ms(int milliseconds);
/// Returns `value`; the child then hangs in a static destructor for a minute.
int hang_after_result(int value);
/// Handles SIGTERM (`ignore` false: notes it and returns 1 at once, as a function that
/// cleans up would; true: ignores it), then creates `ready_file` and waits up to a minute
/// for the signal; returns 0 if none came.
int on_sigterm(std::string ready_file, bool ignore);

#if !defined(_WIN32)
/// Leaves a grandchild that writes garbage to the channel after `delay_ms`, then exits with
/// code 7 without a result.
void exit_leaving_a_scribbler(int delay_ms);
/// Starts a grandchild (`sleep 60`, in this child's process group) and writes its pid to
/// `pid_file`; then returns the pid (`then` 0), aborts (1) or sleeps for a minute (2).
long leave_grandchild(std::string pid_file, int then);
/// std::system(command): its exit status.
int run_shell(std::string command);
#endif

// --- the fault matrix: everything a child can do wrong ---
void call_terminate();
int overflow_stack(int depth);
/// Allocates and touches `megabytes` of memory; returns how much it got.
std::uint64_t allocate_megabytes(std::uint64_t megabytes);
void endless_loop();
/// Closes the child's end of mpdecor's channel, then returns normally.
void close_channel();
/// Writes garbage on mpdecor's channel, then returns normally.
void scribble_on_channel();
/// Starts a valid result, sends part of it, and ends the process.
void die_while_sending();

// --- environment ---
std::string environment_variable(std::string name);
std::string working_directory();
#if !defined(_WIN32)
/// This process's umask and its soft limit on open files (POSIX).
std::pair<int, std::uint64_t> file_mask_and_open_file_limit();
#endif
/// The environment block of process `pid` (0: this one) as /proc shows it (Linux), NUL
/// separated; empty elsewhere.
std::string environment_block_of(long pid);

// --- large data ---
/// Size and a position-weighted checksum of the bytes.
std::pair<std::uint64_t, std::uint64_t> checksum(const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> make_bytes(std::uint64_t size);
std::uint8_t pattern_at(std::uint64_t index);

// --- shared memory ---
/// True while this process maps one of mpdecor's shared-memory segments (Linux; false
/// elsewhere).
bool maps_shared_segment();
/// The number of values, their sum, and whether they arrived through shared memory.
std::tuple<std::uint64_t, double, bool> sum_doubles(std::vector<double> values);
/// `count` doubles 0, 1, 2, ...
std::vector<double> make_doubles(std::uint64_t count);
/// Receives a large vector and crashes (SIGSEGV) while holding it.
void crash_holding(std::vector<double> values);

// --- shared arrays ---
/// The inode of the shared-memory segment holding `values` (0 when they are not in one),
/// which tells two arrays that share their storage from two copies (Linux).
std::uint64_t segment_inode(const mpdecor::shared_array<double>& values);
/// Returns its argument, untouched.
mpdecor::shared_array<double> identity_array(mpdecor::shared_array<double> values);
/// A new array of the values times `factor`, made with an array_writer.
mpdecor::shared_array<double> scale_array(mpdecor::shared_array<double> values, double factor);
/// The inode of each array's segment as the child sees it, and the sum of its elements.
std::vector<std::pair<std::uint64_t, double>>
inspect_arrays(std::vector<mpdecor::shared_array<double>> arrays);
/// Writes into the array through a cast-away const: the mapping is read-only.
double scribble_on(mpdecor::shared_array<double> values);
/// `count` doubles 0, 1, 2, ... as a shared array.
mpdecor::shared_array<double> make_array(std::uint64_t count);

// --- timing, for the concurrency limit ---
/// Sleeps; returns the start and end of the sleep on the steady clock, in nanoseconds.
std::pair<std::int64_t, std::int64_t> timed_sleep(int milliseconds);

// --- nesting ---
/// Calls itself in a child `depth` times; returns the pids along the way.
std::vector<std::int64_t> nested_pids(int depth);

// --- pools ---
int square(int x);
/// Squares, except 13, on which the worker crashes (SIGSEGV).
int square_unless_thirteen(int x);
/// A pool's initializer: counts its runs in this process.
void count_initializer_run();
/// A pool's initializer with arguments: keeps `name` and `size` in this process.
void load_named_model(std::string name, int size);
/// What load_named_model kept here ("" and 0 if it never ran).
std::string loaded_model();
/// An initializer that always throws.
void failing_initializer();
/// This process's pid and the number of initializer runs it has seen.
std::pair<std::int64_t, int> initializer_runs_here();
/// This process's pid and how many times this function has run in it.
std::pair<std::int64_t, int> tasks_served_here();

// --- deep values ---
/// A tree: each node holds its children (two levels of nesting per node on the wire).
struct tree {
  std::vector<tree> kids;
};
/// A chain of `depth` nodes, each the only child of the one before.
tree deep_tree(int depth);
/// The number of nodes along the first children of `root`. Walks without recursion, and
/// the tree is taken apart the same way: the test sends trees deeper than any recursive
/// walk's stack would take.
int tree_depth(tree root);

/// A hostile child: writes raw bytes on its channel in place of a reply, waits `seconds`,
/// then exits 0 without a reply of its own. `how`: 0 a tree nested 100,000 levels deep,
/// 1 a length past the end of the message, 2 an unknown kind, 3 a whole result followed by
/// garbage, 4 a header that promises more than comes, 5 nothing at all.
tree send_hostile_reply(int how, int seconds);

// --- output (test/output_test.cpp) ---
/// Writes "<text> out <i>" lines to standard output and "<text> err <i>" lines to standard
/// error, `times` each, through iostreams and stdio, unflushed; returns `times`.
int print_lines(std::string text, int times);
/// Prints `text` to both streams, then throws std::runtime_error("thrown after printing").
void print_then_throw(std::string text);
/// Prints `text` to both streams, flushes them, then aborts.
void print_then_abort(std::string text);
/// Prints `text` to both streams, flushes them, then sleeps for `ms` milliseconds.
void print_then_sleep(std::string text, int ms);
/// Linux: how many of this process's descriptors are connected TCP sockets (a Slurm
/// step's direct channel is one); -1 elsewhere.
int connected_tcp_sockets();
/// Writes `count` bytes to standard output: "BEGIN", then dots, then "END".
std::size_t print_bytes(std::size_t count);
/// Prints "task <i>" to standard output and "task <i> err" to standard error, sleeps a
/// little after the first line so that a worker's next task overlaps, returns `i`.
int print_task(int i);
// --- stack traces (test/stack_trace_test.cpp) ---
/// Throws std::runtime_error("thrown by stack_trace_thrower") from
/// fixtures::stack_trace_thrower, called `depth` calls down.
void throw_from_a_named_function(int depth);
/// Aborts in fixtures::stack_trace_crasher.
void crash_in_a_named_function();
/// Writes through a null pointer in fixtures::stack_trace_faulter.
void fault_in_a_named_function();
/// std::stoi(text) in fixtures::parse_number: std::invalid_argument, thrown by the C++
/// runtime itself, for "abc".
int parse_number(std::string text);
/// Throws and catches one exception in fixtures::first_thrower, then throws another
/// from fixtures::second_thrower, which leaves the function.
void throw_after_a_caught_throw();

/// What this process's standard output is: the target of /proc/self/fd/1 (Linux), or "".
std::string standard_output_target();

} // namespace fixtures

#endif
