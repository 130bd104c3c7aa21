// SPDX-License-Identifier: BSL-1.0
// mpdecor: recording a child's stack traces and naming their frames (lib/stack_trace.hpp).
#include "stack_trace.hpp"

#include "channel.hpp"

#include <mpdecor/errors.hpp>

#include <boost/core/demangle.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <atomic>

#if defined(__linux__) && defined(__GLIBC__)
#define MPDECOR_STACK_TRACES 1
#define MPDECOR_STACK_TRACES_LINUX 1
#include <boost/stacktrace/safe_dump_to.hpp>

#include <atomic>
#include <dlfcn.h>
#include <link.h>
#include <map>
#include <mutex>
#if defined(MPDECOR_HAVE_LIBBACKTRACE)
#include <backtrace.h>
#endif
#elif defined(_WIN32)
#define MPDECOR_STACK_TRACES 1
#include <windows.h>
#endif

namespace mpdecor::detail {
namespace {

// Appends to a fixed buffer without allocating: usable in a crash handler.
class trace_writer {
public:
  trace_writer(char* buffer, std::size_t size) : buffer_(buffer), size_(size) {}
  bool put(const void* data, std::size_t length) noexcept {
    if (length > size_ - used_)
      return false;
    std::memcpy(buffer_ + used_, data, length);
    used_ += length;
    return true;
  }
  std::size_t used() const noexcept { return used_; }
  char* at(std::size_t offset) noexcept { return buffer_ + offset; }

private:
  char* buffer_;
  std::size_t size_;
  std::size_t used_ = 0;
};

#if defined(MPDECOR_STACK_TRACES)

std::atomic<bool> recording{false};

#if defined(MPDECOR_STACK_TRACES_LINUX)

// The modules loaded when the child started recording, kept in fixed storage so that a
// crash handler can look addresses up without allocating or locking.
struct loaded_module {
  char name[256];
  std::uintptr_t bias = 0;
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
};
constexpr std::size_t max_modules = 256;
loaded_module modules[max_modules];
std::size_t module_count = 0;

int add_module(dl_phdr_info* info, std::size_t, void*) {
  if (module_count == max_modules)
    return 1;
  loaded_module& module = modules[module_count];
  const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  std::strncpy(module.name, name, sizeof module.name - 1);
  module.name[sizeof module.name - 1] = '\0';
  module.bias = info->dlpi_addr;
  module.begin = UINTPTR_MAX;
  module.end = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD)
      continue;
    module.begin = std::min<std::uintptr_t>(module.begin, info->dlpi_addr + segment.p_vaddr);
    module.end =
        std::max<std::uintptr_t>(module.end, info->dlpi_addr + segment.p_vaddr + segment.p_memsz);
  }
  if (module.end > module.begin)
    ++module_count;
  return 0;
}

const loaded_module* module_of(std::uintptr_t address) noexcept {
  for (std::size_t i = 0; i < module_count; ++i)
    if (address >= modules[i].begin && address < modules[i].end)
      return &modules[i];
  return nullptr;
}

// One frame: the module's name and the offset in it, or "?" and the address itself for an
// address outside every module known (code loaded after the recording started).
bool put_frame(trace_writer& out, const void* frame) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(frame);
  const loaded_module* module = module_of(address);
  const char* name = module != nullptr ? module->name : "?";
  const std::uint64_t offset = module != nullptr ? address - module->bias : address;
  const auto length = static_cast<std::uint16_t>(std::strlen(name));
  return out.put(&length, sizeof length) && out.put(name, length) &&
         out.put(&offset, sizeof offset);
}

#else

// One frame: the module's name and the offset in it, or "?" and the address itself.
bool put_frame(trace_writer& out, const void* frame) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(frame);
  char name[256];
  std::uintptr_t base = 0;
  if (!module_at(address, name, sizeof name, base)) {
    std::strcpy(name, "?");
    base = 0;
  }
  const std::uint64_t offset = address - base;
  const auto length = static_cast<std::uint16_t>(std::strlen(name));
  return out.put(&length, sizeof length) && out.put(name, length) &&
         out.put(&offset, sizeof offset);
}

#endif

std::size_t encode_frames(void* const* frames, std::size_t count, char* buffer,
                          std::size_t size) noexcept {
  trace_writer out(buffer, size);
  std::uint16_t written = 0;
  if (!out.put(&written, sizeof written))
    return 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (frames[i] == nullptr)
      break;
    if (!put_frame(out, frames[i]))
      break;
    ++written;
  }
  std::memcpy(out.at(0), &written, sizeof written);
  return out.used();
}

#endif

} // namespace

void start_recording_traces() noexcept {
  const bool wanted = take_environment_variable(stack_traces_variable) == "1";
#if defined(MPDECOR_STACK_TRACES)
  if (!wanted)
    return;
#if defined(MPDECOR_STACK_TRACES_LINUX)
  module_count = 0;
  ::dl_iterate_phdr(add_module, nullptr);
#endif
  recording.store(true);
  record_throws();
#else
  (void)wanted;
#endif
}

