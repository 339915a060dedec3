// The goflow2 fixtures (tests/fixtures/goflow2): every line's verdict and every delivered
// record, line by line and through the chunk stages, for both parsers.
#include "tests/support/fixtures.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "stages/flows/chunks.h"
#include "stages/flows/flow_record_json.h"
#include "stages/goflow2/line_parser.h"
#include "stages/ingest/chunk_stages.h"

namespace nf2 {
namespace {

// Splits on '\n'; a final newline does not start an extra line.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

enum class Want { kDelivered, kFiltered, kInvalid };

struct Fixture {
  std::string input;  // sample.jsonl as is
  std::vector<std::string> lines;
  std::vector<Want> outcomes;
  std::vector<std::string> expected;  // one flows.v1 record per delivered line
  size_t delivered = 0, filtered = 0, invalid = 0;
};

// The fixture files, or nullptr (with a test failure naming the file) when
// one cannot be read.
std::unique_ptr<Fixture> ReadFixtures() {
  auto f = std::make_unique<Fixture>();
  std::optional<std::string> input = testing::ReadFixture("goflow2/sample.jsonl");
  std::optional<std::vector<std::string>> rows =
      testing::ReadFixtureLines("goflow2/sample.outcomes");
  std::optional<std::vector<std::string>> expected =
      testing::ReadFixtureLines("goflow2/sample.expected.jsonl");
  if (!input || !rows || !expected) return nullptr;
  f->input = *input;
  f->lines = SplitLines(f->input);
  f->expected = *expected;
  for (const std::string& row : *rows) {
    // "<1-based line>\t<delivered|filtered|invalid>"
    const size_t tab = row.find('\t');
    EXPECT_NE(tab, std::string::npos) << row;
    if (tab == std::string::npos) continue;
    EXPECT_EQ(std::stoul(row.substr(0, tab)), f->outcomes.size() + 1) << row;
    const std::string what = row.substr(tab + 1);
    if (what == "delivered") {
      f->outcomes.push_back(Want::kDelivered);
      ++f->delivered;
    } else if (what == "filtered") {
      f->outcomes.push_back(Want::kFiltered);
      ++f->filtered;
    } else {
      EXPECT_EQ(what, "invalid") << row;
      f->outcomes.push_back(Want::kInvalid);
      ++f->invalid;
    }
  }
  return f;
}

const Fixture* LoadFixture() {
  static const std::unique_ptr<Fixture> f = ReadFixtures();
  if (!f) ADD_FAILURE() << "the goflow2 fixtures could not be read (see the first failure)";
  return f.get();
}

void ExpectSameRecords(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    EXPECT_EQ(got[i], want[i]) << "record " << i;
  }
}

LineVerdict ToVerdict(Want w) {
  switch (w) {
    case Want::kDelivered:
      return LineVerdict::kRecord;
    case Want::kFiltered:
      return LineVerdict::kFiltered;
    case Want::kInvalid:
      return LineVerdict::kInvalid;
  }
  return LineVerdict::kInvalid;
}

LineChunk MakeChunk(const std::string& text) {
  LineChunk chunk;
  chunk.data = text;
  chunk.size = text.size();
  chunk.data.append(kLinePadding, '\0');
  return chunk;
}

class FixturesTest : public ::testing::TestWithParam<JsonParserKind> {
 protected:
  void SetUp() override { parser_ = MakeLineParser(GetParam()); }

  // Runs `text` through ParseLineChunk and MapRecordChunk.
  void RunChunk(const std::string& text, ParseCounts* counts, std::vector<std::string>* records,
                std::vector<std::string>* invalid_lines) {
    LineChunk chunk = MakeChunk(text);
    RecordChunk rc;
    ParseLineChunk(*parser_, chunk, &rc, counts, [&](std::string_view line, std::string_view why) {
      EXPECT_FALSE(why.empty());
      invalid_lines->emplace_back(line);
    });
    FragmentChunk fc;
    fc.data = "stale";  // MapRecordChunk clears its output first
    fc.ends = {1, 2};
    MapRecordChunk(rc, &fc);
    ASSERT_EQ(fc.count(), rc.records.size());
    for (size_t i = 0; i < fc.count(); ++i) records->emplace_back(fc.fragment(i));
    EXPECT_EQ(fc.ends.empty() ? 0u : fc.ends.back(), fc.data.size());
  }

