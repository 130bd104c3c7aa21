// SPDX-License-Identifier: BSL-1.0
// mpdecor: the Windows half of a child's stack traces (lib/stack_trace.hpp): the stack at
// each throw and at a crash, and the parent's naming of its frames.
//
// GCC's C++ runtime on Windows throws by raising an SEH exception (code 0x20474343, "GCC"
// with a flag) whose first parameter is the exception's unwind header. A vectored
// exception handler runs before any frame-based handler, on the throwing thread's stack,
// so the stack it records leads through RaiseException and the runtime back to the
// function that threw; the frames up to __cxa_throw's are dropped. A rethrow raises the
// same code through __cxa_rethrow, which has no __cxa_throw frame: it is not recorded, so
// that a trace stays the one of the original throw, as on Linux.
//
// Naming: no library at hand reads a MinGW module's symbols (GCC's libbacktrace, which
// can, is not shipped for MinGW; DbgHelp reads PDB files, which MinGW does not write).
// The COFF symbol table that MinGW's linker leaves in every module not stripped is a
// plain array of 18-byte records, read here by hand.
#include "config.hpp"

#if defined(MPDECOR_WINDOWS)

#include "stack_trace.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <cxxabi.h>
#include <fstream>
#include <map>
#include <mutex>
#include <unwind.h>
#include <vector>

#include <windows.h>

