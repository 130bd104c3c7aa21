// expect: a non-const reference parameter cannot cross a process boundary
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
#include <string>
void fill(std::string& out) { out = "x"; }
MPDECOR_REGISTER(fill);
