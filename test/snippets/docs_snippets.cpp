// SPDX-License-Identifier: BSL-1.0
// The C++ snippets of README.md and docs/, each inside a function of this program, written
// exactly as the documents show them (check_snippets keeps the two identical). main runs
// every one that needs no Slurm cluster and checks what it computed; the cluster ones are
// compiled here and run by the Slurm tests' own programs.
#include "../sanitized.hpp"

#include <mpdecor/async.hpp>
#include <mpdecor/mpdecor.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <numeric>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <future>
#include <iostream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

double train(std::string config, int epochs) { return config.size() + epochs * 0.5; }
MPDECOR_REGISTER(train);

std::size_t count_words_in(const std::string& text) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    words += !in_word && c != ' ' ? 1 : 0;
    in_word = c != ' ';
  }
  return words;
}

// README.md, "Registration".
inline constexpr auto square = [](int x) { return x * x; };
MPDECOR_REGISTER(square);                        // "square"

struct word_count {
  std::size_t operator()(const std::string& text) const { return count_words_in(text); }
};
MPDECOR_REGISTER(word_count{});                  // "word_count"

double score(int item) { return item * 2.0; }
MPDECOR_REGISTER(score);

std::string loaded_model;
void load_model(std::string name) { loaded_model = std::move(name); }
MPDECOR_REGISTER(load_model);

std::string model_here() { return loaded_model; }
MPDECOR_REGISTER(model_here);

namespace {

using mpdecor_test::sanitized;

int failures = 0;

// README.md, "Argument and result types".
mpdecor::shared_array<double> scale(mpdecor::shared_array<double> values, double factor) {
  mpdecor::array_writer<double> out(values.size()); // fresh shared memory
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = values[i] * factor;
  return std::move(out).share(); // sealed: read-only from here on, in every process
}
MPDECOR_REGISTER(scale);

void expect(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "docs_snippets: %s\n", what);
    ++failures;
  }
}

