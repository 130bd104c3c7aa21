// SPDX-License-Identifier: BSL-1.0
// mpdecor: the file a Windows child is started from (lib/launch.hpp).
#include "config.hpp"

#if defined(MPDECOR_WINDOWS)

#include "launch.hpp"

#include <string>

#include <windows.h>

namespace mpdecor::detail {
namespace {

// A handle on this program's own executable file, opened when the program starts: Windows
// lets a running program's file be renamed (not removed or overwritten), which is how an
// upgrade replaces it, and the handle follows the file wherever it is renamed to. Opened
// for its attributes only, sharing everything, so that it stands in nobody's way; never
// inherited.
HANDLE open_own_file() {
  return ::CreateFileW(own_executable().c_str(), 0,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                       OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
}
const HANDLE own_file = open_own_file();

bool same_file(HANDLE a, HANDLE b) {
  BY_HANDLE_FILE_INFORMATION first{};
  BY_HANDLE_FILE_INFORMATION second{};
  return ::GetFileInformationByHandle(a, &first) && ::GetFileInformationByHandle(b, &second) &&
         first.dwVolumeSerialNumber == second.dwVolumeSerialNumber &&
         first.nFileIndexHigh == second.nFileIndexHigh &&
         first.nFileIndexLow == second.nFileIndexLow;
}

// True when `path` names the file of `own_file`.
bool holds_own_file(const std::filesystem::path& path) {
  const HANDLE there =
      ::CreateFileW(path.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
  if (there == INVALID_HANDLE_VALUE)
    return false;
  const bool same = same_file(there, own_file);
  ::CloseHandle(there);
  return same;
}

} // namespace

std::filesystem::path own_executable_now(std::error_code& error) {
  const std::filesystem::path& started = own_executable();
  if (own_file == INVALID_HANDLE_VALUE || holds_own_file(started))
    return started;
  // Renamed away: where is it now?
  std::wstring buffer(32768, L'\0');
  const DWORD length =
      ::GetFinalPathNameByHandleW(own_file, buffer.data(), static_cast<DWORD>(buffer.size()),
                                  FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (length != 0 && length < buffer.size()) {
    buffer.resize(length);
    if (buffer.rfind(L"\\\\?\\UNC\\", 0) == 0)
      buffer = L"\\\\" + buffer.substr(8);
    else if (buffer.rfind(L"\\\\?\\", 0) == 0)
      buffer = buffer.substr(4);
    const std::filesystem::path now(buffer);
    if (holds_own_file(now))
      return now;
  }
  error = std::make_error_code(std::errc::no_such_file_or_directory);
  return {};
}

} // namespace mpdecor::detail

#endif
