// SPDX-License-Identifier: BSL-1.0
// mpdecor: every platform decision and every workaround for a dependency's bug, in one
// place. Compiled sources include this header instead of Boost.Process directly.
#ifndef MPDECOR_LIB_CONFIG_HPP
#define MPDECOR_LIB_CONFIG_HPP

#if defined(_WIN32)
#define MPDECOR_WINDOWS 1
#elif defined(__unix__) || defined(__APPLE__)
#define MPDECOR_POSIX 1
#else
#error "mpdecor supports POSIX systems and Windows only"
#endif

#include <boost/version.hpp>

// Boost.Process v2 and Boost.DLL use std::filesystem, so that neither needs the compiled
// Boost.Filesystem (boostorg/process#390). The build sets both; this keeps a source that
// forgets it from compiling against the other filesystem.
#if !defined(BOOST_PROCESS_USE_STD_FS) || !defined(BOOST_DLL_USE_STD_FS)
#error "build mpdecor with BOOST_PROCESS_USE_STD_FS and BOOST_DLL_USE_STD_FS"
#endif

#if BOOST_VERSION < 108100
#error "mpdecor needs Boost 1.81 or later (Boost.Process v2)"
#endif

// Boost 1.81-1.83: v2/detail/config.hpp uses Boost.Optional and type_traits without
// including them when BOOST_PROCESS_USE_STD_FS is set (boostorg/process#280).
#if BOOST_VERSION < 108400
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#endif

// From Boost 1.86 Process v2 is a compiled library (Boost::process) and these headers are
// its interface; up to 1.85 it is header-only.
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>
#if defined(MPDECOR_POSIX)
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#else
// Boost 1.81-1.82 with GCC on Windows (MinGW): v2/environment.hpp does not compile
// (process_environment's constructors call build_env(sv, ""); fixed in 1.83).
// lib/launch_windows.cpp builds the child's environment block itself, so Windows builds
// never include it.
#include <boost/process/v2/windows/default_launcher.hpp>
#endif

#include <boost/asio/io_context.hpp>

// Boost 1.81-1.83 header-only: impl/environment.ipp, which defines
// process_environment::on_setup, is never included by the headers (fixed in 1.84);
// lib/process.cpp includes it, in exactly one translation unit.
#if defined(MPDECOR_POSIX) && BOOST_VERSION < 108400 &&                                            \
    !defined(BOOST_PROCESS_V2_SEPARATE_COMPILATION)
#define MPDECOR_INCLUDE_ENVIRONMENT_IPP 1
#endif

// Boost 1.81-1.83 on Windows: moving a basic_process into one of another executor type
// keeps the pid but drops the process handle (basic_process_handle_win's converting
// constructor; fixed in 1.84), and the source's destructor then kills the child.
// lib/launch_windows.cpp launches with process_v2::process's own executor type.

// Boost 1.81-1.87 on Windows: a child inherits every inheritable handle of the parent once
// any initializer sets inherit_handles (process_stdio does), so two launches at once (the
// supervisor's thread and a pool's) can leak their pipe ends into each other's children
// (fixed in 1.88, whose launcher passes a list of the handles to inherit);
// lib/launch_windows.cpp passes that list itself (PROC_THREAD_ATTRIBUTE_HANDLE_LIST).

// Boost 1.81 on POSIX: posix::default_launcher forks the whole parent (page tables
// included: 40 ms for a parent with 1 GB touched), and posix::vfork_launcher runs the
// io_context's fork_child notification in the vforked child, which shares the parent's
// memory, and calls ::exit (not ::_exit) there when execve fails. posix::bind_fd::on_setup
// falls off its end without returning its error_code, and the default launcher never reaps
// a child whose exec failed. mpdecor therefore starts its POSIX children with posix_spawn
// (lib/spawn_posix.cpp) and watches them through a pidfd of its own (lib/launch_posix.cpp).

// The fork-server start method needs Linux's signalfd, prctl and SCM_RIGHTS passing;
// elsewhere a call asking for it starts a fresh process.
#if defined(__linux__)
#define MPDECOR_FORK_SERVER 1
#endif

// Large arguments and results through shared memory needs memfd_create, sealing and
// SCM_RIGHTS (lib/shared_memory.hpp); elsewhere everything travels on the channel.
#if defined(__linux__)
#define MPDECOR_SHARED_MEMORY 1
#endif

// Linux 5.3+: a child can be watched through a pidfd (lib/os_posix.cpp); elsewhere, and
// where the kernel or a seccomp filter refuses it, a thread of mpdecor's waits for it.
#if defined(__linux__)
#include <sys/syscall.h>
#if defined(SYS_pidfd_open)
#define MPDECOR_HAS_PIDFD_OPEN 1
#endif
#endif

// The Itanium C++ ABI (libstdc++, libc++) tells the type of the exception being handled,
// even inside catch (...).
#if defined(__GLIBCXX__) || defined(_LIBCPP_VERSION)
#include <cxxabi.h>
#define MPDECOR_HAS_CXXABI 1
#endif
#include <typeinfo>

namespace mpdecor::detail {
namespace process_v2 = boost::process::v2;

/// The type of the exception being handled, where the C++ ABI tells it; nullptr elsewhere.
inline const std::type_info* current_exception_type_info() noexcept {
#if defined(MPDECOR_HAS_CXXABI)
  return abi::__cxa_current_exception_type();
#else
  return nullptr;
#endif
}

// The features above, for common sources, which test them with `if constexpr` rather than
// `#if`: both branches are compiled everywhere, and a function named only in a discarded
// branch needs no definition where the feature is missing.
#if defined(MPDECOR_FORK_SERVER)
inline constexpr bool fork_server_supported = true;
#else
inline constexpr bool fork_server_supported = false;
#endif
#if defined(MPDECOR_SHARED_MEMORY)
inline constexpr bool shared_memory_supported = true;
#else
inline constexpr bool shared_memory_supported = false;
#endif
} // namespace mpdecor::detail

#endif
