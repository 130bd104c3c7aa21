// SPDX-License-Identifier: BSL-1.0
// mpdecor: starting and ending children on Windows.
#include "config.hpp"

#if defined(MPDECOR_WINDOWS)

#include "launch.hpp"

#include <mpdecor/detail/wire.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cwchar>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <windows.h>

namespace mpdecor::detail {

void job_closer::operator()(void* job) const noexcept { ::CloseHandle(job); }

namespace {

std::error_code last_error() noexcept {
  return {static_cast<int>(::GetLastError()), std::system_category()};
}
process_v2::error_code last_system_error() noexcept {
  return {static_cast<int>(::GetLastError()), boost::system::system_category()};
}

// Owns a handle for the length of one launch.
class owned_handle {
public:
  owned_handle() = default;
  explicit owned_handle(HANDLE handle) : handle_(handle) {}
  owned_handle(const owned_handle&) = delete;
  owned_handle& operator=(const owned_handle&) = delete;
  ~owned_handle() { reset(); }
  HANDLE get() const noexcept { return handle_; }
  HANDLE release() noexcept { return std::exchange(handle_, nullptr); }
  void reset(HANDLE handle = nullptr) noexcept {
    if (handle_ != nullptr && handle_ != INVALID_HANDLE_VALUE)
      ::CloseHandle(handle_);
    handle_ = handle;
  }

private:
  HANDLE handle_ = nullptr;
};

// One pipe of the channel. The parent's end is overlapped, as Asio's I/O completion port
// needs, and never inheritable; the child's end is synchronous, since the child uses plain
// ReadFile and WriteFile, and inheritable (only the child it is listed for inherits it).
// Asio's own pipes (connect_pipe) make both ends overlapped, and the file object of an end
// that Asio has used stays bound to the parent's completion port, so the child's end is
// made here instead. An anonymous pipe (CreatePipe) cannot be overlapped: the pipe is named.
bool create_pipe(bool parent_reads, owned_handle& parent_end, owned_handle& child_end,
                 std::error_code& error) {
  static std::atomic<unsigned long> counter{0};
  const std::wstring name = L"\\\\.\\pipe\\mpdecor-" + std::to_wstring(::GetCurrentProcessId()) +
                            L"-" + std::to_wstring(++counter);
  constexpr DWORD buffer_size = 64 * 1024;
  // FIRST_PIPE_INSTANCE: fails if another process made a pipe of this name first, instead
  // of handing our child's channel to it.
  parent_end.reset(::CreateNamedPipeW(name.c_str(),
                                      (parent_reads ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) |
                                          FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                          PIPE_REJECT_REMOTE_CLIENTS,
                                      1, buffer_size, buffer_size, 0, nullptr));
  if (parent_end.get() == INVALID_HANDLE_VALUE) {
    error = last_error();
    parent_end.release();
    return false;
  }
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  child_end.reset(::CreateFileW(name.c_str(), parent_reads ? GENERIC_WRITE : GENERIC_READ, 0,
                                &inheritable, OPEN_EXISTING, 0, nullptr));
  if (child_end.get() == INVALID_HANDLE_VALUE) {
    error = last_error();
    child_end.release();
    return false;
  }
  return true;
}

// An inheritable copy of one of this process's standard handles, for the child's own
// (none if this process has none).
HANDLE inheritable_copy(DWORD which) {
  const HANDLE original = ::GetStdHandle(which);
  HANDLE copy = nullptr;
  if (original == nullptr || original == INVALID_HANDLE_VALUE ||
      !::DuplicateHandle(::GetCurrentProcess(), original, ::GetCurrentProcess(), &copy, 0, TRUE,
                         DUPLICATE_SAME_ACCESS))
    return nullptr;
  return copy;
}

bool widen(std::string_view text, std::wstring& wide) {
  wide.clear();
  if (text.empty())
    return true;
  const int size = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(),
                                         static_cast<int>(text.size()), nullptr, 0);
  if (size <= 0)
    return false;
  wide.resize(static_cast<std::size_t>(size));
  return ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(),
                               static_cast<int>(text.size()), wide.data(), size) == size;
}

std::wstring_view name_of(std::wstring_view entry) {
  // Names of the per-drive current directories start with '=' ("=C:=C:\work").
  return entry.substr(0, entry.find(L'=', 1));
}

