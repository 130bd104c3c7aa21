// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
int second_function() { return 2; }
MPDECOR_REGISTER_AS(second_function, "twice");
