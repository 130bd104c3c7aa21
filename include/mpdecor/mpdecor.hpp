// SPDX-License-Identifier: BSL-1.0
// mpdecor: run ordinary functions in separate processes with one line of code.
//
//     #include <mpdecor/mpdecor.hpp>
//
//     double train(std::string config, int epochs);
//     MPDECOR_REGISTER(train);
//
//     int main(int argc, char** argv) {
//       mpdecor::init(argc, argv);                              // first line of main
//       auto h = mpdecor::proc(train)("a.cfg", 5);              // returns at once
//       double loss = mpdecor::proc_wait(train)("b.cfg", 10);   // waits for the result
//       mpdecor::wait_all();
//     }
#ifndef MPDECOR_MPDECOR_HPP
#define MPDECOR_MPDECOR_HPP

#include <mpdecor/errors.hpp>
#include <mpdecor/handle.hpp>
#include <mpdecor/init.hpp>
#include <mpdecor/log.hpp>
#include <mpdecor/options.hpp>
#include <mpdecor/pool.hpp>
#include <mpdecor/proc.hpp>
#include <mpdecor/register.hpp>
#include <mpdecor/serialization.hpp>
#include <mpdecor/shared_array.hpp>
#include <mpdecor/shared_memory.hpp>
#include <mpdecor/version.hpp>
#include <mpdecor/wait.hpp>

#endif
