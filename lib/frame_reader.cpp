// SPDX-License-Identifier: BSL-1.0
// mpdecor: reading a child's frames on the parent's event loop.
#include "frame_reader.hpp"

#include <boost/asio/read.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <new>
#include <system_error>

namespace mpdecor::detail {
namespace {

struct frame_read {
  frame_read(channel_ends& c, std::function<void(incoming_frame)> d)
      : channel(c), done(std::move(d)) {}
  channel_ends& channel;
  std::function<void(incoming_frame)> done;
  std::array<char, frame_header_size> header{};
  incoming_frame frame;
  std::uint64_t got = 0;

  void finish(incoming_frame::end how, std::string problem = {}) {
    frame.how = how;
    frame.problem = std::move(problem);
    auto call = std::move(done);
    call(std::move(frame));
  }
};

void read_payload(const std::shared_ptr<frame_read>& read) {
  const std::uint64_t length = read->frame.header.length;
  if (read->got == length)
    return read->finish(incoming_frame::end::complete);
  // At most 1 MiB more at a time: a damaged length costs address space only as the data
  // actually arrives.
  const auto chunk =
      static_cast<std::size_t>(std::min<std::uint64_t>(length - read->got, std::uint64_t{1} << 20));
  auto& payload = read->frame.payload;
  try {
    payload.resize(static_cast<std::size_t>(read->got) + chunk);
  } catch (const std::exception& e) {
    payload = std::string();
    return read->finish(incoming_frame::end::no_memory,
                        std::string(e.what()) + " after " + std::to_string(read->got) + " bytes");
  }
  read->channel.reader().async_read_some(
      boost::asio::buffer(payload.data() + read->got, chunk),
      [read](boost::system::error_code ec, std::size_t count) {
        read->got += count;
        if (ec) {
          read->frame.payload = std::string();
          return read->finish(incoming_frame::end::closed,
                              "the result ended after " + std::to_string(read->got) + " of " +
                                  std::to_string(read->frame.header.length) + " bytes");
        }
        read_payload(read);
      });
}

// The descriptor of the frame's shared-memory segment comes alone, right after its header.
void receive_segment(const std::shared_ptr<frame_read>& read) {
  read->channel.async_wait_to_receive([read](boost::system::error_code ec) {
    if (ec)
      return read->finish(incoming_frame::end::closed);
    std::uint64_t size = 0; // the segment's, for the error if it cannot be mapped
    try {
      std::vector<int> fds = read->channel.receive_descriptors();
      size = segment_size(fds.front());
      read->frame.shared = std::make_shared<const segment>(segment::open(std::move(fds)));
    } catch (const std::system_error& e) {
      // This process could not map it: its own shortage, not the child's fault.
      if (e.code() == std::errc::not_enough_memory) {
        read->frame.header.length += size;
        return read->finish(incoming_frame::end::no_memory, e.what());
      }
      return read->finish(incoming_frame::end::damaged,
                          std::string("its shared memory could not be received: ") + e.what());
    } catch (const std::exception& e) {
      return read->finish(incoming_frame::end::damaged,
                          std::string("its shared memory could not be received: ") + e.what());
    }
    read_payload(read);
  });
}

} // namespace

void async_read_frame(channel_ends& channel, std::function<void(incoming_frame)> done) {
  auto read = std::make_shared<frame_read>(channel, std::move(done));
  boost::asio::async_read(channel.reader(), boost::asio::buffer(read->header),
                          [read](boost::system::error_code ec, std::size_t) {
                            if (ec)
                              return read->finish(incoming_frame::end::closed);
                            try {
                              read->frame.header = read_frame_header(read->header.data());
                            } catch (const decode_failure& e) {
                              return read->finish(incoming_frame::end::damaged, e.what());
                            }
                            reserve_for_reply(read->frame.payload, read->frame.header.length);
                            if (read->frame.header.has_segment)
                              return receive_segment(read);
                            read_payload(read);
                          });
}

} // namespace mpdecor::detail
