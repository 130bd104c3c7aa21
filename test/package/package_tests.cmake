# SPDX-License-Identifier: BSL-1.0
# Tests that another project can use mpdecor: find_package on an installed copy, pkg-config,
# and FetchContent or add_subdirectory on the sources. Each test is one run of run_consumer.cmake, which
# configures, builds and runs a consumer project with this build's compiler and settings.

set(MPDECOR_PACKAGE_TEST_DIR ${PROJECT_BINARY_DIR}/package-tests)

# Settings go through a file rather than the command line: lists (CMAKE_PREFIX_PATH) and
# flags with spaces would otherwise be split or mangled on the way to the script.
set(forwarded_variables
  CMAKE_CXX_COMPILER CMAKE_CXX_COMPILER_LAUNCHER CMAKE_CXX_FLAGS CMAKE_EXE_LINKER_FLAGS
  CMAKE_MAKE_PROGRAM CMAKE_TOOLCHAIN_FILE CMAKE_PREFIX_PATH VCPKG_TARGET_TRIPLET
  Boost_DIR cereal_DIR)
set(settings "set(MPDECOR_GENERATOR [==[${CMAKE_GENERATOR}]==])\n")
string(APPEND settings "set(MPDECOR_GENERATOR_PLATFORM [==[${CMAKE_GENERATOR_PLATFORM}]==])\n")
string(APPEND settings "set(MPDECOR_GENERATOR_TOOLSET [==[${CMAKE_GENERATOR_TOOLSET}]==])\n")
string(APPEND settings "set(MPDECOR_BUILD_DIR [==[${PROJECT_BINARY_DIR}]==])\n")
string(APPEND settings "set(MPDECOR_SOURCE_DIR [==[${PROJECT_SOURCE_DIR}]==])\n")
# A cross build runs the consumer through its emulator (Wine for a Windows build).
string(APPEND settings "set(MPDECOR_EMULATOR [==[${CMAKE_CROSSCOMPILING_EMULATOR}]==])\n")
string(APPEND settings "set(MPDECOR_FORWARDED \"\")\n")
foreach(variable IN LISTS forwarded_variables)
  if(NOT "${${variable}}" STREQUAL "")
    string(APPEND settings "list(APPEND MPDECOR_FORWARDED ${variable})\n")
    string(APPEND settings "set(MPDECOR_FORWARD_${variable} [==[${${variable}}]==])\n")
  endif()
endforeach()
file(WRITE ${MPDECOR_PACKAGE_TEST_DIR}/settings.cmake "${settings}")

# $<CONFIG> is the configuration ctest runs (-C), or CMAKE_BUILD_TYPE for one-config
# generators; the consumer is built in the same one.
# The Windows build's consumer is configured as a user's would be: with an ordinary MinGW
# toolchain file (mingw-toolchain.cmake) rather than this build's, and mpdecor_DIR.
set(plain_toolchain "")
if(CMAKE_CROSSCOMPILING AND MINGW)
  set(plain_toolchain -DPLAIN_TOOLCHAIN=${CMAKE_CURRENT_LIST_DIR}/mingw-toolchain.cmake)
endif()
add_test(NAME package.find_package
  COMMAND ${CMAKE_COMMAND}
    -DMODE=find_package
    ${plain_toolchain}
    -DSETTINGS=${MPDECOR_PACKAGE_TEST_DIR}/settings.cmake
    -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}/../find-package-test
    -DWORK_DIR=${MPDECOR_PACKAGE_TEST_DIR}/find-package
    -DBUILD_TYPE=$<CONFIG>
    -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
# Each compiles mpdecor again from its sources, so each build runs one of the two routes:
# FetchContent natively, add_subdirectory in the cross build (Windows under Wine).
if(CMAKE_CROSSCOMPILING)
  set(sources_route add_subdirectory)
else()
  set(sources_route fetch_content)
endif()
add_test(NAME package.${sources_route}
  COMMAND ${CMAKE_COMMAND}
    -DMODE=${sources_route}
    -DSETTINGS=${MPDECOR_PACKAGE_TEST_DIR}/settings.cmake
    -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}/../add-subdirectory-test
    -DWORK_DIR=${MPDECOR_PACKAGE_TEST_DIR}/add-subdirectory
    -DBUILD_TYPE=$<CONFIG>
    -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
# The add_subdirectory consumer compiles mpdecor again from its sources.
set_tests_properties(package.find_package package.${sources_route} PROPERTIES
  LABELS package TIMEOUT 900)
# Plain compiler use with the installed pkg-config file (where pkg-config runs natively).
if(NOT WIN32 AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME package.pkg_config
    COMMAND ${CMAKE_COMMAND}
      -DMODE=pkg_config
      -DSETTINGS=${MPDECOR_PACKAGE_TEST_DIR}/settings.cmake
      -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}/../find-package-test
      -DWORK_DIR=${MPDECOR_PACKAGE_TEST_DIR}/pkg-config
      -DBUILD_TYPE=$<CONFIG>
      -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
  set_tests_properties(package.pkg_config PROPERTIES LABELS package TIMEOUT 900)
endif()
