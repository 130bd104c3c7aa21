// expect: a generic lambda \(auto parameters\) or an object with several operator\(\) overloads has no single signature
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
constexpr auto twice = [](auto x) { return x + x; };
MPDECOR_REGISTER(twice);
int main() {}
