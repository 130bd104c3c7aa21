// expect: a lambda with captures, or a function object with data members, cannot be called in a child
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
int main() {
  int offset = 3;
  auto shifted = [offset](int x) { return x + offset; };
  return mpdecor::proc_wait(shifted)(1);
}
