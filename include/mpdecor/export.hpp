// SPDX-License-Identifier: BSL-1.0
// mpdecor: which declarations the compiled library exports.
//
// The library is built with hidden visibility (-fvisibility=hidden, and on Windows nothing
// is exported by default), so that a shared build exports its public API and nothing else:
// not the Boost, Asio and cereal code compiled into it, and not its internal functions.
// MPDECOR_DECL marks what the headers call into: the functions and classes defined in the
// compiled library. Boost.Config's symbol macros give the spelling for each compiler.
//
//   MPDECOR_SOURCE    defined while the library itself is compiled
//   MPDECOR_DYN_LINK  defined for a shared build, for the library and its consumers alike
//                     (the CMake target and mpdecor.pc set it)
#ifndef MPDECOR_EXPORT_HPP
#define MPDECOR_EXPORT_HPP

#include <boost/config.hpp>

#if defined(MPDECOR_DYN_LINK) && defined(MPDECOR_SOURCE)
#define MPDECOR_DECL BOOST_SYMBOL_EXPORT
#elif defined(MPDECOR_DYN_LINK)
// dllimport on Windows; on ELF platforms default visibility, so that a consumer compiled
// with -fvisibility=hidden still shares the library's exception types.
#define MPDECOR_DECL BOOST_SYMBOL_IMPORT BOOST_SYMBOL_VISIBLE
#else
// A static library: nothing to import, and on ELF platforms the API keeps default
// visibility, so that a shared library linking this archive can export it if it wants to.
#define MPDECOR_DECL BOOST_SYMBOL_VISIBLE
#endif

#endif