namespace mpdecor::detail {
namespace {

#if defined(__GNUC__)
constexpr DWORD gcc_throw_code = 0x20474343;
#endif

std::atomic<bool> recording{false};

// Where a function begins: through the jump of an import thunk when the C++ runtime is a
// DLL (then the function's address in this module is the thunk's).
std::uintptr_t code_of(std::uintptr_t function) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(function);
  if (bytes[0] == 0xFF && bytes[1] == 0x25) { // jmp [rip + displacement]
    std::int32_t displacement = 0;
    std::memcpy(&displacement, bytes + 2, sizeof displacement);
    std::uintptr_t target = 0;
    std::memcpy(&target, bytes + 6 + displacement, sizeof target);
    return target;
  }
  return function;
}

// A return address into __cxa_throw: inside its first bytes (it is a short function).
bool returns_into_throw(const void* frame) noexcept {
  static const std::uintptr_t begin =
      code_of(reinterpret_cast<std::uintptr_t>(&__cxxabiv1::__cxa_throw));
  const auto address = reinterpret_cast<std::uintptr_t>(frame);
  return address > begin && address - begin < 256;
}

LONG WINAPI record_throw(EXCEPTION_POINTERS* exception) {
#if defined(__GNUC__)
  const EXCEPTION_RECORD& record = *exception->ExceptionRecord;
  if (record.ExceptionCode != gcc_throw_code || record.NumberParameters < 1 ||
      !recording.load(std::memory_order_relaxed))
    return EXCEPTION_CONTINUE_SEARCH;
  void* frames[max_trace_frames + 16];
  const USHORT count =
      ::RtlCaptureStackBackTrace(0, static_cast<DWORD>(std::size(frames)), frames, nullptr);
  USHORT first = 0;
  while (first < count && first < 16 && !returns_into_throw(frames[first]))
    ++first;
  if (first == count || first == 16)
    return EXCEPTION_CONTINUE_SEARCH; // a rethrow, or a throw this file cannot place
  ++first;                            // the frame after __cxa_throw's is the function that threw
  auto& slot = next_throw_slot();
  // The object thrown follows the unwind header (libstdc++'s __cxa_exception ends with it).
  const auto* header = reinterpret_cast<const _Unwind_Exception*>(record.ExceptionInformation[0]);
  slot.thrown = header + 1;
  slot.count = std::min<std::size_t>(count - first, max_trace_frames);
  std::copy(frames + first, frames + first + slot.count, slot.frames);
#else
  (void)exception;
#endif
  return EXCEPTION_CONTINUE_SEARCH;
}

// One symbol of a module's COFF symbol table: where its function starts, and its name.
struct coff_symbol {
  std::uint32_t rva;
  std::string name;
};

template <class T>
bool read_at(const std::vector<char>& file, std::size_t offset, T& out) {
  if (offset > file.size() || file.size() - offset < sizeof out)
    return false;
  std::memcpy(&out, file.data() + offset, sizeof out);
  return true;
}

// The functions of the PE file `path`, by address; empty when it has no symbol table.
std::vector<coff_symbol> read_symbols(const std::string& path) {
  std::vector<coff_symbol> symbols;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  IMAGE_DOS_HEADER dos{};
  IMAGE_FILE_HEADER header{};
  std::uint32_t signature = 0;
  if (!read_at(file, 0, dos) || dos.e_magic != IMAGE_DOS_SIGNATURE ||
      !read_at(file, static_cast<std::size_t>(dos.e_lfanew), signature) ||
      signature != IMAGE_NT_SIGNATURE ||
      !read_at(file, static_cast<std::size_t>(dos.e_lfanew) + 4, header) ||
      header.PointerToSymbolTable == 0)
    return symbols;
  const std::size_t sections_at = static_cast<std::size_t>(dos.e_lfanew) + 4 +
                                  sizeof(IMAGE_FILE_HEADER) + header.SizeOfOptionalHeader;
  std::vector<IMAGE_SECTION_HEADER> sections(header.NumberOfSections);
  for (std::size_t i = 0; i < sections.size(); ++i)
    if (!read_at(file, sections_at + i * sizeof(IMAGE_SECTION_HEADER), sections[i]))
      return symbols;
  constexpr std::size_t record_size = 18; // IMAGE_SIZEOF_SYMBOL
  const std::size_t table = header.PointerToSymbolTable;
  const std::size_t strings = table + std::size_t{header.NumberOfSymbols} * record_size;
  if (strings > file.size())
    return symbols;
  for (std::size_t i = 0; i < header.NumberOfSymbols; ++i) {
    const char* record = file.data() + table + i * record_size;
    std::uint32_t value = 0;
    std::int16_t section = 0;
    std::uint16_t type = 0;
    std::memcpy(&value, record + 8, 4);
    std::memcpy(&section, record + 12, 2);
    std::memcpy(&type, record + 14, 2);
    const auto storage = static_cast<unsigned char>(record[16]);
    const auto auxiliary = static_cast<unsigned char>(record[17]);
    const bool function = (type & 0xF0) == 0x20; // "derived type: function"
    if (function && section > 0 && static_cast<std::size_t>(section) <= sections.size() &&
        (storage == IMAGE_SYM_CLASS_EXTERNAL || storage == IMAGE_SYM_CLASS_STATIC)) {
      std::string name;
      std::uint32_t zeroes = 0;
      std::memcpy(&zeroes, record, 4);
      if (zeroes != 0) {
        name.assign(record, 8);
        name.resize(std::strlen(name.c_str()));
      } else {
        std::uint32_t offset = 0;
        std::memcpy(&offset, record + 4, 4);
        if (strings + offset < file.size())
          name = file.data() + strings + offset; // the string table's names end with NUL
      }
      symbols.push_back({sections[static_cast<std::size_t>(section) - 1].VirtualAddress + value,
                         std::move(name)});
    }
    i += auxiliary;
  }
  std::sort(symbols.begin(), symbols.end(),
            [](const coff_symbol& a, const coff_symbol& b) { return a.rva < b.rva; });
  return symbols;
}

std::string utf8_path(const wchar_t* path) {
  const int size = ::WideCharToMultiByte(CP_UTF8, 0, path, -1, nullptr, 0, nullptr, nullptr);
  if (size <= 1)
    return {};
  std::string text(static_cast<std::size_t>(size), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, path, -1, text.data(), size, nullptr, nullptr);
  text.pop_back();
  return text;
}

std::wstring wide_path(const std::string& path) {
  const int size = ::MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, nullptr, 0);
  if (size <= 1)
    return {};
  std::wstring text(static_cast<std::size_t>(size), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, text.data(), size);
  text.pop_back();
  return text;
}

} // namespace