std::string encoded_throw_trace(const void* thrown) {
#if defined(MPDECOR_STACK_TRACES)
  if (!recording.load())
    return {};
  void* frames[max_trace_frames];
  const std::size_t count = recorded_throw(thrown, frames, max_trace_frames);
  if (count == 0)
    return {};
  std::string encoded(sizeof(std::uint16_t) + count * (sizeof(std::uint16_t) + 256 + 8), '\0');
  encoded.resize(encode_frames(frames, count, encoded.data(), encoded.size()));
  return encoded;
#else
  (void)thrown;
  return {};
#endif
}

std::size_t encode_crash_trace(char* buffer, std::size_t size, const void* context) noexcept {
#if defined(MPDECOR_STACK_TRACES)
  if (!recording.load())
    return 0;
  void* frames[max_trace_frames + 1];
  std::size_t count = 0;
#if defined(MPDECOR_STACK_TRACES_LINUX)
  (void)context;
  // Skips this function and the handler that called it: the first frame is the signal's
  // return into the code that crashed (glibc's trampoline), then that code.
  count = boost::stacktrace::safe_dump_to(2, frames, sizeof frames);
#else
  if (context != nullptr)
    count = walk_stack(context, frames, max_trace_frames);
  else // skips this function, the crash report and its caller, the handler
    count = ::RtlCaptureStackBackTrace(3, max_trace_frames, frames, nullptr);
#endif
  count = std::min(count, max_trace_frames);
  return encode_frames(frames, count, buffer, size);
#else
  (void)buffer;
  (void)size;
  (void)context;
  return 0;
#endif
}

#if defined(MPDECOR_STACK_TRACES)
namespace {

constexpr std::size_t kept_throws = 4;
thread_local recorded_throw_frames recent_throws[kept_throws];
thread_local std::size_t next_throw = 0;

} // namespace

recorded_throw_frames& next_throw_slot() noexcept {
  auto& slot = recent_throws[next_throw];
  next_throw = (next_throw + 1) % kept_throws;
  return slot;
}

std::size_t recorded_throw(const void* thrown, void** frames, std::size_t capacity) noexcept {
  const recorded_throw_frames* chosen = nullptr;
  for (std::size_t age = 1; age <= kept_throws && chosen == nullptr; ++age) {
    const auto& slot = recent_throws[(next_throw + kept_throws - age) % kept_throws];
    if (slot.count != 0 && slot.thrown == thrown)
      chosen = &slot;
  }
  if (chosen == nullptr) {
    const auto& latest = recent_throws[(next_throw + kept_throws - 1) % kept_throws];
    if (latest.count != 0)
      chosen = &latest;
  }
  if (chosen == nullptr)
    return 0;
  const std::size_t count = std::min(chosen->count, capacity);
  std::copy(chosen->frames, chosen->frames + count, frames);
  return count;
}
#endif

std::vector<trace_frame> decode_trace(std::string_view bytes) {
  std::vector<trace_frame> frames;
  auto take = [&bytes](void* out, std::size_t length) {
    if (bytes.size() < length)
      return false;
    std::memcpy(out, bytes.data(), length);
    bytes.remove_prefix(length);
    return true;
  };
  std::uint16_t count = 0;
  if (!take(&count, sizeof count))
    return frames;
  for (std::uint16_t i = 0; i < count && i < max_trace_frames; ++i) {
    std::uint16_t length = 0;
    if (!take(&length, sizeof length) || bytes.size() < length)
      break;
    trace_frame frame;
    frame.module.assign(bytes.data(), length);
    bytes.remove_prefix(length);
    if (!take(&frame.offset, sizeof frame.offset))
      break;
    frames.push_back(std::move(frame));
  }
  return frames;
}

namespace {

#if defined(MPDECOR_STACK_TRACES_LINUX)
// This process's load address of each module it has loaded, by name ("" for the program).
std::map<std::string, std::uintptr_t> own_modules() {
  std::map<std::string, std::uintptr_t> loaded;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& out = *static_cast<std::map<std::string, std::uintptr_t>*>(data);
        out.emplace(info->dlpi_name != nullptr ? info->dlpi_name : "", info->dlpi_addr);
        return 0;
      },
      &loaded);
  return loaded;
}

#if defined(MPDECOR_HAVE_LIBBACKTRACE)
backtrace_state* symbols() {
  // Made once and kept: libbacktrace reads the debug information on first use.
  static backtrace_state* const state = backtrace_create_state(
      nullptr, /*threaded=*/1, [](void*, const char*, int) {}, nullptr);
  return state;
}

struct named_frame {
  std::string function;
  std::string file;
  int line = 0;
};

// The functions at `pc`, innermost first: those inlined there, then the one that holds
// them (one entry when nothing was inlined).
std::vector<named_frame> name_with_libbacktrace(std::uintptr_t pc) {
  std::vector<named_frame> levels;
  backtrace_state* state = symbols();
  if (state == nullptr)
    return levels;
  backtrace_pcinfo(
      state, pc,
      [](void* data, std::uintptr_t, const char* file, int line, const char* function) {
        if (function != nullptr)
          static_cast<std::vector<named_frame>*>(data)->push_back(
              {function, file != nullptr ? file : "", line});
        return 0;
      },
      [](void*, const char*, int) {}, &levels);
  if (levels.empty())
    backtrace_syminfo(
        state, pc,
        [](void* data, std::uintptr_t, const char* symbol, std::uintptr_t, std::uintptr_t) {
          if (symbol != nullptr)
            static_cast<std::vector<named_frame>*>(data)->push_back({symbol, "", 0});
        },
        [](void*, const char*, int) {}, &levels);
  return levels;
}
#endif
#endif

} // namespace

