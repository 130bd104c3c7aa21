# SPDX-License-Identifier: BSL-1.0
# Configures, builds and runs one consumer project of mpdecor; run with cmake -P.
#
#   MODE                find_package (install this build first), add_subdirectory,
#                       fetch_content (FetchContent on the sources), or pkg_config
#                       (install, then compile with pkg-config's flags)
#   SETTINGS            file written by package_tests.cmake: generator, compiler, flags...
#   CONSUMER_SOURCE_DIR the consumer project
#   WORK_DIR            scratch folder for the install and the consumer's build
#   BUILD_TYPE          configuration to build (may be empty)
#   PLAIN_TOOLCHAIN     (find_package, Windows build) configure the consumer with this
#                       ordinary MinGW toolchain file and mpdecor_DIR alone, none of this
#                       build's settings; run it with the MinGW runtime's DLLs on WINEPATH
cmake_minimum_required(VERSION 3.20)

foreach(required MODE SETTINGS CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "run_consumer.cmake: -D${required}=... is required")
  endif()
endforeach()
include(${SETTINGS})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result COMMAND_ECHO STDOUT)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} failed: ${result}")
  endif()
endfunction()

set(config_arguments "")
if(BUILD_TYPE)
  set(config_arguments --config ${BUILD_TYPE})
endif()

# A fresh folder each run: stale headers from an earlier install, or a cached configure,
# could hide a file that is no longer installed or a setting that no longer works.
file(REMOVE_RECURSE ${WORK_DIR})
set(build_dir ${WORK_DIR}/build)
set(install_dir ${WORK_DIR}/install)

set(prefix_path "${MPDECOR_FORWARD_CMAKE_PREFIX_PATH}")
if(MODE STREQUAL "pkg_config")
  # Plain compiler use, as a Makefile would: the flags come from the installed mpdecor.pc.
  run_step("Installing mpdecor"
    ${CMAKE_COMMAND} --install ${MPDECOR_BUILD_DIR} --prefix ${install_dir} ${config_arguments})
  file(GLOB_RECURSE pc_files ${install_dir}/*/mpdecor.pc)
  list(LENGTH pc_files pc_count)
  if(NOT pc_count EQUAL 1)
    message(FATAL_ERROR "expected one installed mpdecor.pc, found: ${pc_files}")
  endif()
  get_filename_component(pc_dir ${pc_files} DIRECTORY)
  find_program(pkg_config NAMES pkg-config pkgconf REQUIRED)
  set(ENV{PKG_CONFIG_PATH} ${pc_dir})
  execute_process(COMMAND ${pkg_config} --cflags --libs mpdecor
    OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs mpdecor failed: ${result}")
  endif()
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  separate_arguments(extra_flags UNIX_COMMAND
    "${MPDECOR_FORWARD_CMAKE_CXX_FLAGS} ${MPDECOR_FORWARD_CMAKE_EXE_LINKER_FLAGS}")
  file(MAKE_DIRECTORY ${build_dir})
  run_step("Building the consumer with pkg-config's flags"
    ${MPDECOR_FORWARD_CMAKE_CXX_COMPILER} -std=c++17 ${extra_flags}
    ${CONSUMER_SOURCE_DIR}/main.cpp -o ${build_dir}/consumer ${pc_flags})
  run_step("Running the consumer" ${build_dir}/consumer)
  return()
endif()
if(MODE STREQUAL "find_package")
  run_step("Installing mpdecor"
    ${CMAKE_COMMAND} --install ${MPDECOR_BUILD_DIR} --prefix ${install_dir} ${config_arguments})
  list(PREPEND prefix_path ${install_dir})
elseif(NOT MODE STREQUAL "add_subdirectory" AND NOT MODE STREQUAL "fetch_content")
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

set(configure_arguments -S ${CONSUMER_SOURCE_DIR} -B ${build_dir} -G ${MPDECOR_GENERATOR})
if(MPDECOR_GENERATOR_PLATFORM)
  list(APPEND configure_arguments -A ${MPDECOR_GENERATOR_PLATFORM})
endif()
if(MPDECOR_GENERATOR_TOOLSET)
  list(APPEND configure_arguments -T ${MPDECOR_GENERATOR_TOOLSET})
endif()
if(BUILD_TYPE)
  list(APPEND configure_arguments -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
endif()
if(MODE STREQUAL "add_subdirectory")
  list(APPEND configure_arguments -DMPDECOR_SOURCE_DIR=${MPDECOR_SOURCE_DIR})
elseif(MODE STREQUAL "fetch_content")
  # This route builds mpdecor as a shared library: the check below reads what it exports.
  list(APPEND configure_arguments -DCONSUMER_WITH_FETCHCONTENT=ON -DBUILD_SHARED_LIBS=ON
    -DMPDECOR_SOURCE_DIR=${MPDECOR_SOURCE_DIR}
    -DFETCHCONTENT_SOURCE_DIR_MPDECOR=${MPDECOR_SOURCE_DIR})
endif()
if(PLAIN_TOOLCHAIN)
  # As a user would: their own toolchain file, and where the package is. Its search root
  # is MinGW's folder, so the prefix is named through mpdecor_DIR.
  file(GLOB_RECURSE config_files ${install_dir}/*/mpdecorConfig.cmake)
  list(LENGTH config_files config_count)
  if(NOT config_count EQUAL 1)
    message(FATAL_ERROR "expected one installed mpdecorConfig.cmake, found: ${config_files}")
  endif()
  get_filename_component(config_dir ${config_files} DIRECTORY)
  list(APPEND configure_arguments -DCMAKE_TOOLCHAIN_FILE=${PLAIN_TOOLCHAIN}
    -Dmpdecor_DIR=${config_dir})
  if(MPDECOR_FORWARD_CMAKE_MAKE_PROGRAM)
    list(APPEND configure_arguments -DCMAKE_MAKE_PROGRAM=${MPDECOR_FORWARD_CMAKE_MAKE_PROGRAM})
  endif()
