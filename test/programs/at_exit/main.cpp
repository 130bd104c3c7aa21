// SPDX-License-Identifier: BSL-1.0
// Returns from main (or exits) while calls are in flight, to show what happens at exit.
// Usage:
//   mpdecor_at_exit wait|kill MARKER_FILE DELAY_MS
//       starts one child that writes MARKER_FILE after DELAY_MS, prints its pid, returns
//   mpdecor_at_exit many DIRECTORY COUNT spawn|fork_server|limit1
//       starts COUNT calls that each write DIRECTORY/<i>, drops their handles and returns
//       (fork_server: one fork-server call first; limit1: one call running at a time)
//   mpdecor_at_exit static_destructor
//       makes a call, then makes another from a static destructor, after the at-exit wait
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

void write_marker(std::string path, int delay_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  std::ofstream(path) << "done\n";
}
MPDECOR_REGISTER(write_marker);

int twice(int value) { return value * 2; }
MPDECOR_REGISTER(twice);

namespace {

// Destroyed after main returns and after the at-exit wait of the calls made before it.
struct late_caller {
  bool armed = false;
  ~late_caller() {
    if (!armed)
      return;
    try {
      std::cout << "late call returned " << mpdecor::proc_wait(twice)(21) << std::endl;
    } catch (const mpdecor::usage_error& e) {
      std::cout << "late call refused: " << e.what() << std::endl;
    } catch (const std::exception& e) {
      std::cout << "late call failed otherwise: " << e.what() << std::endl;
    }
  }
};

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  if (argc < 2)
    return 2;
  const std::string mode = argv[1];
  if (mode == "static_destructor") {
    // A hang ends the program with exit code 3 instead of holding the test.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(30));
      std::cout << "hung" << std::endl;
      std::_Exit(3);
    }).detach();
    // Constructed after init's statics, so destroyed before them.
    static late_caller late;
    std::cout << "first call returned " << mpdecor::proc_wait(twice)(1) << std::endl;
    late.armed = true;
    return 0;
  }
  if (mode == "many" && argc == 5) {
    const std::filesystem::path directory = argv[2];
    const int count = std::stoi(argv[3]);
    const std::string how = argv[4];
    if (how == "fork_server")
      mpdecor::proc_wait(write_marker)
          .start_method(mpdecor::start_method::fork_server)((directory / "first").string(), 0);
    if (how == "limit1")
      mpdecor::set_max_running(1);
    for (int i = 0; i < count; ++i)
      mpdecor::proc(write_marker)((directory / std::to_string(i)).string(), 0);
    return 0;
  }
  if (argc != 4)
    return 2;
  if (mode == "kill")
    mpdecor::set_at_exit(mpdecor::at_exit_policy::kill);
  auto handle = mpdecor::proc(write_marker)(argv[2], std::stoi(argv[3]));
  std::cout << "child " << handle.pid() << std::endl;
  return 0;
}
