// Starts one child and returns from main at once, to show what happens at exit.
// Usage: mpdecor_at_exit wait|kill MARKER_FILE DELAY_MS
#include <mpdecor/mpdecor.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

void write_marker(std::string path, int delay_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  std::ofstream(path) << "done\n";
}
MPDECOR_REGISTER(write_marker);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  if (argc != 4)
    return 2;
  if (std::string(argv[1]) == "kill")
    mpdecor::set_at_exit(mpdecor::at_exit_policy::kill);
  auto handle = mpdecor::proc(write_marker)(argv[2], std::stoi(argv[3]));
  std::cout << "child " << handle.pid() << std::endl;
  return 0;
}
