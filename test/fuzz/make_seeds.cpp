// SPDX-License-Identifier: BSL-1.0
// Writes the seed corpus of the fuzz targets: valid calls and replies, encoded exactly as
// the library encodes them. Usage: mpdecor_fuzz_seeds CALL_DIR REPLY_DIR
#include "fuzz_types.hpp"

#include <mpdecor/mpdecor.hpp>

#include <filesystem>
#include <fstream>

namespace {

void write(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

// A call seed: the selector byte, then the payload of a real call frame.
template <class... Parameters, class... Arguments>
std::string call_seed(std::uint8_t selector, Arguments&&... arguments) {
  const std::string frame = mpdecor::detail::encode_call<Parameters...>(
      fuzzing::function_names[selector], "", std::forward<Arguments>(arguments)...);
  return static_cast<char>(selector) + frame.substr(mpdecor::detail::frame_header_size);
}

template <class... Fields>
std::string reply_seed(mpdecor::detail::frame_kind kind, const Fields&... fields) {
  std::string frame(mpdecor::detail::frame_header_size, '\0');
  mpdecor::detail::output_archive archive(frame);
  (archive(fields), ...);
  mpdecor::detail::write_frame_header(frame.data(), kind,
                                      frame.size() - mpdecor::detail::frame_header_size);
  return frame;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3)
    return 2;
  const std::filesystem::path calls = argv[1];
  const std::filesystem::path replies = argv[2];
  std::filesystem::create_directories(calls);
  std::filesystem::create_directories(replies);
  using namespace fuzzing;
  write(calls / "strings", call_seed<std::vector<std::string>, std::string>(
                               0, std::vector<std::string>{"a", "bc", ""}, std::string("x")));
  write(calls / "structured", call_seed<nested, std::optional<std::tuple<int, std::string>>>(
                                  1, nested{{"k", {1.0, 2.0}}, {"", {}}},
                                  std::make_optional(std::make_tuple(3, std::string("t")))));
  write(calls / "records", call_seed<std::vector<record>, choice>(
                               2, std::vector<record>{{1, 0.5, "r", {1, 2, 3}, true}, {}},
                               choice(std::vector<std::uint8_t>{7, 8})));
  write(calls / "plain", call_seed<int, double, char, bool>(3, 1, 2.5, 'c', true));
  // A small tree, and one nested past the limit, which must be refused.
  write(calls / "tree", call_seed<tree>(4, chain(5)));
  write(calls / "too_deep",
        call_seed<tree>(4, chain(static_cast<int>(mpdecor::detail::max_nesting_depth))));

  using mpdecor::detail::frame_kind;
  write(replies / "value",
        reply_seed(frame_kind::value, result_type{nested{{"a", {1.5}}},
                                                  {record{2, 1.0, "n", {4}, false}},
                                                  choice(std::string("s")),
                                                  std::optional<bool>(true),
                                                  chain(5)}));
  write(replies / "too_deep",
        reply_seed(frame_kind::value,
                   result_type{{},
                               {},
                               choice(1),
                               std::nullopt,
                               chain(static_cast<int>(mpdecor::detail::max_nesting_depth))}));
  write(replies / "exception",
        reply_seed(frame_kind::exception, std::string("std::runtime_error"), std::string("bad")));
  write(replies / "unknown", reply_seed(frame_kind::unknown_function, std::string("no such name")));
  write(replies / "bad_call", reply_seed(frame_kind::bad_call, std::string("undecodable")));
  return 0;
}
