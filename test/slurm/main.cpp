// SPDX-License-Identifier: BSL-1.0
// The Slurm suite's runner: mpdecor::init comes first, so that a job step started by a
// test serves its call and never reaches the runner.
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_ALTERNATIVE_INIT_API
#include <boost/test/included/unit_test.hpp>

#include <mpdecor/mpdecor.hpp>

namespace {
bool init_tests() {
  boost::unit_test::framework::master_test_suite().p_name.value = "mpdecor_slurm";
  return true;
}
} // namespace

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  return boost::unit_test::unit_test_main(&init_tests, argc, argv);
}
