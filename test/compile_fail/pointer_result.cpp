// expect: returns a pointer or a reference cannot run in another process
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
static int value = 1;
int* address() { return &value; }
MPDECOR_REGISTER(address);
