// expect: a parameter type has no serialization
// SPDX-License-Identifier: BSL-1.0
#include <mpdecor/mpdecor.hpp>
#include <mutex>
struct opaque {
  opaque() = default;
  virtual ~opaque() = default;
};
void use(opaque value) { (void)value; }
MPDECOR_REGISTER(use);
