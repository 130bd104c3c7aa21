// The kernel objects this Windows process holds that a call to a child could leave behind:
// files (pipe ends), processes, threads and job objects. Shared by the tests and the soak
// program, which compare the count before and after many calls.
#ifndef MPDECOR_TEST_WINDOWS_HANDLES_HPP
#define MPDECOR_TEST_WINDOWS_HANDLES_HPP

#if defined(_WIN32)

#include <cwchar>
#include <string>
#include <vector>

#include <windows.h>

namespace windows_handles {

/// Open handles of this process to files, processes, threads and jobs; -1 if unknown.
///
/// Not GetProcessHandleCount: Wine (8.0) answers it with 0, and it also counts the
/// semaphores and events that MinGW's threads library and the system's thread pool make on
/// first use (a mutex gets its semaphore when first contended), which no call leaks. The
/// system's handle list (NtQuerySystemInformation, SystemExtendedHandleInformation) is
/// right on both, and NtQueryObject names each handle's type.
inline long count() {
  struct handle_entry {
    void* object;
    ULONG_PTR process;
    ULONG_PTR value;
    ULONG access;
    USHORT backtrace_index;
    USHORT type_index;
    ULONG attributes;
    ULONG reserved;
  };
  struct handle_list {
    ULONG_PTR count;
    ULONG_PTR reserved;
    handle_entry entries[1];
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
    return -1;
  constexpr int extended_handle_information = 64;
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
    return -1;
  const auto* list = reinterpret_cast<const handle_list*>(buffer.data());
  long counted = 0;
  alignas(8) char type[1024];
  for (ULONG_PTR i = 0; i < list->count; ++i) {
    const auto& entry = list->entries[i];
    if (entry.process != ::GetCurrentProcessId())
      continue;
    if (object_information(reinterpret_cast<HANDLE>(entry.value), object_type_information, type,
                           sizeof type, nullptr) != 0)
      continue;
    const auto* name = reinterpret_cast<const counted_string*>(type);
    const std::wstring kind(name->buffer, name->length / sizeof(wchar_t));
    if (kind == L"File" || kind == L"Process" || kind == L"Thread" || kind == L"Job")
      ++counted;
  }
  return counted;
}

} // namespace windows_handles

#endif

#endif
