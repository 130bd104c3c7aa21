// SPDX-License-Identifier: BSL-1.0
// Checks that every C++ snippet of README.md and docs/*.md is compiled and run: each
// ```cpp block must appear, line for line (indentation and blank lines aside), in a program
// under examples/ or test/snippets/, which CTest and b2 build and run. A snippet edited in
// the docs but not in its program, or the other way round, fails this check.
//
//     check_snippets <source root>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string trimmed(const std::string& line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  const auto last = line.find_last_not_of(" \t\r");
  return line.substr(first, last - first + 1);
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

/// The non-blank lines of `lines`, trimmed: what a snippet and a program must share.
std::vector<std::string> significant(const std::vector<std::string>& lines) {
  std::vector<std::string> kept;
  for (const auto& line : lines)
    if (auto text = trimmed(line); !text.empty())
      kept.push_back(std::move(text));
  return kept;
}

struct snippet {
  fs::path document;
  std::size_t line = 0; // of the opening fence, counted from 1
  std::vector<std::string> text;
};

std::vector<snippet> snippets_of(const fs::path& document) {
  std::vector<snippet> found;
  const auto lines = lines_of(document);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (trimmed(lines[i]) != "```cpp")
      continue;
    snippet s{document, i + 1, {}};
    std::vector<std::string> body;
    for (++i; i < lines.size() && trimmed(lines[i]) != "```"; ++i)
      body.push_back(lines[i]);
    s.text = significant(body);
    if (!s.text.empty())
      found.push_back(std::move(s));
  }
  return found;
}

std::vector<fs::path> files_under(const fs::path& folder, const std::vector<std::string>& endings) {
  std::vector<fs::path> files;
  if (!fs::exists(folder))
    return files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file() &&
        std::find(endings.begin(), endings.end(), entry.path().extension().string()) != endings.end())
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: check_snippets <source root>\n");
    return 2;
  }
  const fs::path root = argv[1];
  if (!fs::exists(root / "README.md")) {
    std::fprintf(stderr, "check_snippets: no README.md in %s\n", root.string().c_str());
    return 2;
  }

  std::vector<fs::path> documents{root / "README.md"};
  for (const auto& file : files_under(root / "docs", {".md"}))
    documents.push_back(file);

  struct program {
    fs::path path;
    std::vector<std::string> text;
  };
  std::vector<program> programs;
  for (const auto& folder : {root / "examples", root / "test" / "snippets"})
    for (const auto& file : files_under(folder, {".cpp", ".hpp"}))
      programs.push_back({file, significant(lines_of(file))});

  std::size_t checked = 0;
  std::size_t missing = 0;
  for (const auto& document : documents) {
    for (const auto& s : snippets_of(document)) {
      ++checked;
      const program* home = nullptr;
      for (const auto& p : programs)
        if (std::search(p.text.begin(), p.text.end(), s.text.begin(), s.text.end()) !=
            p.text.end()) {
          home = &p;
          break;
        }
      const auto name = fs::relative(s.document, root).generic_string();
      if (home) {
        std::printf("%s:%zu: in %s\n", name.c_str(), s.line,
                    fs::relative(home->path, root).generic_string().c_str());
      } else {
        ++missing;
        std::printf("%s:%zu: this C++ snippet is in no program under examples/ or test/snippets/; "
                    "copy it, as it stands, into one that is built and run\n",
                    name.c_str(), s.line);
      }
    }
  }
  std::printf("%zu snippets checked, %zu not built and run\n", checked, missing);
  return missing == 0 && checked > 0 ? 0 : 1;
}
