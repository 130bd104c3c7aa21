// SPDX-License-Identifier: BSL-1.0
// Passing and returning values: plain structs, standard containers, optional and variant
// cross the process boundary by value, with no serialization code to write.
#include <mpdecor/mpdecor.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

// A plain aggregate: public fields, no serialize() needed (Boost.PFR walks the fields).
struct summary {
  std::string label;
  double mean = 0;
  double max = 0;
  std::vector<double> above_mean;
};

summary summarize(std::string label, std::vector<double> samples) {
  summary result{std::move(label), 0, samples.empty() ? 0 : samples.front(), {}};
  for (double x : samples) {
    result.mean += x / static_cast<double>(samples.size());
    result.max = x > result.max ? x : result.max;
  }
  for (double x : samples)
    if (x > result.mean)
      result.above_mean.push_back(x);
  return result;
}

// const references are fine: the child gets its own copy of the argument.
std::map<std::string, int> count_words(const std::string& text) {
  std::map<std::string, int> counts;
  std::istringstream words(text);
  for (std::string word; words >> word;)
    ++counts[word];
  return counts;
}

// std::optional for "maybe no answer", std::variant for "a number or a reason".
std::variant<long, std::string> parse_number(std::optional<std::string> text) {
  if (!text)
    return std::string("no input");
  try {
    return std::stol(*text);
  } catch (const std::exception&) {
    return "not a number: '" + *text + "'";
  }
}

MPDECOR_REGISTER(summarize);
MPDECOR_REGISTER(count_words);
MPDECOR_REGISTER(parse_number);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);

  const summary s = mpdecor::proc_wait(summarize)("latency", std::vector<double>{3, 9, 4, 8});
  std::printf("%s: mean %.2f, max %.1f, %zu above the mean\n", s.label.c_str(), s.mean, s.max,
              s.above_mean.size());

  // proc returns a handle; get() waits and gives the result (or throws the call's error).
  auto counting = mpdecor::proc(count_words)("to be or not to be");
  for (const auto& [word, count] : counting.get())
    std::printf("  %-3s x%d\n", word.c_str(), count);

  for (const std::optional<std::string>& input :
       {std::optional<std::string>("42"), std::optional<std::string>("forty-two"),
        std::optional<std::string>()}) {
    const auto parsed = mpdecor::proc_wait(parse_number)(input);
    if (const long* number = std::get_if<long>(&parsed))
      std::printf("parsed %ld\n", *number);
    else
      std::printf("refused: %s\n", std::get<std::string>(parsed).c_str());
  }

  return s.mean == 6.0 && s.above_mean.size() == 2 && counting.get().at("be") == 2 ? 0 : 1;
}