bool same_name(std::wstring_view a, std::wstring_view b) {
  // Windows compares variable names without regard to case (Path and PATH are one).
  return ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                                static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

// The child's environment block: this process's environment, with options.environment
// overriding it and the launch key added, sorted by name as CreateProcess documents.
// Written here because Boost 1.81's process_environment does not compile with MinGW (see
// config.hpp), and it would not replace variables whose names differ only in case.
bool child_environment(const options& settings, const std::string& key, std::vector<wchar_t>& block,
                       std::error_code& error) {
  std::vector<std::wstring> entries;
  for (const auto& [name, value] : settings.environment) {
    std::wstring wide;
    if (!widen(name + "=" + value, wide)) {
      error = std::make_error_code(std::errc::illegal_byte_sequence);
      return false;
    }
    entries.push_back(std::move(wide));
  }
  std::wstring key_entry;
  widen(std::string(launch_key_variable) + "=" + key, key_entry);
  entries.push_back(std::move(key_entry));
  const std::size_t overrides = entries.size();

  wchar_t* const current = ::GetEnvironmentStringsW();
  if (current == nullptr) {
    error = last_error();
    return false;
  }
  for (const wchar_t* entry = current; *entry != L'\0'; entry += std::wcslen(entry) + 1) {
    const std::wstring_view text(entry);
    const bool replaced = std::any_of(
        entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(overrides),
        [&](const std::wstring& added) { return same_name(name_of(added), name_of(text)); });
    if (!replaced)
      entries.emplace_back(text);
  }
  ::FreeEnvironmentStringsW(current);

  std::stable_sort(
      entries.begin(), entries.end(), [](const std::wstring& a, const std::wstring& b) {
        const auto left = name_of(a);
        const auto right = name_of(b);
        return ::CompareStringOrdinal(left.data(), static_cast<int>(left.size()), right.data(),
                                      static_cast<int>(right.size()), TRUE) == CSTR_LESS_THAN;
      });
  block.clear();
  for (const auto& entry : entries)
    block.insert(block.end(), entry.c_str(), entry.c_str() + entry.size() + 1);
  block.push_back(L'\0');
  return true;
}

// The job object of one child: it holds the child's whole process tree (what the child
// starts joins it) and kills what remains of it when its last handle closes: when the
// child has ended or is killed (channel_ends::end_tree), and at the latest when this
// process ends, however it ends. A child that uses mpdecor puts its own children in jobs
// of their own, nested in its own.
HANDLE create_job(std::size_t memory_limit, std::error_code& error) {
  // Not inheritable (no security attributes): a child holding it would keep it alive.
  owned_handle job(::CreateJobObjectW(nullptr, nullptr));
  if (job.get() == nullptr) {
    error = last_error();
    return nullptr;
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (memory_limit != 0) {
    limits.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    limits.ProcessMemoryLimit = memory_limit;
  }
  if (!::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                 sizeof limits)) {
    error = last_error();
    return nullptr;
  }
  return job.release();
}

// Sets up CreateProcess for one child: the only handles it inherits are its channel ends
// and its standard handles (Boost 1.81 would let it inherit every inheritable handle of
// this process, other children's channel ends included); its environment block; and it
// starts suspended, so that it runs no instruction before it is in its job.
struct windows_child_setup {
  std::vector<HANDLE> inherited;
  HANDLE standard[3] = {nullptr, nullptr, nullptr};
  std::vector<wchar_t>* environment = nullptr;
  HANDLE job = nullptr;
  std::error_code failure; // set by on_success when the child could not be put in its job

  std::vector<char> attribute_storage;
  LPPROC_THREAD_ATTRIBUTE_LIST attributes = nullptr;

  windows_child_setup() = default;
  windows_child_setup(const windows_child_setup&) = delete;
  windows_child_setup& operator=(const windows_child_setup&) = delete;
  ~windows_child_setup() {
    if (attributes != nullptr)
      ::DeleteProcThreadAttributeList(attributes);
  }

  process_v2::error_code on_setup(process_v2::windows::default_launcher& launcher,
                                  const std::filesystem::path&, const std::wstring&) {
    SIZE_T size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
    attribute_storage.resize(size);
    auto* list = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attribute_storage.data());
    if (!::InitializeProcThreadAttributeList(list, 1, 0, &size))
      return last_system_error();
    attributes = list;
    if (!::UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                     inherited.data(), inherited.size() * sizeof(HANDLE), nullptr,
                                     nullptr))
      return last_system_error();
    launcher.startup_info.lpAttributeList = attributes;
    launcher.inherit_handles = true;
    launcher.startup_info.StartupInfo.dwFlags |= STARTF_USESTDHANDLES;
    launcher.startup_info.StartupInfo.hStdInput = standard[0];
    launcher.startup_info.StartupInfo.hStdOutput = standard[1];
    launcher.startup_info.StartupInfo.hStdError = standard[2];
    launcher.environment = environment->data();
    launcher.creation_flags |= CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED;
    return {};
  }

  // Runs after CreateProcess succeeded, while the launcher still holds the main thread.
  void on_success(process_v2::windows::default_launcher& launcher, const std::filesystem::path&,
                  const std::wstring&) {
    const auto& created = launcher.process_information;
    if (!::AssignProcessToJobObject(job, created.hProcess)) {
      // The caller ends the child, which has not run yet.
      failure = last_error();
      return;
    }
    if (::ResumeThread(created.hThread) == static_cast<DWORD>(-1))
      failure = last_error();
  }
};

