// SPDX-License-Identifier: BSL-1.0
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

/// A recursive type: the decoders must refuse nesting past max_nesting_depth (wire.hpp)
/// instead of recursing until the stack overflows.
struct tree {
  std::vector<tree> kids;
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
inline std::size_t branches(tree root) { return root.kids.size(); }

/// Names the call target picks from with the first input byte.
inline const char* const function_names[] = {"fuzzing::strings", "fuzzing::structured",
                                             "fuzzing::records", "fuzzing::plain",
                                             "fuzzing::branches"};

/// A chain of `depth` nodes, built without recursion.
inline tree chain(int depth) {
  tree root;
  for (int i = 1; i < depth; ++i) {
    tree parent;
    parent.kids.push_back(std::move(root));
    root = std::move(parent);
  }
  return root;
}

/// The result type the reply target decodes a value as.
using result_type = std::tuple<nested, std::vector<record>, choice, std::optional<bool>, tree>;

} // namespace fuzzing

#endif
