// SPDX-License-Identifier: BSL-1.0
// scripts/b2-test.sh builds this without warnings-as-errors=on: mpdecor's usage
// requirements must leave a consumer's warnings as warnings, whatever mpdecor's own
// sources are compiled with. The unused variable is a -Wall warning on purpose.
#include <mpdecor/mpdecor.hpp>

int main(int argc, char** argv) {
  int unused_on_purpose = 0;
  mpdecor::init(argc, argv);
  return 0;
}