std::string handle_value(HANDLE handle) {
  return std::to_string(reinterpret_cast<std::uintptr_t>(handle));
}

} // namespace

bool channel_ends::has_unread() {
  DWORD available = 0;
  // A pipe whose writers are all gone fails here: nothing more can come.
  return ::PeekNamedPipe(in.native_handle(), nullptr, 0, nullptr, &available, nullptr) != 0 &&
         available > 0;
}

std::unique_ptr<child_process> launch_child(const launch_request& launch, launch_failure& failed) {
  failed.error.clear();
  // The fork server is POSIX-only: a Windows child always starts fresh. Slurm runs on
  // POSIX clusters only.
  if (launch.method == start_method::slurm) {
    failed.error = std::make_error_code(std::errc::not_supported);
    failed.what = "starting srun (the slurm start method needs a POSIX system)";
    return nullptr;
  }
  failed.what = "creating the channel";
  owned_handle to_child;   // parent writes
  owned_handle child_in;   // child reads
  owned_handle from_child; // parent reads
  owned_handle child_out;  // child writes
  if (!create_pipe(false, to_child, child_in, failed.error) ||
      !create_pipe(true, from_child, child_out, failed.error))
    return nullptr;
  boost::system::error_code ec;
  launch.channel.out.assign(to_child.get(), ec);
  if (!ec)
    to_child.release();
  if (!ec)
    launch.channel.in.assign(from_child.get(), ec);
  if (!ec)
    from_child.release();
  if (ec) {
    launch.channel.close();
    failed.error = ec;
    return nullptr;
  }

  failed.what = "preparing the child's environment";
  std::vector<wchar_t> environment;
  if (!child_environment(launch.settings, launch.key, environment, failed.error)) {
    launch.channel.close();
    return nullptr;
  }

  failed.what = "creating the child's job object";
  launch.channel.job.reset(create_job(launch.settings.memory_limit, failed.error));
  const HANDLE job = launch.channel.job.get();
  if (job == nullptr) {
    launch.channel.close();
    return nullptr;
  }

  owned_handle standard[3];
  windows_child_setup setup;
  setup.inherited = {child_in.get(), child_out.get()};
  const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
  for (int i = 0; i < 3; ++i) {
    // Standard output and error go where the call says, or to copies of this process's.
    const HANDLE chosen = i == 0 ? nullptr : static_cast<HANDLE>(launch.output.child_stream(i));
    if (chosen == nullptr)
      standard[i].reset(inheritable_copy(which[i]));
    setup.standard[i] = chosen != nullptr ? chosen : standard[i].get();
    if (setup.standard[i] != nullptr && std::find(setup.inherited.begin(), setup.inherited.end(),
                                                  setup.standard[i]) == setup.inherited.end())
      setup.inherited.push_back(setup.standard[i]);
  }
  setup.environment = &environment;
  setup.job = job;

  failed.what = "finding the program's own executable (" + own_executable().string() +
                " was replaced on disk, and the program's own file cannot be found)";
  const std::filesystem::path program = own_executable_now(failed.error);
  if (program.empty()) {
    launch.channel.close();
    launch.channel.job.reset();
    return nullptr;
  }
  const std::vector<std::string> arguments =
      child_arguments(mode_argument(launch.mode), launch.function,
                      handle_value(child_in.get()) + "," + handle_value(child_out.get()));
  std::optional<process_v2::process> child;
  process_v2::windows::default_launcher launcher;
  // Launched with process_v2::process's own executor type: Boost 1.81 loses the handle when
  // it converts a process to another executor type (see config.hpp).
  const process_v2::process::executor_type executor = launch.io.get_executor();
  if (launch.settings.working_directory.empty())
    child.emplace(launcher(executor, ec, program, arguments, setup));
  else
    child.emplace(launcher(executor, ec, program, arguments, setup,
                           process_v2::process_start_dir{launch.settings.working_directory}));
  // The child has its copies now (or never will): ours must go, or the parent would not
  // see the channel close when the child ends.
  child_in.reset();
  child_out.reset();
  if (ec)
    failed.error = ec;
  else if (setup.failure) {
    failed.error = setup.failure;
    kill_child(*child);
  }
  if (failed.error) {
    child.reset();
    launch.channel.close();
    launch.channel.job.reset();
    failed.what =
        launch.settings.working_directory.empty()
            ? "starting " + program.string()
            : "starting " + program.string() + " in " + launch.settings.working_directory.string();
    return nullptr;
  }
  return own_child(std::move(*child));
}

void kill_child(process_v2::process& child) noexcept {
  // The handle stays open until the supervisor has seen the exit, so it cannot name a
  // process that reused the id. Exit code 1, as Task Manager and taskkill /f use.
  const HANDLE handle = child.native_handle();
  if (handle != nullptr && handle != INVALID_HANDLE_VALUE)
    ::TerminateProcess(handle, 1);
}

} // namespace mpdecor::detail

#endif
