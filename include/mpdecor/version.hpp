// SPDX-License-Identifier: BSL-1.0
// mpdecor: the library's version. CMakeLists.txt reads it from here, so it is written once.
#ifndef MPDECOR_VERSION_HPP
#define MPDECOR_VERSION_HPP

#define MPDECOR_VERSION_MAJOR 0
#define MPDECOR_VERSION_MINOR 1
#define MPDECOR_VERSION_PATCH 0

/// The version as one number, major * 10000 + minor * 100 + patch, for `#if` tests.
#define MPDECOR_VERSION                                                                            \
  (MPDECOR_VERSION_MAJOR * 10000 + MPDECOR_VERSION_MINOR * 100 + MPDECOR_VERSION_PATCH)

#define MPDECOR_DETAIL_STRINGIZE2(x) #x
#define MPDECOR_DETAIL_STRINGIZE(x) MPDECOR_DETAIL_STRINGIZE2(x)
/// The version as text, "major.minor.patch".
#define MPDECOR_VERSION_STRING                                                                     \
  MPDECOR_DETAIL_STRINGIZE(MPDECOR_VERSION_MAJOR)                                                  \
  "." MPDECOR_DETAIL_STRINGIZE(MPDECOR_VERSION_MINOR) "." MPDECOR_DETAIL_STRINGIZE(                \
      MPDECOR_VERSION_PATCH)

#endif
