// expect: a pointer parameter cannot cross a process boundary
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
int count(const char* text) { return text[0]; }
MPDECOR_REGISTER(count);
