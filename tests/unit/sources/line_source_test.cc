// LineSource's line-length limit: a line of exactly max_line_bytes (the
// newline not counted) is handed on, one byte more is counted invalid and
// skipped, and the lines around it are unaffected.
#include "stages/sources/line_source.h"

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace nf2 {
namespace {

struct Result {
  std::vector<size_t> lengths;  // of the lines handed on (long ones would flood a failure)
  std::vector<std::string> lines;
  uint64_t invalid = 0;
};

Result ReadThrough(const std::string& content, size_t chunk_bytes, size_t max_line_bytes) {
  const std::string path = nf2::testing::TempDir() + "/input";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  pipeline::BoundedQueue<LineChunk> queue(1024);
  pipeline::Outcomes outcomes;
  pipeline::Shutdown shutdown(std::chrono::seconds(1));
  LineSourceOptions options;
  options.inputs = {path};
  options.chunk_bytes = chunk_bytes;
  options.max_line_bytes = max_line_bytes;
  LineSource source(options, &queue, &outcomes, &shutdown);
  EXPECT_TRUE(source.Run().ok());
  Result r;
  pipeline::BoundedQueue<LineChunk>::Item chunk;
  while (queue.TryPop(chunk) && chunk) {
    for (absl::string_view line : absl::StrSplit(absl::string_view(chunk->data.data(), chunk->size),
                                                 '\n', absl::SkipEmpty())) {
      r.lengths.push_back(line.size());
      r.lines.emplace_back(line.substr(0, 8));
    }
  }
  r.invalid = outcomes.Snapshot().invalid;
  return r;
}

TEST(LineSourceTest, LineOfExactlyTheLimitPassesOneMoreIsInvalid) {
  constexpr size_t kMax = 4096;
  const std::string exact(kMax, 'a');
  const std::string longer(kMax + 1, 'b');
  for (size_t chunk_bytes : {size_t{1024}, size_t{4096}}) {
    SCOPED_TRACE(chunk_bytes);
    const Result r = ReadThrough(
        std::string("x\n").append(exact).append("\n").append(longer).append("\ny\n").append(exact),
        chunk_bytes, kMax);
    EXPECT_EQ(r.invalid, 1u);
    EXPECT_EQ(r.lengths, (std::vector<size_t>{1, kMax, 1, kMax}));
    EXPECT_EQ(r.lines, (std::vector<std::string>{"x", "aaaaaaaa", "y", "aaaaaaaa"}));
  }
}

TEST(LineSourceTest, LineAtTheLimitAtTheStartOfTheInput) {
  constexpr size_t kMax = 4096;
  const Result r = ReadThrough(std::string(kMax, 'c') + "\nz\n", kMax, kMax);
  EXPECT_EQ(r.invalid, 0u);
  EXPECT_EQ(r.lengths, (std::vector<size_t>{kMax, 1}));
}

}  // namespace
}  // namespace nf2