const std::vector<int> items{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
const std::vector<std::tuple<std::string, int>> runs{{"a.cfg", 5}, {"b.cfg", 10}};

// README.md, "Registration" (the calls).
void shared_arrays() {
  mpdecor::array_writer<double> input(1 << 20);
  std::iota(input.begin(), input.end(), 0.0);
  const mpdecor::shared_array<double> data = std::move(input).share();
  const mpdecor::shared_array<double> twice = mpdecor::proc_wait(scale)(data, 2.0);
  expect(twice.size() == data.size() && twice[1000] == 2000.0, "shared_array scaled in a child");
}

void registration() {
  int nine = mpdecor::proc_wait(square)(3);
  auto words = mpdecor::proc(word_count{})("to be or not to be");

  expect(nine == 9, "registration: the lambda's result");
  expect(words.get() == 6 && words.function() == "word_count", "registration: the object's call");
}

// README.md, "Per-call options".
void per_call_options() {
  using namespace std::chrono_literals;
  auto quick = mpdecor::proc_wait(train).timeout(30s).env("SEED", "1").working_directory("/tmp");
  double loss = quick("a.cfg", 5);

  mpdecor::options opts;                        // or all at once
  opts.timeout = 30s;                           // then kill the child: timeout_error
  opts.memory_limit = std::size_t{1} << 30;     // bytes; 0 = none (also .memory_limit(bytes))
  opts.environment = {{"SEED", "1"}};           // added to, or replacing, the parent's variables
  auto handle = mpdecor::proc(train, opts)("b.cfg", 5);

  expect(loss == 7.5, "per-call options: the first call's result");
  if (sanitized) {
    // A sanitizer reserves terabytes of address space at start, which no address-space
    // limit allows: the child cannot start its runtime, and the call fails as documented.
    expect(static_cast<bool>(handle.exception()), "per-call options: the limited child failed");
    return;
  }
  expect(handle.get() == 7.5, "per-call options: the second call's result");
}

// README.md, "Waiting on many calls".
void waiting_on_many_calls() {
  using namespace std::chrono_literals;
  std::vector<std::size_t> order;
  std::vector<mpdecor::handle<double>> runs;
  for (int epochs : {5, 10, 20})
    runs.push_back(mpdecor::proc(train)("a.cfg", epochs));
  for (std::size_t i : mpdecor::as_completed(runs))       // each index once, as calls finish
    if (auto error = runs[i].exception())                 // the call's error, not thrown
      std::cerr << "run " << i << " failed\n";
    else
      std::cout << "run " << i << ": " << runs[i].get() << "\n";

  std::size_t first = mpdecor::wait_any(runs);            // FIRST_COMPLETED
  bool all_done = mpdecor::wait_all_for(runs, 10s);       // ALL_COMPLETED, bounded
  double loss = runs[0].get(5s);                          // wait_timeout if not done in 5 s
  runs[1].on_finished([](const mpdecor::handle<double>& run) { /* quick; never blocks */ });

  mpdecor::wait_with_progress(runs, [](const mpdecor::progress& now) {
    std::fprintf(stderr, "\r%zu/%zu done, %zu failed, %.1f/s", now.done, now.total, now.failed,
                 now.rate());
  }, 100ms);                                              // also every 100 ms while waiting
  std::fprintf(stderr, "\n");

  for (std::size_t i : mpdecor::as_completed(runs))
    order.push_back(i);
  std::sort(order.begin(), order.end());
  expect(order == std::vector<std::size_t>{0, 1, 2}, "waiting: as_completed gives every run once");
  expect(first == 0 && all_done && loss == 7.5, "waiting: wait_any, wait_all_for and get(5s)");
}

// README.md, "Ending a call".
void ending_a_call() {
  using namespace std::chrono_literals;
  auto job = mpdecor::proc(train)("long.cfg", 1000);
  job.terminate(30s);   // SIGTERM to its process group, then killed if it still runs 30 s later
  job.kill();           // at once: SIGKILL to its process group (Windows: its job object ends)

  job.wait();
  expect(job.finished(), "ending a call: the call ended");
}

// README.md, "Logging".
void logging() {
  mpdecor::set_log_handler([](mpdecor::log_level level, std::string_view message) {
    std::clog << (level >= mpdecor::log_level::warning ? "[warn] " : "[info] ") << message << "\n";
  });
  mpdecor::set_log_level(mpdecor::log_level::debug);   // also each child's start and end

  mpdecor::proc_wait(train)("logged.cfg", 1);
  mpdecor::set_log_handler(nullptr);
  mpdecor::set_log_level(mpdecor::log_level::warning);
}

// README.md, "Start methods".
void start_methods() {
  auto fast = mpdecor::proc_wait(train).start_method(mpdecor::start_method::fork_server);
  auto remote = mpdecor::proc(train).slurm({{"--partition=gpu", "--gpus=1"}});

  expect(fast("a.cfg", 5) == 7.5, "start methods: the fork-server call's result");
  expect(remote.settings().start == mpdecor::start_method::slurm,
         "start methods: .slurm() chooses the slurm start method");
}

// README.md, "Worker pools".
void worker_pools() {
  using namespace std::chrono_literals;
  std::atomic<std::size_t> seen{0};
  std::size_t last_total = 0;
  double sum_as_completed = 0;

  mpdecor::pool_options settings;
  settings.workers = 4;                          // 0 (the default): one per hardware thread
  settings.max_tasks_per_worker = 1000;          // replace a worker after that many tasks
  settings.start_timeout = 120s;                 // a worker stuck starting longer breaks the pool
  settings.worker_options.timeout = 30s;         // default per-task timeout
  mpdecor::pool workers(settings, load_model, "resnet50");  // once in each worker, first

  auto h = workers.submit(train).timeout(5s)("a.cfg", 5);   // a handle, as proc's: get, wait, cancel
  std::vector<double> scores = workers.map(score, items);    // results in input order
std::vector<double> losses = workers.starmap(train, runs); // runs: {config, epochs} tuples

  mpdecor::map_options opts;                     // by default chunks are sized as the map runs
  opts.chunk = 8;                                // or: 8 items a message each way
opts.timeout = 10min;                          // the whole map's limit, then timeout_error
  opts.progress = [](std::size_t done, std::size_t total) { /* progress bar */ };
  workers.map_as_completed(score, items, [](std::size_t index, const auto& task) {
    /* task.get() gives item `index`'s result or throws its error, as items finish */
  }, opts);

  // The same map again, with the callbacks doing something this program can check.
  opts.progress = [&](std::size_t done, std::size_t total) {
    seen = done;
    last_total = total;
  };
  workers.map_as_completed(score, items, [&](std::size_t index, const auto& task) {
    expect(task.get() == items[index] * 2.0, "pools: map_as_completed's result for its item");
    sum_as_completed += task.get();
  }, opts);

  expect(h.get() == 7.5, "pools: the submitted task's result");
  expect(losses == std::vector<double>{7.5, 10}, "pools: starmap's results");
  expect(workers.submit(model_here)().get() == "resnet50", "pools: the initializer's argument");
  expect(scores == std::vector<double>{2, 4, 6, 8, 10, 12, 14, 16, 18, 20}, "pools: map's results");
  expect(sum_as_completed == 110, "pools: every item of map_as_completed");
  expect(seen == items.size() && last_total == items.size(), "pools: the last progress report");
}

// README.md, "Asio".
boost::asio::awaitable<void> asio_calls(mpdecor::pool& workers, std::future<double>& scored) {
  using namespace std::chrono_literals;
  auto ex = co_await boost::asio::this_coro::executor;

  double loss = co_await mpdecor::async_call(ex, train, "a.cfg", 5, boost::asio::use_awaitable);
  double quick = co_await mpdecor::async_call(ex, mpdecor::proc(train).timeout(30s), "b.cfg", 5,
                                              boost::asio::use_awaitable);
  auto future = mpdecor::async_call(ex, workers.submit(score), 7, boost::asio::use_future);

  expect(loss == 7.5 && quick == 7.5, "asio: the awaited calls' results");
  // The future completes through this io_context: main waits for it after run() returns.
  scored = std::move(future);
}

// docs/cluster.md: compiled only; scripts/slurm-test.sh runs the same calls on a cluster.
[[maybe_unused]] void gpu_step() {
  mpdecor::slurm_options gpu;
  gpu.srun_options = {"--partition=gpu", "--gpus=1", "--time=30"};
  double loss = mpdecor::proc_wait(train).slurm(gpu)("a.cfg", 5);   // one step on a GPU node
  (void)loss;
}

[[maybe_unused]] void slurm_pool() {
  mpdecor::pool_options settings;
  settings.workers = 8;
  settings.worker_options.start = mpdecor::start_method::slurm;
  settings.worker_options.slurm = mpdecor::slurm_options{{"--cpus-per-task=2"}};
  mpdecor::pool workers(settings);
  auto results = workers.map(score, items);
  (void)results;
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  registration();
  shared_arrays();
  per_call_options();
  waiting_on_many_calls();
  ending_a_call();
  logging();
  start_methods();
  worker_pools();
  {
    mpdecor::pool workers;
    boost::asio::io_context io;
    std::exception_ptr error;
    std::future<double> scored;
    boost::asio::co_spawn(io, asio_calls(workers, scored),
                          [&](std::exception_ptr e) { error = e; });
    io.run();
    expect(!error, "asio: the coroutine ended without an exception");
    expect(scored.valid() && scored.get() == 14.0, "asio: the pool call's future");
  }
  std::printf("docs_snippets: %s\n", failures == 0 ? "every snippet ran as documented" : "FAILED");
  return failures == 0 ? 0 : 1;
}
