// expect: these arguments do not match the function's parameters
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
int add(int a, int b) { return a + b; }
MPDECOR_REGISTER(add);
int main() { return mpdecor::proc_wait(add)("one", 2); }
