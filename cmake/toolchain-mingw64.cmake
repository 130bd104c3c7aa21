# SPDX-License-Identifier: BSL-1.0
# Cross-compiles for 64-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-x86-64-posix)
# and runs the built programs, CTest's tests included, under Wine (cmake/wine-run.sh).
#
#   cmake -S . -B build/windows -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake
#
# Header-only dependencies (Boost, cereal) come from the build machine: a folder of links
# to them is made in the build tree and handed to the project as MPDECOR_HOST_INCLUDE_DIR.
# The build machine's own include folder (/usr/include) must never reach MinGW's include
# path: its C library headers would shadow MinGW's.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MPDECOR_MINGW_PREFIX x86_64-w64-mingw32)
# The -posix variants use winpthreads, which std::thread and std::mutex need.
set(CMAKE_C_COMPILER ${MPDECOR_MINGW_PREFIX}-gcc-posix)
set(CMAKE_CXX_COMPILER ${MPDECOR_MINGW_PREFIX}-g++-posix)
set(CMAKE_RC_COMPILER ${MPDECOR_MINGW_PREFIX}-windres)

# Packages are searched for only under these roots, never among the build machine's own.
# The prefixes given in CMAKE_PREFIX_PATH (an install of mpdecor made by this toolchain,
# say) hold Windows builds too, so they are roots as well.
set(CMAKE_FIND_ROOT_PATH /usr/${MPDECOR_MINGW_PREFIX} ${CMAKE_PREFIX_PATH})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# WIN32_LEAN_AND_MEAN: windows.h must not pull in winsock.h before Asio includes winsock2.h.
# mingw-shim/ holds the Windows.h that Boost 1.81 asks for (see the header).
set(CMAKE_CXX_FLAGS_INIT "-DWIN32_LEAN_AND_MEAN -isystem ${CMAKE_CURRENT_LIST_DIR}/mingw-shim")
set(CMAKE_C_FLAGS_INIT "-DWIN32_LEAN_AND_MEAN")
# -static: the programs need no MinGW DLLs (libstdc++, libgcc, libwinpthread) beside them;
# without it Wine fails to start them with exit code 53 and no message.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh)

# The folder of links to the build machine's header-only dependencies. The toolchain file
# is read again for every try_compile project; only the real build tree gets the folder.
set(MPDECOR_HOST_INCLUDE_ROOT /usr/include CACHE PATH
    "Folder that holds the build machine's boost/ and cereal/ headers")
if(NOT CMAKE_BINARY_DIR MATCHES "/CMakeFiles/CMakeScratch/|/CMakeFiles/CMakeTmp")
  set(MPDECOR_HOST_INCLUDE_DIR ${CMAKE_BINARY_DIR}/mingw-host-include CACHE PATH
      "Links to the build machine's boost/ and cereal/ headers, for MinGW")
  file(MAKE_DIRECTORY ${MPDECOR_HOST_INCLUDE_DIR})
  foreach(library boost cereal)
    if(NOT EXISTS ${MPDECOR_HOST_INCLUDE_DIR}/${library})
      if(NOT IS_DIRECTORY ${MPDECOR_HOST_INCLUDE_ROOT}/${library})
        message(FATAL_ERROR "toolchain-mingw64: ${MPDECOR_HOST_INCLUDE_ROOT}/${library} not "
                            "found (install libboost1.81-dev and libcereal-dev)")
      endif()
      file(CREATE_LINK ${MPDECOR_HOST_INCLUDE_ROOT}/${library}
           ${MPDECOR_HOST_INCLUDE_DIR}/${library} SYMBOLIC)
    endif()
  endforeach()
endif()
