// SPDX-License-Identifier: BSL-1.0
// The same calls, on one machine or across a Slurm cluster. Run as it is, each call is a
// local child process; run with MPDECOR_START_METHOD=slurm (examples/slurm/run.sbatch
// does that), each call and each pool worker is a Slurm job step, spread over the nodes
// of the allocation. Every result says which node computed it.
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

// Where a call ran: the Slurm node's name, or this machine's host name outside Slurm.
struct placement {
  std::string node;
  long pid = 0;
};

placement here() {
  if (const char* node = std::getenv("SLURMD_NODENAME"))
    return {node, static_cast<long>(::getpid())};
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return {host, static_cast<long>(::getpid())};
}

// A stand-in for real work: a simulation with a seed, a few hundred milliseconds long.
struct outcome {
  double value = 0;
  placement ran_on;
};

outcome simulate(int seed) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double value = seed;
  for (int i = 0; i < 1000; ++i)
    value = value * 0.999 + 1.0;
  return {value, here()};
}
MPDECOR_REGISTER(simulate);

// A short task for the pool: its workers live as long as the pool and serve item after item.
placement where_is(int /*item*/) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return here();
}
MPDECOR_REGISTER(where_is);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv); // a step serves its call here, and never goes further

  const bool on_slurm = mpdecor::default_start_method() == mpdecor::start_method::slurm;
  const char* job = std::getenv("SLURM_JOB_ID");
  std::printf("start method: %s; %s\n", on_slurm ? "Slurm job steps" : "local child processes",
              job != nullptr ? ("inside allocation " + std::string(job)).c_str() : "no allocation");
  // One call per task slot of the allocation at a time; Slurm would queue the rest itself.
  if (const char* tasks = std::getenv("SLURM_NTASKS"))
    mpdecor::set_max_running(std::strtoul(tasks, nullptr, 10));

  // proc_wait: one call, waited for.
  const outcome first = mpdecor::proc_wait(simulate)(1);
  std::printf("proc_wait: simulate(1) = %.3f on %s (pid %ld)\n", first.value,
              first.ran_on.node.c_str(), first.ran_on.pid);

  // proc: four calls at once; the handles give their results as they are asked for.
  std::vector<mpdecor::handle<outcome>> running;
  for (int seed = 2; seed <= 5; ++seed)
    running.push_back(mpdecor::proc(simulate)(seed));
  for (std::size_t i = 0; i < running.size(); ++i) {
    const outcome result = running[i].get();
    std::printf("proc: simulate(%zu) = %.3f on %s (pid %ld)\n", i + 2, result.value,
                result.ran_on.node.c_str(), result.ran_on.pid);
  }

  // A pool of two workers (steps that share the allocation's CPUs), mapping over items.
  mpdecor::pool_options settings;
  settings.workers = 2;
  mpdecor::pool workers(settings);
  mpdecor::map_options one_at_a_time;
  one_at_a_time.chunk = 1;
  const std::vector<placement> places =
      workers.map(where_is, std::vector<int>(12, 0), one_at_a_time);
  std::map<std::string, int> per_node;
  for (const auto& place : places)
    ++per_node[place.node];
  std::printf("pool: %zu items ran on", places.size());
  for (const auto& [node, count] : per_node)
    std::printf(" %s (%d)", node.c_str(), count);
  std::printf("\n");
  return 0;
}
