# SPDX-License-Identifier: BSL-1.0
# Boost::headers and cereal::cereal for a cross build, from the folder of links to the build
# machine's headers that cmake/toolchain-mingw64.cmake makes (MPDECOR_HOST_INCLUDE_DIR).
# Both libraries are header-only here, so an include folder is all the targets need; sets
# Boost_VERSION as find_package(Boost) would.
if(NOT TARGET Boost::headers)
  add_library(Boost::headers INTERFACE IMPORTED)
  set_target_properties(Boost::headers PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${MPDECOR_HOST_INCLUDE_DIR})
endif()
if(NOT TARGET cereal::cereal)
  add_library(cereal::cereal INTERFACE IMPORTED)
  set_target_properties(cereal::cereal PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${MPDECOR_HOST_INCLUDE_DIR})
endif()

# boost/version.hpp: "#define BOOST_VERSION 108100" is 1.81.0.
file(STRINGS ${MPDECOR_HOST_INCLUDE_DIR}/boost/version.hpp boost_version_line
     REGEX "^#define BOOST_VERSION [0-9]+$")
string(REGEX REPLACE "^#define BOOST_VERSION ([0-9]+)$" "\\1" boost_version_number
       "${boost_version_line}")
math(EXPR boost_major "${boost_version_number} / 100000")
math(EXPR boost_minor "${boost_version_number} / 100 % 1000")
math(EXPR boost_patch "${boost_version_number} % 100")
set(Boost_VERSION ${boost_major}.${boost_minor}.${boost_patch})
if(Boost_VERSION VERSION_LESS 1.81 OR Boost_VERSION VERSION_GREATER_EQUAL 1.86)
  # From 1.86 Process v2 is a compiled library, which would have to be built for the target.
  message(FATAL_ERROR "mpdecor's cross build needs Boost 1.81 to 1.85 (header-only Process "
                      "v2); ${MPDECOR_HOST_INCLUDE_DIR}/boost is ${Boost_VERSION}")
endif()
