// SPDX-License-Identifier: BSL-1.0
// What a child prints, kept apart from the parent's own output: captured and returned with
// the result (and with an error, where it says why the call failed), written to a log file,
// or thrown away. A pool hands each task the output its worker wrote while running it.
#include <mpdecor/mpdecor.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

// A noisy function: it reports its progress on standard output and warnings on standard
// error, as a library it calls might.
double fit(std::string dataset, int epochs) {
  double loss = 1.0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    loss /= 2;
    std::cout << dataset << ": epoch " << epoch << " loss " << loss << '\n';
  }
  std::cerr << "warning: " << dataset << " has no validation split\n";
  if (dataset == "broken.csv")
    throw std::runtime_error("the loss diverged");
  return loss;
}

MPDECOR_REGISTER(fit);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  using mpdecor::output_target;
  int problems = 0;

  // Captured: the call's output comes back with its result.
  auto call = mpdecor::proc(fit).output(output_target::capture())("train.csv", 3);
  double loss = call.get();
  std::string printed = call.output().out; // "train.csv: epoch 1 loss 0.5\n..."
  std::string warnings = call.output().err;
  std::printf("loss %.3f\n--- its standard output:\n%s--- its standard error:\n%s", loss,
              printed.c_str(), warnings.c_str());
  problems += printed.find("epoch 3 loss 0.125") == std::string::npos;

  // And with its error: what it printed before it failed.
  try {
    mpdecor::proc_wait(fit).output(output_target::capture())("broken.csv", 2);
  } catch (const mpdecor::remote_error& e) {
    std::printf("failed: %s\n--- what it printed first:\n%s", e.message().c_str(),
                e.output().out.c_str());
    problems += e.output().out.find("broken.csv: epoch 2") == std::string::npos;
  }

  // To a log file (appended to), and its warnings thrown away.
  const auto log = std::filesystem::temp_directory_path() / "mpdecor-capture-example.log";
  std::filesystem::remove(log);
  mpdecor::proc_wait(fit)
      .standard_output(output_target::file(log))
      .standard_error(output_target::discard())("logged.csv", 2);
  std::string logged;
  {
    std::ifstream in(log); // closed before the file is removed (Windows would refuse)
    logged.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::printf("--- %s holds:\n%s", log.string().c_str(), logged.c_str());
  problems += logged.find("logged.csv: epoch 2") == std::string::npos;
  std::filesystem::remove(log);

  // A pool: each task's own output, even with several tasks handed to a worker at once.
  mpdecor::pool_options settings;
  settings.workers = 2;
  settings.worker_options.standard_output = output_target::capture();
  settings.worker_options.standard_error = output_target::discard();
  mpdecor::pool workers(settings);
  const std::vector<std::string> datasets = {"a.csv", "b.csv", "c.csv", "d.csv"};
  std::vector<mpdecor::pool_handle<double>> tasks;
  for (const auto& dataset : datasets)
    tasks.push_back(workers.submit(fit).chunk(2)(dataset, 1));
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::string out = tasks[i].output().out;
    std::printf("task %zu printed: %s", i, out.c_str());
    problems += out.rfind(datasets[i] + ": epoch 1 loss 0.5", 0) != 0; // its own
  }
  return problems == 0 ? 0 : 1;
}
