// expect: a lambda with captures, or a function object with data members, cannot be called in a child
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
struct scaler {
  double factor = 2;
  double operator()(double x) const { return x * factor; }
};
MPDECOR_REGISTER(scaler{});
int main() {}
