// SPDX-License-Identifier: BSL-1.0
// A program whose executable file is replaced on disk while it runs, as a rebuild or an
// upgrade does: its children must still run its own code, not the new file's.
// Usage: mpdecor_replaced REPLACEMENT
//   Makes a call, replaces its own executable with a copy of REPLACEMENT (another
//   program): on Linux renamed over it, on Windows, which keeps a running program's file
//   from being overwritten, put at its path once the running file is renamed away. Then
//   calls again with a fresh spawn, with a fork server started afterwards and with a
//   pool's worker. Prints one line per call: its label and what it gave.
#include <mpdecor/mpdecor.hpp>

#if defined(_WIN32)
#include <windows.h>
#endif

#include <filesystem>
#include <iostream>
#include <string>

std::string marker() { return "the original program"; }
MPDECOR_REGISTER(marker);

namespace {

template <class Call>
void report(const std::string& label, Call call) {
  try {
    const auto value = call();
    std::cout << label << ": " << value << std::endl;
  } catch (const std::exception& e) {
    std::cout << label << ": error: " << e.what() << std::endl;
  }
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  if (argc != 2) {
    std::cerr << "usage: mpdecor_replaced REPLACEMENT" << std::endl;
    return 2;
  }
  report("before", [] { return mpdecor::proc_wait(marker)(); });
#if defined(_WIN32)
  std::wstring buffer(32768, L'\0');
  buffer.resize(::GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size())));
  const std::filesystem::path self = buffer;
  std::filesystem::rename(self, self.string() + ".old"); // as an installer does
  std::filesystem::copy_file(argv[1], self);
#else
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  const std::filesystem::path incoming = self.string() + ".new";
  std::filesystem::copy_file(argv[1], incoming, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(incoming, self); // the new file takes the old one's name at once
#endif
  report("spawn", [] { return mpdecor::proc_wait(marker)(); });
  report("fork server", [] {
    return mpdecor::proc_wait(marker).start_method(mpdecor::start_method::fork_server)();
  });
  report("pool", [] {
    mpdecor::pool_options settings;
    settings.workers = 1;
    mpdecor::pool workers(settings);
    return workers.submit(marker)().get();
  });
  return 0;
}
