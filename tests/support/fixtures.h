// The project's own test data under tests/fixtures/. CMake passes the folder
// (NF2_FIXTURES_DIR), so tests run from any build directory. A fixture that is
// missing or unreadable fails the calling test with its path, and the caller
// gets nullopt to stop on, never an empty file to index into.
#ifndef NF2INGEST_TESTS_SUPPORT_FIXTURES_H_
#define NF2INGEST_TESTS_SUPPORT_FIXTURES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nf2::testing {

// tests/fixtures/<rel>
std::string FixturePath(std::string_view rel);

// The bytes of tests/fixtures/<rel>, or nullopt (and a test failure naming the path).
std::optional<std::string> ReadFixture(std::string_view rel);

// Its lines (split on '\n'; a final newline does not start an extra line).
std::optional<std::vector<std::string>> ReadFixtureLines(std::string_view rel);

}  // namespace nf2::testing

#endif  // NF2INGEST_TESTS_SUPPORT_FIXTURES_H_