namespace {

// Whether a named frame is mpdecor's own, where the child's call starts: the frames from
// there outwards (the dispatch, main) are the same for every call and are left out.
bool starts_the_call(std::string function) {
  // Names from a symbol table (Windows) say where a function is in no named namespace.
  const std::string unnamed = "(anonymous namespace)::";
  for (auto at = function.find(unnamed); at != std::string::npos; at = function.find(unnamed))
    function.erase(at, unnamed.size());
  return function.rfind("mpdecor::detail::invoke<", 0) == 0 ||
         function.rfind("void mpdecor::detail::invoke<", 0) == 0 ||
         function == "serve_call_named" || function.rfind("mpdecor::detail::serve_call", 0) == 0;
}

// Whether a named frame is the standard library's plumbing between mpdecor's call and the
// function (std::apply, std::__invoke), shown only when nothing else would be.
bool is_plumbing(const std::string& function) {
  const std::string head = function.substr(0, function.find('<'));
  for (const char* name : {"std::__invoke_impl", "std::__invoke", "std::__invoke_result",
                           "std::__apply_impl", "std::apply"})
    if (head.size() >= std::strlen(name) &&
        head.compare(head.size() - std::strlen(name), std::string::npos, name) == 0)
      return true;
  return false;
}

} // namespace

std::string describe_trace(const std::vector<trace_frame>& frames) {
  // Each line, with the function it names ("" when unnamed).
  std::vector<std::pair<std::string, std::string>> lines;
#if defined(MPDECOR_STACK_TRACES_LINUX) && defined(MPDECOR_HAVE_LIBBACKTRACE)
  // libbacktrace's state is shared; its lookups are made one at a time.
  static std::mutex naming;
  std::lock_guard lock(naming);
#endif
#if defined(MPDECOR_STACK_TRACES_LINUX)
  const auto loaded = own_modules();
#endif
  for (const trace_frame& frame : frames) {
    const std::string module = frame.module.empty() ? "the program" : frame.module;
    // Each function at the frame, innermost first: an inlined call is a frame of its own.
    std::vector<std::pair<std::string, std::string>> levels; // function, file:line
#if defined(MPDECOR_STACK_TRACES_LINUX)
    const auto own = loaded.find(frame.module);
    if (frame.module != "?" && own != loaded.end()) {
      // A return address: the call it returns from lies just before it.
      const std::uintptr_t pc = own->second + static_cast<std::uintptr_t>(frame.offset) - 1;
#if defined(MPDECOR_HAVE_LIBBACKTRACE)
      for (const named_frame& level : name_with_libbacktrace(pc))
        levels.emplace_back(boost::core::demangle(level.function.c_str()),
                            level.file.empty() ? std::string()
                                               : level.file + ":" + std::to_string(level.line));
#endif
      Dl_info info{};
      if (levels.empty() && ::dladdr(reinterpret_cast<void*>(pc), &info) != 0 &&
          info.dli_sname != nullptr)
        levels.emplace_back(boost::core::demangle(info.dli_sname), std::string());
    }
#elif defined(MPDECOR_STACK_TRACES)
    std::string file;
    if (frame.module != "?" && frame.offset > 0 && loaded_module(frame.module, file) != 0 &&
        !file.empty()) {
      // A return address: the call it returns from lies just before it.
      const std::string name = function_at(file, frame.offset - 1);
      if (!name.empty())
        levels.emplace_back(boost::core::demangle(name.c_str()), std::string());
    }
#endif
    if (levels.empty()) {
      char offset[32];
      std::snprintf(offset, sizeof offset, "+0x%llx",
                    static_cast<unsigned long long>(frame.offset));
      lines.emplace_back(std::string(), module + offset);
      continue;
    }
    for (const auto& [function, where] : levels)
      lines.emplace_back(function, function + (where.empty() ? " in " + module : " at " + where));
  }
  // From mpdecor's own call outwards, one line says what was left out.
  std::size_t shown = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (starts_the_call(lines[i].first)) {
      shown = i;
      while (shown > 1 && is_plumbing(lines[shown - 1].first))
        --shown;
      break;
    }
  std::string text;
  for (std::size_t i = 0; i < shown; ++i)
    text += "#" + std::to_string(i) + " " + lines[i].second + "\n";
  if (shown < lines.size())
    text += "#" + std::to_string(shown) + " ... " + std::to_string(lines.size() - shown) +
            " frames of mpdecor's call and the child's main\n";
  return text;
}

} // namespace mpdecor::detail

namespace mpdecor {

std::string error::stack_trace() const {
  return trace_.empty() ? std::string() : detail::describe_trace(detail::decode_trace(trace_));
}

} // namespace mpdecor