void record_throws() noexcept {
  if (!recording.exchange(true))
    ::AddVectoredExceptionHandler(1, record_throw);
}

std::size_t walk_stack(const void* context, void** frames, std::size_t capacity) noexcept {
#if defined(_M_X64) || defined(__x86_64__)
  // x64 code describes how each function unwinds (its .pdata entry); a function without
  // one is a leaf, whose return address is at the top of the stack.
  CONTEXT at = *static_cast<const CONTEXT*>(context);
  std::size_t count = 0;
  while (count < capacity && at.Rip != 0) {
    frames[count++] = reinterpret_cast<void*>(at.Rip);
    DWORD64 image = 0;
    RUNTIME_FUNCTION* entry = ::RtlLookupFunctionEntry(at.Rip, &image, nullptr);
    if (entry == nullptr) {
      if (at.Rsp == 0)
        break;
      at.Rip = *reinterpret_cast<const DWORD64*>(at.Rsp);
      at.Rsp += 8;
      continue;
    }
    void* handler_data = nullptr;
    DWORD64 frame = 0;
    ::RtlVirtualUnwind(UNW_FLAG_NHANDLER, image, at.Rip, entry, &at, &handler_data, &frame,
                       nullptr);
  }
  return count;
#else
  (void)context;
  (void)frames;
  (void)capacity;
  return 0;
#endif
}

bool module_at(std::uintptr_t address, char* name, std::size_t size,
               std::uintptr_t& base) noexcept {
  HMODULE module = nullptr;
  if (!::GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            reinterpret_cast<LPCWSTR>(address), &module) ||
      module == nullptr)
    return false;
  base = reinterpret_cast<std::uintptr_t>(module);
  if (module == ::GetModuleHandleW(nullptr)) {
    name[0] = '\0';
    return true;
  }
  wchar_t path[MAX_PATH];
  const DWORD length = ::GetModuleFileNameW(module, path, MAX_PATH);
  const int written = length == 0
                          ? 0
                          : ::WideCharToMultiByte(CP_UTF8, 0, path, static_cast<int>(length), name,
                                                  static_cast<int>(size - 1), nullptr, nullptr);
  name[written > 0 ? written : 0] = '\0';
  return true;
}

std::uintptr_t loaded_module(const std::string& path, std::string& file) {
  HMODULE module = nullptr;
  if (path.empty())
    module = ::GetModuleHandleW(nullptr);
  else if (const std::wstring wide = wide_path(path); !wide.empty())
    module = ::GetModuleHandleW(wide.c_str());
  if (module == nullptr)
    return 0;
  wchar_t own[MAX_PATH];
  const DWORD length = ::GetModuleFileNameW(module, own, MAX_PATH);
  file = length == 0 || length == MAX_PATH ? std::string() : utf8_path(own);
  return reinterpret_cast<std::uintptr_t>(module);
}

std::string function_at(const std::string& file, std::uint64_t rva) {
  // Each module's table is read once and kept.
  static std::mutex guard;
  static std::map<std::string, std::vector<coff_symbol>> tables;
  std::lock_guard lock(guard);
  auto found = tables.find(file);
  if (found == tables.end())
    found = tables.emplace(file, read_symbols(file)).first;
  const auto& symbols = found->second;
  auto after = std::upper_bound(
      symbols.begin(), symbols.end(), rva,
      [](std::uint64_t address, const coff_symbol& symbol) { return address < symbol.rva; });
  if (after == symbols.begin())
    return {};
  return std::prev(after)->name;
}

} // namespace mpdecor::detail

#endif
