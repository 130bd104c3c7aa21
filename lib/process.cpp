// mpdecor: the one translation unit that completes header-only Boost.Process v2.
#include "config.hpp"

#if defined(MPDECOR_INCLUDE_ENVIRONMENT_IPP)
#include <boost/process/v2/impl/environment.ipp>
#endif
