// The functions and result types the fuzz targets decode, shared with the seed writer.
#ifndef MPDECOR_FUZZ_TYPES_HPP
#define MPDECOR_FUZZ_TYPES_HPP

#include <mpdecor/mpdecor.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace fuzzing {

struct record {
  int id = 0;
  double weight = 0;
  std::string name;
  std::vector<std::int32_t> values;
  bool active = false;
};

using nested = std::map<std::string, std::vector<double>>;
using choice = std::variant<int, std::string, std::vector<std::uint8_t>>;

// Cheap bodies: the fuzz targets exercise the decoding, not the work.
inline std::size_t strings(std::vector<std::string> items, std::string extra) {
  return items.size() + extra.size();
}
inline std::size_t structured(nested table, std::optional<std::tuple<int, std::string>> tag) {
  return table.size() + (tag ? 1 : 0);
}
inline std::size_t records(std::vector<record> items, choice pick) {
  return items.size() + pick.index();
}
inline int plain(int a, double b, char c, bool d) { return (a & 0xFF) + (b > 0) + c + d; }

/// Names the call target picks from with the first input byte.
inline const char* const function_names[] = {"fuzzing::strings", "fuzzing::structured",
                                               "fuzzing::records", "fuzzing::plain"};

/// The result type the reply target decodes a value as.
using result_type = std::tuple<nested, std::vector<record>, choice, std::optional<bool>>;

} // namespace fuzzing

#endif