  std::unique_ptr<LineParser> parser_;
};

INSTANTIATE_TEST_SUITE_P(BothParsers, FixturesTest,
                         ::testing::Values(JsonParserKind::kSimdjson, JsonParserKind::kRapidjson),
                         [](const auto& param_info) {
                           return param_info.param == JsonParserKind::kSimdjson ? "simdjson"
                                                                                : "rapidjson";
                         });

TEST(FixtureFiles, AreConsistent) {
  const Fixture* fp = LoadFixture();
  ASSERT_NE(fp, nullptr);
  const Fixture& f = *fp;
  EXPECT_EQ(f.lines.size(), 50u);
  ASSERT_EQ(f.outcomes.size(), f.lines.size());
  EXPECT_EQ(f.expected.size(), f.delivered);
  // The README promises a mix: at least one of each kind.
  EXPECT_GT(f.filtered, 0u);
  EXPECT_GT(f.invalid, 0u);
}

TEST_P(FixturesTest, EveryLineMatchesItsOutcome) {
  const Fixture* fp = LoadFixture();
  ASSERT_NE(fp, nullptr);
  const Fixture& f = *fp;
  ASSERT_EQ(f.outcomes.size(), f.lines.size());
  std::vector<std::string> got;
  for (size_t i = 0; i < f.lines.size(); ++i) {
    FlowRecord rec;
    ParseResult r = ParseGoflow2LineCopy(*parser_, f.lines[i], &rec);
    EXPECT_EQ(r.verdict, ToVerdict(f.outcomes[i]))
        << "line " << i + 1 << ": " << f.lines[i].substr(0, 120) << "\nerror: " << r.error;
    if (r.verdict == LineVerdict::kRecord) {
      std::string json;
      AppendFlowRecordJson(rec, &json);
      got.push_back(json);
    }
  }
  ExpectSameRecords(got, f.expected);
}

TEST_P(FixturesTest, ChunkStagesMatchOutcomes) {
  const Fixture* fp = LoadFixture();
  ASSERT_NE(fp, nullptr);
  const Fixture& f = *fp;
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  RunChunk(f.input, &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, f.lines.size());
  EXPECT_EQ(counts.records, f.delivered);
  EXPECT_EQ(counts.filtered, f.filtered);
  EXPECT_EQ(counts.invalid, f.invalid);
  EXPECT_EQ(counts.records + counts.filtered + counts.invalid, counts.lines);
  ExpectSameRecords(records, f.expected);
  // The callback sees exactly the invalid lines, in order.
  std::vector<std::string> want_invalid;
  for (size_t i = 0; i < f.lines.size(); ++i) {
    if (f.outcomes[i] == Want::kInvalid) want_invalid.push_back(f.lines[i]);
  }
  EXPECT_EQ(invalid_lines, want_invalid);
}

TEST_P(FixturesTest, ChunkStagesHandleCrlfAndMissingFinalNewline) {
  const Fixture* fp = LoadFixture();
  ASSERT_NE(fp, nullptr);
  const Fixture& f = *fp;
  std::string crlf;
  for (const std::string& line : f.lines) crlf += line + "\r\n";
  crlf.pop_back();
  crlf.pop_back();  // the last line has no line end at all
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  RunChunk(crlf, &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, f.lines.size());
  EXPECT_EQ(counts.records, f.delivered);
  EXPECT_EQ(counts.filtered, f.filtered);
  EXPECT_EQ(counts.invalid, f.invalid);
  ExpectSameRecords(records, f.expected);
}

TEST_P(FixturesTest, ChunkStagesOneLineAtATimeAccumulate) {
  // Counts accumulate across calls; a chunk per line gives the same totals.
  const Fixture* fp = LoadFixture();
  ASSERT_NE(fp, nullptr);
  const Fixture& f = *fp;
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  for (const std::string& line : f.lines) RunChunk(line + "\n", &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, f.lines.size());
  EXPECT_EQ(counts.records, f.delivered);
  EXPECT_EQ(counts.filtered, f.filtered);
  EXPECT_EQ(counts.invalid, f.invalid);
  ExpectSameRecords(records, f.expected);
}

TEST_P(FixturesTest, ChunkStagesWithContainerPrefixes) {
  // `docker compose logs` output: every line prefixed; same records.
  const Fixture* fp = LoadFixture();
  ASSERT_NE(fp, nullptr);
  const Fixture& f = *fp;
  std::string text;
  for (const std::string& line : f.lines) {
    // A line that already carries a prefix keeps just the one (the prefix
    // ends at the first "| ").
    text += (line.starts_with("{") ? "collector-1  | " : "") + line + "\n";
  }
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  RunChunk(text, &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, f.lines.size());
  EXPECT_EQ(counts.records, f.delivered);
  EXPECT_EQ(counts.filtered, f.filtered);
  EXPECT_EQ(counts.invalid, f.invalid);
  ExpectSameRecords(records, f.expected);
}

TEST_P(FixturesTest, BlankAndJunkLinesAreCountedInvalid) {
  // Every line gets exactly one outcome, junk included; nothing stops the chunk.
  const std::string good =
      R"({"type":"IPFIX","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","proto":"UDP"})";
  const std::string text = "\n\r\n   \n" + good + "\n{\"trunc\n" + good + "\nnot json\n\n" + good;
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  RunChunk(text, &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, 9u);
  EXPECT_EQ(counts.records, 3u);
  EXPECT_EQ(counts.invalid, 6u);
  EXPECT_EQ(counts.filtered, 0u);
  EXPECT_EQ(invalid_lines.size(), 6u);
  ASSERT_EQ(records.size(), 3u);
  for (const std::string& r : records) {
    EXPECT_EQ(r, R"({"ts":0,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":0,"dst_port":0,)"
                 R"("proto":17,"bytes":0,"packets":0})");
  }
}

TEST_P(FixturesTest, EmptyChunkHasNoLines) {
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  RunChunk("", &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, 0u);
  EXPECT_TRUE(records.empty());
}

TEST_P(FixturesTest, UnknownProtoIsCounted) {
  const std::string text =
      R"({"type":"IPFIX","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","proto":"NO-SUCH-PROTO"})"
      "\n"
      R"({"type":"IPFIX","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","proto":"TCP"})"
      "\n";
  ParseCounts counts;
  std::vector<std::string> records, invalid_lines;
  RunChunk(text, &counts, &records, &invalid_lines);
  EXPECT_EQ(counts.lines, 2u);
  EXPECT_EQ(counts.records, 2u);
  EXPECT_EQ(counts.unknown_proto, 1u);
}

}  // namespace
}  // namespace nf2
