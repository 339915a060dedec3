#include "tests/support/fixtures.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace nf2::testing {

std::string FixturePath(std::string_view rel) {
  return std::string(NF2_FIXTURES_DIR) + "/" + std::string(rel);
}

std::optional<std::string> ReadFixture(std::string_view rel) {
  const std::string path = FixturePath(rel);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    ADD_FAILURE() << "cannot read fixture " << path << ": " << std::strerror(errno);
    return std::nullopt;
  }
  return text.str();
}

std::optional<std::vector<std::string>> ReadFixtureLines(std::string_view rel) {
  std::optional<std::string> text = ReadFixture(rel);
  if (!text) return std::nullopt;
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) nl = text->size();
    lines.push_back(text->substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace nf2::testing