else()
  foreach(variable IN LISTS MPDECOR_FORWARDED)
    if(NOT variable STREQUAL "CMAKE_PREFIX_PATH")
      list(APPEND configure_arguments "-D${variable}=${MPDECOR_FORWARD_${variable}}")
    endif()
  endforeach()
  if(prefix_path)
    list(APPEND configure_arguments "-DCMAKE_PREFIX_PATH=${prefix_path}")
  endif()
endif()

run_step("Configuring the consumer" ${CMAKE_COMMAND} ${configure_arguments})

if(MODE STREQUAL "find_package")
  # The package must come from this install, not from a copy elsewhere on the system.
  file(STRINGS ${build_dir}/CMakeCache.txt found_dir REGEX "^mpdecor_DIR:")
  string(REGEX REPLACE "^mpdecor_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  file(REAL_PATH "${found_dir}" found_dir)
  file(REAL_PATH "${install_dir}" real_install_dir)
  string(FIND "${found_dir}" "${real_install_dir}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "find_package(mpdecor) used ${found_dir}, not the copy in ${install_dir}")
  endif()
endif()

run_step("Building the consumer"
  ${CMAKE_COMMAND} --build ${build_dir} --parallel ${config_arguments})

# One-config generators put the program in the build folder, multi-config ones in a
# folder named after the configuration.
set(program "")
foreach(candidate ${build_dir}/consumer ${build_dir}/consumer.exe
                  ${build_dir}/${BUILD_TYPE}/consumer ${build_dir}/${BUILD_TYPE}/consumer.exe)
  if(NOT program AND EXISTS ${candidate} AND NOT IS_DIRECTORY ${candidate})
    set(program ${candidate})
  endif()
endforeach()
if(NOT program)
  message(FATAL_ERROR "the consumer was built, but its program is not in ${build_dir}")
endif()
if(PLAIN_TOOLCHAIN)
  # An ordinary toolchain links the MinGW runtime (libstdc++, libgcc, winpthreads) as DLLs,
  # which Wine finds through WINEPATH, as Windows would beside the program.
  # The toolchain file only sets variables: read here, it names the consumer's compiler.
  include(${PLAIN_TOOLCHAIN})
  find_program(consumer_compiler ${CMAKE_CXX_COMPILER} REQUIRED)
  set(runtime_dirs "")
  foreach(dll libstdc++-6.dll libwinpthread-1.dll)
    execute_process(COMMAND ${consumer_compiler} -print-file-name=${dll}
      OUTPUT_VARIABLE dll_path OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT IS_ABSOLUTE "${dll_path}" OR NOT EXISTS "${dll_path}")
      message(FATAL_ERROR "the MinGW runtime's ${dll} was not found (${dll_path})")
    endif()
    get_filename_component(dll_dir ${dll_path} DIRECTORY)
    # Wine's drive Z: is the root of the build machine's file system.
    list(APPEND runtime_dirs Z:${dll_dir})
  endforeach()
  list(REMOVE_DUPLICATES runtime_dirs)
  set(ENV{WINEPATH} "${runtime_dirs}")
endif()
run_step("Running the consumer" ${MPDECOR_EMULATOR} ${program})

if(MODE STREQUAL "fetch_content" AND CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux")
  # A shared libmpdecor exports its API and nothing else: every exported symbol is in
  # namespace mpdecor (or its type information), or the throw hook.
  file(GLOB_RECURSE libraries ${build_dir}/libmpdecor.so.*.*.*)
  list(LENGTH libraries library_count)
  if(NOT library_count EQUAL 1)
    message(FATAL_ERROR "expected one shared libmpdecor in ${build_dir}, found: ${libraries}")
  endif()
  find_program(nm NAMES nm REQUIRED)
  execute_process(COMMAND ${nm} -D --defined-only -C ${libraries}
    OUTPUT_VARIABLE exported RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "nm -D ${libraries} failed: ${result}")
  endif()
  string(REPLACE "\n" ";" exported "${exported}")
  set(api_count 0)
  set(others "")
  foreach(line IN LISTS exported)
    string(REGEX REPLACE "^[0-9a-f]* *[A-Za-z] " "" symbol "${line}")
    if(symbol MATCHES "^(mpdecor::|typeinfo for mpdecor::|typeinfo name for mpdecor::|vtable for mpdecor::)")
      math(EXPR api_count "${api_count} + 1")
    elseif(NOT symbol STREQUAL "__cxa_throw" AND NOT symbol STREQUAL "")
      string(APPEND others "  ${symbol}\n")
    endif()
  endforeach()
  if(others)
    message(FATAL_ERROR "${libraries} exports symbols outside mpdecor's API:\n${others}")
  endif()
  message(STATUS "${libraries} exports ${api_count} symbols of mpdecor's API and the throw hook")
endif()
