// SPDX-License-Identifier: BSL-1.0
// The kernel objects this Windows process holds: how many a call to a child could leave
// behind (files such as pipe ends, processes, threads and job objects), and which pipes a
// child holds. Shared by the tests and the soak program, which compare the count before and
// after many calls.
#ifndef MPDECOR_TEST_WINDOWS_HANDLES_HPP
#define MPDECOR_TEST_WINDOWS_HANDLES_HPP

#if defined(_WIN32)

#include <cstdint>
#include <cwchar>
#include <optional>
#include <string>
#include <vector>

#include <windows.h>

namespace windows_handles {

/// One open handle of this process.
struct handle_entry {
  std::uintptr_t value = 0;
  std::wstring type; ///< the object's type: File, Process, Thread, Job, Event...
  std::wstring name; ///< the object's name (a pipe's is \Device\NamedPipe\...), if asked for
};

/// Every open handle of this process, with its type, and with its name when `names` is set
/// (for File handles only); nothing if the system cannot tell.
///
/// Not GetProcessHandleCount: Wine (8.0) answers it with 0. The system's handle list
/// (NtQuerySystemInformation, SystemExtendedHandleInformation) is right on both, and
/// NtQueryObject names each handle's type and object.
///
/// Asking a File handle's name can block on Windows while a synchronous read or write is
/// pending on that handle in another thread: ask only where no such operation runs.
inline std::optional<std::vector<handle_entry>> list(bool names) {
  struct system_entry {
    void* object;
    ULONG_PTR process;
    ULONG_PTR value;
    ULONG access;
    USHORT backtrace_index;
    USHORT type_index;
    ULONG attributes;
    ULONG reserved;
  };
  struct system_list {
    ULONG_PTR count;
    ULONG_PTR reserved;
    system_entry entries[1];
  };
  struct counted_string {
    USHORT length;
    USHORT maximum_length;
    wchar_t* buffer;
  };
  using query_system = LONG(WINAPI*)(int, void*, ULONG, ULONG*);
  using query_object = LONG(WINAPI*)(HANDLE, int, void*, ULONG, ULONG*);
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  const auto system_information = reinterpret_cast<query_system>(
      reinterpret_cast<void*>(::GetProcAddress(ntdll, "NtQuerySystemInformation")));
  const auto object_information = reinterpret_cast<query_object>(
      reinterpret_cast<void*>(::GetProcAddress(ntdll, "NtQueryObject")));
  if (system_information == nullptr || object_information == nullptr)
    return std::nullopt;
  constexpr int extended_handle_information = 64;
  constexpr int object_name_information = 1;
  constexpr int object_type_information = 2;
  constexpr LONG length_mismatch = static_cast<LONG>(0xC0000004U);
  std::vector<char> buffer(std::size_t{1} << 20);
  ULONG needed = 0;
  LONG status = 0;
  while ((status = system_information(extended_handle_information, buffer.data(),
                                      static_cast<ULONG>(buffer.size()), &needed)) ==
         length_mismatch)
    buffer.resize(buffer.size() * 2);
  if (status != 0)
    return std::nullopt;
  const auto text_of = [](const char* answer) {
    const auto* text = reinterpret_cast<const counted_string*>(answer);
    return text->buffer == nullptr ? std::wstring()
                                   : std::wstring(text->buffer, text->length / sizeof(wchar_t));
  };
  const auto* system = reinterpret_cast<const system_list*>(buffer.data());
  std::vector<handle_entry> handles;
  alignas(8) char answer[4096];
  for (ULONG_PTR i = 0; i < system->count; ++i) {
    const auto& entry = system->entries[i];
    if (entry.process != ::GetCurrentProcessId())
      continue;
    const auto handle = reinterpret_cast<HANDLE>(entry.value);
    handle_entry found;
    found.value = entry.value;
    if (object_information(handle, object_type_information, answer, sizeof answer, nullptr) != 0)
      continue;
    found.type = text_of(answer);
    if (names && found.type == L"File" &&
        object_information(handle, object_name_information, answer, sizeof answer, nullptr) == 0)
      found.name = text_of(answer);
    handles.push_back(std::move(found));
  }
  return handles;
}

/// Open handles of this process to files, processes, threads and jobs; -1 if unknown.
///
/// Events and semaphores are left out: MinGW's threads library and the system's thread pool
/// make them on first use (a mutex gets its semaphore when first contended), and no call
/// leaks them.
inline long count() {
  const auto handles = list(false);
  if (!handles)
    return -1;
  long counted = 0;
  for (const auto& handle : *handles)
    if (handle.type == L"File" || handle.type == L"Process" || handle.type == L"Thread" ||
        handle.type == L"Job")
      ++counted;
  return counted;
}

} // namespace windows_handles

#endif

#endif
