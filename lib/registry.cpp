// SPDX-License-Identifier: BSL-1.0
// mpdecor: the registry of functions.
#include "registry.hpp"

#include <mpdecor/errors.hpp>

#include <algorithm>
#include <vector>

namespace mpdecor::detail {
namespace {

// Registrations run during static initialization, in any order across translation units:
// a function-local static is constructed on first use, before any of them reads it.
// No lock: static initialization runs on one thread, and afterwards the registry is only
// read.
std::vector<registration>& registry() {
  static std::vector<registration> entries;
  return entries;
}

std::string where(const registration& entry) {
  return std::string(entry.file) + ":" + std::to_string(entry.line);
}

} // namespace

void add_registration(const registration& entry) noexcept {
  // Out of memory during static initialization: nothing sensible remains to be done.
  registry().push_back(entry);
}

const registration* find_registration(std::string_view name) noexcept {
  for (const auto& entry : registry())
    if (entry.name == name)
      return &entry;
  return nullptr;
}

std::string_view registered_name(erased_function function, const char* signature) {
  for (const auto& entry : registry())
    if (entry.function == function)
      return entry.name;
  throw not_registered(std::string("mpdecor: the function of type ") + signature +
                           " given to proc/proc_wait is not registered; add "
                           "MPDECOR_REGISTER(its_name) in a source file of this executable",
                       {}, 0);
}

void check_registrations() {
  const auto& entries = registry();
  for (auto first = entries.begin(); first != entries.end(); ++first)
    for (auto second = std::next(first); second != entries.end(); ++second)
      if (first->name == second->name)
        throw usage_error("mpdecor: the name '" + std::string(first->name) +
                          "' is registered twice, at " + where(*first) + " and at " +
                          where(*second) +
                          "; give one of them another name with "
                          "MPDECOR_REGISTER_AS");
}

std::string registered_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry())
    names.emplace_back(entry.name);
  std::sort(names.begin(), names.end());
  std::string result;
  for (const auto& name : names)
    result += (result.empty() ? "" : ", ") + name;
  return result.empty() ? "none" : result;
}

} // namespace mpdecor::detail
