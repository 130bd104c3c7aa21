// SPDX-License-Identifier: BSL-1.0
// Median round trip of one small call in a fresh child: through mpdecor::proc_wait, and
// through a bare Boost.Process v2 relaunch of this executable that answers on its standard
// output (the floor that mpdecor's launch, channel and checks add to). On Windows also the
// bare relaunch with an explicit list of inherited handles (PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
// as mpdecor launches) instead of letting the child inherit every inheritable handle.
//
//     relaunch_roundtrip [calls=200]
#include <mpdecor/mpdecor.hpp>

// Boost 1.81's Process v2 uses Boost.Optional and type_traits without including them
// (boostorg/process#280); mpdecor's own sources get this from lib/config.hpp.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

int increment(int x) { return x + 1; }
MPDECOR_REGISTER(increment);

namespace {

namespace process_v2 = boost::process::v2;
using clock_type = std::chrono::steady_clock;

template <class Call>
double median_microseconds(int calls, Call&& call) {
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto start = clock_type::now();
    if (call(i) != i + 1) {
      std::fprintf(stderr, "wrong result for %d\n", i);
      std::exit(1);
    }
    samples.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
  }
  std::nth_element(samples.begin(), samples.begin() + calls / 2, samples.end());
  return samples[static_cast<std::size_t>(calls / 2)];
}

#if defined(_WIN32)
// Lets the child inherit only the standard handles the launcher hands it.
struct inherit_only_standard_handles {
  std::vector<HANDLE> handles;
  std::vector<char> storage;
  LPPROC_THREAD_ATTRIBUTE_LIST list = nullptr;

  inherit_only_standard_handles() = default;
  inherit_only_standard_handles(const inherit_only_standard_handles&) = delete;
  inherit_only_standard_handles& operator=(const inherit_only_standard_handles&) = delete;
  ~inherit_only_standard_handles() {
    if (list != nullptr)
      ::DeleteProcThreadAttributeList(list);
  }

  process_v2::error_code on_setup(process_v2::windows::default_launcher& launcher,
                                  const std::filesystem::path&, const std::wstring&) {
    const auto& startup = launcher.startup_info.StartupInfo;
    for (HANDLE handle : {startup.hStdInput, startup.hStdOutput, startup.hStdError})
      if (handle != nullptr && handle != INVALID_HANDLE_VALUE &&
          std::find(handles.begin(), handles.end(), handle) == handles.end())
        handles.push_back(handle);
    SIZE_T size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
    storage.resize(size);
    auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage.data());
    if (!::InitializeProcThreadAttributeList(attributes, 1, 0, &size))
      return {static_cast<int>(::GetLastError()), boost::system::system_category()};
    list = attributes;
    if (!::UpdateProcThreadAttribute(list, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles.data(),
                                     handles.size() * sizeof(HANDLE), nullptr, nullptr))
      return {static_cast<int>(::GetLastError()), boost::system::system_category()};
    launcher.startup_info.lpAttributeList = list;
    return {};
  }
};
#endif

struct no_more_setup {
  template <class Launcher>
  process_v2::error_code on_setup(Launcher&, const std::filesystem::path&, const std::wstring&) {
    return {};
  }
  template <class Launcher>
  process_v2::error_code on_setup(Launcher&, const std::filesystem::path&, const char* const*) {
    return {};
  }
};

// Starts this executable as "--raw-child N", reads the line it prints and waits for its
// exit, as proc_wait waits for the result and then the exit. (Reading on to the end of the
// output would also time the teardown of the child's address space, which under Wine
// comes after its exit is reported.)
template <class Setup>
int raw_relaunch(int value) {
  boost::asio::io_context io;
  boost::asio::readable_pipe output(io);
  static const std::filesystem::path self = boost::dll::program_location();
  const std::vector<std::string> arguments{"--raw-child", std::to_string(value)};
  Setup setup;
  // process_v2::process's own executor type: Boost 1.81 on Windows drops the process
  // handle when it converts a process from another executor type.
  process_v2::process child(process_v2::process::executor_type(io.get_executor()), self, arguments,
                            process_v2::process_stdio{nullptr, output, {}}, setup);
  std::string text;
  boost::system::error_code ignored;
  boost::asio::read_until(output, boost::asio::dynamic_buffer(text), '\n', ignored);
  child.wait();
  return std::atoi(text.c_str());
}

} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  if (argc == 3 && std::strcmp(argv[1], "--raw-child") == 0) {
    std::printf("%d\n", std::atoi(argv[2]) + 1);
    return 0;
  }
  const int calls = argc > 1 ? std::atoi(argv[1]) : 200;

  for (int i = 0; i < 5; ++i) // the supervisor's thread and the file cache, before timing
    mpdecor::proc_wait(increment)(i);
  const double proc_median =
      median_microseconds(calls, [](int i) { return mpdecor::proc_wait(increment)(i); });
  const double raw_median = median_microseconds(calls, raw_relaunch<no_more_setup>);
#if defined(_WIN32)
  const double listed_median =
      median_microseconds(calls, raw_relaunch<inherit_only_standard_handles>);
#endif

  std::printf("median round trip over %d calls of int f(int) in a fresh child:\n", calls);
  std::printf("  mpdecor::proc_wait                          %10.1f us\n", proc_median);
  std::printf("  Boost.Process v2 relaunch, stdout pipe      %10.1f us\n", raw_median);
#if defined(_WIN32)
  std::printf("  the same with an explicit handle list       %10.1f us\n", listed_median);
#endif
  return 0;
}
