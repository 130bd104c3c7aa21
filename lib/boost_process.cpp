// SPDX-License-Identifier: BSL-1.0
// mpdecor: the one translation unit that completes header-only Boost.Process v2 where it
// needs one (see MPDECOR_INCLUDE_ENVIRONMENT_IPP in lib/config.hpp).
#include "config.hpp"

#if defined(MPDECOR_INCLUDE_ENVIRONMENT_IPP)
#include <boost/process/v2/impl/environment.ipp>
#endif
