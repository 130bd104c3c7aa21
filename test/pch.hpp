// SPDX-License-Identifier: BSL-1.0
// Precompiled header of the test executable.
#include <mpdecor/mpdecor.hpp>

#include <boost/test/unit_test.hpp>
