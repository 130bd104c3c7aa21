// SPDX-License-Identifier: BSL-1.0
// shared_array: made and sealed in shared memory, passed to real children and pool workers
// and returned from them without a copy (the same segment on both sides, told by its
// inode), copied where no descriptor can travel, protected from writes, and refused when a
// message refers to arrays that did not come with it.
#include "functions.hpp"
#include "helpers.hpp"

#include <mpdecor/mpdecor.hpp>

#include "shared_memory.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#if defined(__linux__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace fixtures;

namespace {

using mpdecor::detail::attachments;
using mpdecor::detail::decode_failure;
using mpdecor::detail::input_archive;
using mpdecor::detail::output_archive;

constexpr std::uint64_t large = 1 << 20; // 8 MB of doubles

double sum_of(const mpdecor::shared_array<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0);
}

template <class T>
std::string encode(const T& value, attachments* side) {
  std::string payload;
  output_archive archive(payload, side);
  archive(value);
  return payload;
}

// Restores the program-wide threshold when a test ends.
struct restore_threshold {
  std::size_t saved = mpdecor::shared_memory_threshold();
  ~restore_threshold() { mpdecor::set_shared_memory_threshold(saved); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(shared_arrays)

BOOST_AUTO_TEST_CASE(a_writer_fills_shared_memory_and_share_seals_it_without_a_copy) {
  mpdecor::array_writer<double> out(1000);
  BOOST_TEST(out.size() == 1000u);
  BOOST_TEST(std::all_of(out.begin(), out.end(), [](double v) { return v == 0; }));
  std::iota(out.begin(), out.end(), 0.0);
  const double* written = out.data();
  const mpdecor::shared_array<double> values = std::move(out).share();
  BOOST_TEST(out.empty());
  BOOST_TEST(values.size() == 1000u);
  BOOST_TEST(values[999] == 999.0);
  BOOST_TEST(sum_of(values) == 999.0 * 1000 / 2);
  const mpdecor::shared_array<double> copy = values; // shares the storage
  BOOST_TEST(copy.data() == values.data());
  BOOST_TEST((copy == values));
  BOOST_TEST(values.to_vector() == std::vector<double>(values.begin(), values.end()));
#if defined(__linux__)
  BOOST_TEST(values.in_shared_memory());
  // Sealed: no process can write the bytes or change the size any more.
  const int fd = values.storage()->fd();
  const int seals = ::fcntl(fd, F_GET_SEALS);
  BOOST_TEST((seals & F_SEAL_WRITE) != 0);
  BOOST_TEST((seals & F_SEAL_SHRINK) != 0);
  const double minus_one = -1;
  BOOST_TEST(::pwrite(fd, &minus_one, sizeof minus_one, 0) == -1);
  BOOST_TEST(::ftruncate(fd, 0) == -1);
  BOOST_TEST(values[0] == 0.0);
  (void)written;
#else
  BOOST_TEST(!values.in_shared_memory());
  BOOST_TEST(values.data() == written);
#endif
}

BOOST_AUTO_TEST_CASE(an_array_made_from_data_is_a_copy_and_an_empty_one_has_no_storage) {
  std::vector<double> source{1, 2, 3};
  const mpdecor::shared_array<double> values(source);
  source[0] = 100;
  BOOST_TEST(values.to_vector() == (std::vector<double>{1, 2, 3}));
  const mpdecor::shared_array<double> listed{4, 5};
  BOOST_TEST(listed.back() == 5.0);
  const mpdecor::shared_array<double> empty;
  BOOST_TEST(empty.empty());
  BOOST_TEST(!empty.in_shared_memory());
  BOOST_TEST(mpdecor::array_writer<double>(0).empty());
  BOOST_TEST(std::move(mpdecor::array_writer<double>(0)).share().empty());
}

BOOST_AUTO_TEST_CASE(an_array_goes_to_a_child_and_back) {
  const auto values = make_array(large);
  const auto back = mpdecor::proc_wait(identity_array)(values);
  BOOST_TEST(back.size() == large);
  BOOST_TEST((back == values));
  const auto scaled = mpdecor::proc_wait(scale_array)(values, 2.0);
  BOOST_TEST(scaled.size() == large);
  BOOST_TEST(scaled[12345] == 24690.0);
  BOOST_TEST(sum_of(scaled) == 2 * sum_of(values));
  const auto made = mpdecor::proc_wait(make_array)(std::uint64_t{10});
  BOOST_TEST(made.to_vector() == (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  BOOST_TEST(mpdecor::proc_wait(identity_array)(mpdecor::shared_array<double>()).empty());
}

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(a_call_passes_the_segment_itself_both_ways) {
  const auto values = make_array(large);
  const std::uint64_t inode = segment_inode(values);
  BOOST_REQUIRE(inode != 0);
  // The child sees the parent's segment, and returning it hands the same one back.
  const auto seen = mpdecor::proc_wait(inspect_arrays)(std::vector{values});
  BOOST_TEST(seen.at(0).first == inode);
  BOOST_TEST(seen.at(0).second == sum_of(values));
  const auto back = mpdecor::proc_wait(identity_array)(values);
  BOOST_TEST(segment_inode(back) == inode);
  BOOST_TEST(back.data() != values.data()); // a second mapping of the same pages
  // A result the child made comes back in the child's segment, mapped, not copied.
  const auto scaled = mpdecor::proc_wait(scale_array)(values, 3.0);
  BOOST_TEST(scaled.in_shared_memory());
  BOOST_TEST(segment_inode(scaled) != inode);
}

BOOST_AUTO_TEST_CASE(the_threshold_does_not_apply_to_arrays) {
  restore_threshold restore;
  mpdecor::set_shared_memory_threshold(0);
  const auto values = make_array(1000);
  BOOST_TEST(segment_inode(mpdecor::proc_wait(identity_array)(values)) == segment_inode(values));
  mpdecor::set_shared_memory_threshold(1);
  BOOST_TEST(segment_inode(mpdecor::proc_wait(identity_array)(values)) == segment_inode(values));
}

BOOST_AUTO_TEST_CASE(pool_workers_and_the_fork_server_pass_the_segment_too) {
  const auto values = make_array(large);
  const std::uint64_t inode = segment_inode(values);
  mpdecor::pool_options settings;
  settings.workers = 1;
  mpdecor::pool workers(settings);
  for (int round = 0; round < 3; ++round) {
    const auto back = workers.submit(identity_array)(values).get();
    BOOST_TEST(segment_inode(back) == inode);
    BOOST_TEST((back == values));
  }
  const auto scaled = workers.submit(scale_array)(values, 0.5).get();
  BOOST_TEST(scaled[2] == 1.0);
  const auto forked =
      mpdecor::proc_wait(identity_array).start_method(mpdecor::start_method::fork_server)(values);
  BOOST_TEST(segment_inode(forked) == inode);
}

BOOST_AUTO_TEST_CASE(one_array_passed_twice_goes_once_and_arrays_past_the_limit_are_copied) {
  const auto values = make_array(100);
  std::vector<mpdecor::shared_array<double>> arrays{values, values};
  for (std::size_t i = 0; i < mpdecor::detail::max_shared_arrays + 20; ++i)
    arrays.push_back(make_array(i + 1));
  attachments side(0);
  (void)encode(arrays, &side);
  BOOST_TEST(side.arrays.size() == mpdecor::detail::max_shared_arrays);
  const auto seen = mpdecor::proc_wait(inspect_arrays)(arrays);
  BOOST_REQUIRE(seen.size() == arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    BOOST_TEST(seen[i].second == sum_of(arrays[i]));
    // Those past the limit came as blocks of the message's segment: the child's copies.
    const bool passed = i < mpdecor::detail::max_shared_arrays + 1;
    BOOST_TEST((seen[i].first == segment_inode(arrays[i])) == passed, "array " << i);
  }
}

BOOST_AUTO_TEST_CASE(a_child_cannot_write_into_an_array_it_was_given) {
  const auto values = make_array(1000);
  BOOST_CHECK_THROW(mpdecor::proc_wait(scribble_on)(values), mpdecor::child_crashed);
  BOOST_TEST(values[0] == 0.0);
  BOOST_TEST(sum_of(values) == 999.0 * 1000 / 2);
}

BOOST_AUTO_TEST_CASE(arrays_are_released_with_the_last_copy) {
  const int before = helpers::open_descriptors();
  {
    const auto values = make_array(large);
    const auto back = mpdecor::proc_wait(identity_array)(values);
    mpdecor::pool_options settings;
    settings.workers = 1;
    mpdecor::pool workers(settings);
    BOOST_TEST((workers.submit(identity_array)(back).get() == values));
    BOOST_TEST(helpers::open_descriptors() > before);
  }
  BOOST_TEST(helpers::open_descriptors() == before);
  BOOST_TEST(!maps_shared_segment());
}

BOOST_AUTO_TEST_CASE(a_message_refers_only_to_arrays_that_came_with_it) {
  const auto values = make_array(10);
  attachments side(0);
  const std::string payload = encode(values, &side);
  BOOST_REQUIRE(side.arrays.size() == 1u);
  {
    input_archive archive(payload, mpdecor::detail::segment_contents({}, &side.arrays));
    mpdecor::shared_array<double> decoded;
    archive(decoded);
    BOOST_TEST(decoded.data() == values.data());
  }
  const auto refused = [&](mpdecor::detail::segment_contents with, const std::string& text) {
    input_archive archive(payload, with);
    mpdecor::shared_array<double> decoded;
    try {
      archive(decoded);
    } catch (const decode_failure& e) {
      BOOST_TEST_MESSAGE(e.what());
      return std::string(e.what()).find(text) != std::string::npos;
    }
    return false;
  };
  BOOST_TEST(refused({}, "refers to shared array 0 but 0 came with it"));
  const auto smaller = make_array(4);
  const std::vector<std::shared_ptr<const mpdecor::detail::shared_bytes>> short_one{
      smaller.storage()};
  BOOST_TEST(
      refused({{}, &short_one}, "claims 10 elements of 8 bytes but its segment has only 32"));
}

BOOST_AUTO_TEST_CASE(an_unsealed_descriptor_is_refused_as_an_array) {
  const int fd = ::memfd_create("not-sealed", MFD_CLOEXEC);
  BOOST_REQUIRE(fd != -1);
  BOOST_REQUIRE(::ftruncate(fd, 4096) == 0);
  const int before = helpers::open_descriptors();
  BOOST_CHECK_THROW(mpdecor::detail::shared_bytes::open(fd), decode_failure);
  BOOST_TEST(helpers::open_descriptors() == before - 1); // closed on the way out
}

BOOST_AUTO_TEST_CASE(too_many_descriptors_with_one_message_are_all_closed_and_refused) {
  int ends[2] = {-1, -1};
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
  const int before = helpers::open_descriptors();
  const std::vector<int> sent(mpdecor::detail::max_shared_arrays + 1, ends[0]);
  mpdecor::detail::send_fds(ends[0], sent);
  BOOST_CHECK_THROW(mpdecor::detail::receive_fds(ends[1], 4), std::runtime_error);
  BOOST_TEST(helpers::open_descriptors() == before);
  mpdecor::detail::send_fds(ends[0], std::vector<int>(3, ends[0]));
  const std::vector<int> got = mpdecor::detail::receive_fds(ends[1], 4);
  BOOST_TEST(got.size() == 3u);
  for (const int fd : got)
    ::close(fd);
  ::close(ends[0]);
  ::close(ends[1]);
}
#endif

BOOST_AUTO_TEST_CASE(without_descriptors_an_array_travels_in_the_message) {
  // What a Slurm step gets (and every call on Windows): the bytes in the message, and the
  // receiver's own copy.
  const auto values = make_array(1000);
  const std::string payload = encode(values, nullptr);
  BOOST_TEST(payload.size() == 8 + 1000 * sizeof(double));
  input_archive archive(payload);
  mpdecor::shared_array<double> decoded;
  archive(decoded);
  BOOST_TEST((decoded == values));
  BOOST_TEST(decoded.data() != values.data());
  BOOST_TEST(archive.bytes_left() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
