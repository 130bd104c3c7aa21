// expect: a pointer parameter cannot cross a process boundary
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
int count(int* values) { return values[0]; }
int main() { return mpdecor::proc_wait(count)(nullptr); }
