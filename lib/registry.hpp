// SPDX-License-Identifier: BSL-1.0
// mpdecor: the registry of functions, as the library sees it.
#ifndef MPDECOR_LIB_REGISTRY_HPP
#define MPDECOR_LIB_REGISTRY_HPP

#include <mpdecor/register.hpp>

#include <string>

namespace mpdecor::detail {

/// Throws usage_error when two registrations share a name, naming both places.
void check_registrations();
/// "a, b, c": every registered name, for error messages.
std::string registered_names();

} // namespace mpdecor::detail

#endif
