// SPDX-License-Identifier: BSL-1.0
// Registers "twice"; second.cpp registers another function under the same name.
#include <mpdecor/mpdecor.hpp>
int first_function() { return 1; }
MPDECOR_REGISTER_AS(first_function, "twice");
