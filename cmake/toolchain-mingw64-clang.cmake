# SPDX-License-Identifier: BSL-1.0
# The second Windows compiler: clang (Debian's clang and lld) targeting x86_64-w64-mingw32,
# against Debian's MinGW-w64 runtime (the C runtime, winpthreads, and GCC's libstdc++ and
# libgcc from g++-mingw-w64-x86-64-posix). Everything else is as with GCC
# (toolchain-mingw64.cmake: Wine, the build machine's Boost and cereal headers).
#
#   cmake -S . -B build/windows-clang -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64-clang.cmake
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-mingw64.cmake)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET ${MPDECOR_MINGW_PREFIX})
set(CMAKE_CXX_COMPILER_TARGET ${MPDECOR_MINGW_PREFIX})
# The sysroot keeps the build machine's /usr/include off the path, and gives MinGW's C
# runtime and winpthreads.
set(CMAKE_SYSROOT /usr/${MPDECOR_MINGW_PREFIX})
# Archives of Windows objects, with an index that the linker reads.
set(CMAKE_AR /usr/bin/${MPDECOR_MINGW_PREFIX}-ar)
set(CMAKE_RANLIB /usr/bin/${MPDECOR_MINGW_PREFIX}-ranlib)

# clang 14 does not find the libstdc++ of Debian's MinGW GCC by itself: its headers and its
# libraries (with libgcc) are in GCC's own folder, the newest posix one.
file(GLOB mpdecor_mingw_gcc_dirs LIST_DIRECTORIES true /usr/lib/gcc/${MPDECOR_MINGW_PREFIX}/*-posix)
if(NOT mpdecor_mingw_gcc_dirs)
  message(FATAL_ERROR "toolchain-mingw64-clang: no /usr/lib/gcc/${MPDECOR_MINGW_PREFIX}/*-posix "
                      "(install g++-mingw-w64-x86-64-posix)")
endif()
list(SORT mpdecor_mingw_gcc_dirs COMPARE NATURAL ORDER DESCENDING)
list(GET mpdecor_mingw_gcc_dirs 0 mpdecor_mingw_gcc_dir)
set(mpdecor_libstdcxx ${mpdecor_mingw_gcc_dir}/include/c++)
string(APPEND CMAKE_CXX_FLAGS_INIT " -isystem ${mpdecor_libstdcxx}"
       " -isystem ${mpdecor_libstdcxx}/${MPDECOR_MINGW_PREFIX} -isystem ${mpdecor_libstdcxx}/backward")
# GCC's MinGW libstdc++ keeps its thread-local variables (std::call_once's) in emulated TLS.
string(APPEND CMAKE_CXX_FLAGS_INIT " -femulated-tls")
string(APPEND CMAKE_C_FLAGS_INIT " -femulated-tls")
# lld: GNU ld warns about every type name that clang and GCC lay out differently.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -pthread -fuse-ld=lld -L${mpdecor_mingw_gcc_dir}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-pthread -fuse-ld=lld -L${mpdecor_mingw_gcc_dir}")
