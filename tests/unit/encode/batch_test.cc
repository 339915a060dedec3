// BatchEncoder: every sealed batch obeys the API's hard limits (docs/contract.md
// §4: 10 000 records, 5 242 880 bytes on the wire), is gzipped exactly when
// its JSON body is above GZIP_THRESHOLD, and no record is lost, duplicated or
// reordered — checked over many seeded random configurations.
#include "stages/encode/batch.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "stages/encode/gzip.h"

namespace nf2 {
namespace {

constexpr size_t kMinFragment = 60;
constexpr size_t kMaxFragment = 300;
constexpr size_t kMiB = 1024 * 1024;

// A valid gzip member that is always larger than its input (deflate "stored"
// blocks), to drive the paths where compression does not help.
class StoredGzipCompressor final : public GzipCompressor {
 public:
  absl::Status Compress(std::string_view in, std::string* out) override {
    z_stream zs{};
    if (deflateInit2(&zs, 0, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return absl::InternalError("deflateInit2");
    }
    out->resize(deflateBound(&zs, in.size()) + 64);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out->data());
    zs.avail_out = static_cast<uInt>(out->size());
    const int rc = deflate(&zs, Z_FINISH);
    out->resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? absl::OkStatus() : absl::InternalError("deflate");
  }
};

// A compressor that always fails: the encoder must still respect the limits.
class FailingCompressor final : public GzipCompressor {
 public:
  absl::Status Compress(std::string_view, std::string* out) override {
    out->assign("partial garbage");
    return absl::InternalError("simulated gzip failure");
  }
};

enum class Codec { kLibdeflate, kZlib, kStored, kIsal };

std::unique_ptr<GzipCompressor> MakeCompressor(Codec codec, int level) {
  switch (codec) {
    case Codec::kLibdeflate:
      return MakeGzipCompressor(GzipImpl::kLibdeflate, level);
    case Codec::kZlib:
      return MakeGzipCompressor(GzipImpl::kZlib, level);
    case Codec::kStored:
      return std::make_unique<StoredGzipCompressor>();
    case Codec::kIsal:
      return MakeGzipCompressor(GzipImpl::kIsal, level % 4);  // its levels are 0..3
  }
  return nullptr;
}

// The envelope docs/contract.md §3 shows, around zero records.
std::string ExpectedEnvelope(const std::string& escaped_collector_id) {
  return std::string("{\"records\":[") + R"(],"collector_id":")" + escaped_collector_id +
         R"(","format":"flows.v1"})";
}

// {"ts":N,"pad":"..."} of exactly `size` bytes; compressible or not.
std::string MakeFragment(uint64_t n, size_t size, bool random_pad, std::mt19937_64& rng) {
  std::string head = "{\"ts\":" + std::to_string(n) + R"(,"pad":")";
  const std::string tail = "\"}";
  std::string s = head;
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";
  while (s.size() + tail.size() < size) {
    s.push_back(random_pad ? kAlphabet[rng() % (sizeof(kAlphabet) - 1)] : 'x');
  }
  s += tail;
  return s;
}

struct Limits {
  BatchLimits limits;
  size_t batch_size = 0;
};

// Everything that must hold for one sealed batch. Returns its records.
std::vector<std::string> CheckSealed(const Batch& b, const BatchLimits& limits,
                                     const std::string& collector_id, Codec codec, int level,
                                     const std::string& context) {
  SCOPED_TRACE(context + " batch id " + std::to_string(b.id));
  std::vector<std::string> records;
  EXPECT_GE(b.records(), 1u);
  EXPECT_LE(b.records(), limits.max_records);
  EXPECT_LE(b.wire_size(), limits.max_wire_bytes);
  if (b.gzipped) {
    EXPECT_GT(b.body.size(), limits.gzip_threshold);
    auto plain = Gunzip(b.wire());
    EXPECT_TRUE(plain.ok()) << plain.status();
    if (plain.ok()) {
      EXPECT_TRUE(*plain == b.body) << "gunzip(wire) != body";
    }
    EXPECT_EQ(b.wire().substr(0, 2), std::string("\x1f\x8b"));
  } else {
    EXPECT_EQ(b.wire(), b.body);
    if (b.body.size() > limits.gzip_threshold) {
      // The documented fallback: a single record whose gzip form would not
      // fit is sent plain (its plain form is guaranteed to fit).
      EXPECT_EQ(b.records(), 1u) << "body " << b.body.size() << " > threshold "
                                 << limits.gzip_threshold << " but not gzipped";
      std::string gz;
      EXPECT_TRUE(MakeCompressor(codec, level)->Compress(b.body, &gz).ok());
      EXPECT_GT(gz.size(), limits.max_wire_bytes) << "gzip would have fitted";
    }
  }
  // The body is the JSON envelope of docs/contract.md §3.
  rapidjson::Document doc;
  doc.Parse(b.body.data(), b.body.size());
  EXPECT_FALSE(doc.HasParseError()) << "body is not JSON";
  if (doc.HasParseError()) return records;
  EXPECT_TRUE(doc.IsObject());
  EXPECT_EQ(doc.MemberCount(), 3u);
  EXPECT_TRUE(doc.HasMember("records") && doc["records"].IsArray());
  EXPECT_TRUE(doc.HasMember("collector_id") && doc["collector_id"].IsString());
  EXPECT_TRUE(doc.HasMember("format") && doc["format"].IsString());
  if (!doc.HasMember("records") || !doc.HasMember("collector_id") || !doc.HasMember("format")) {
    return records;
  }
  EXPECT_EQ(std::string(doc["collector_id"].GetString(), doc["collector_id"].GetStringLength()),
            collector_id);
  EXPECT_EQ(std::string(doc["format"].GetString()), "flows.v1");
  EXPECT_EQ(doc["records"].Size(), b.records());
  EXPECT_EQ(b.body.rfind("{\"records\":[", 0), 0u);
  // Records, as the exact bytes record_ends delimit.
  size_t begin = std::string_view("{\"records\":[").size();
  for (size_t i = 0; i < b.records(); ++i) {
    const size_t end = b.record_ends[i];
    EXPECT_LE(begin, end);
    EXPECT_LE(end, b.body.size());
    if (begin > end || end > b.body.size()) break;
    records.push_back(b.body.substr(begin, end - begin));
    begin = end + 1;  // the comma
  }
  // And the parsed records agree with the byte ranges.
  for (size_t i = 0; i < std::min<size_t>(records.size(), doc["records"].Size()); ++i) {
    const auto& r = doc["records"][static_cast<rapidjson::SizeType>(i)];
    EXPECT_TRUE(r.IsObject() && r.HasMember("ts"));
    if (r.IsObject() && r.HasMember("ts")) {
      EXPECT_EQ(records[i].find("{\"ts\":" + std::to_string(r["ts"].GetUint64()) + ","), 0u);
    }
  }
  return records;
}

const std::vector<std::string>& CollectorIds() {
  static const auto* ids = new std::vector<std::string>{
      "gw-local",
      "collector \"quoted\"",
      "back\\slash\\",
      std::string("ctl\x01\x1f\t\n\r end"),
      "caf\xc3\xa9-\xe2\x82\xac",
      "</script>",
  };
  return *ids;
}

TEST(BatchEncoderTest, EnvelopeMatchesContract) {
  std::atomic<uint64_t> ids{1};
  BatchEncoder enc(BatchLimits{}, "gw-local", MakeGzipCompressor(GzipImpl::kLibdeflate, 1), &ids);
  EXPECT_EQ(enc.EnvelopeSize(), ExpectedEnvelope("gw-local").size());
  auto b = enc.Begin();
  enc.Append(b.get(), R"({"ts":1})");
  enc.Append(b.get(), R"({"ts":2})");
  std::vector<std::unique_ptr<Batch>> out;
  enc.Seal(std::move(b), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->body,
            R"({"records":[{"ts":1},{"ts":2}],"collector_id":"gw-local","format":"flows.v1"})");
  EXPECT_FALSE(out[0]->gzipped);  // far below the default threshold
}

TEST(BatchEncoderTest, GzipExactlyAboveThreshold) {
  // The body of one 100-byte record; threshold at, and one below, its size.
  std::mt19937_64 rng(1);
  const std::string frag = MakeFragment(1, 100, false, rng);
  const size_t body_size = ExpectedEnvelope("gw").size() + frag.size();
  for (size_t threshold : {body_size, body_size - 1}) {
    std::atomic<uint64_t> ids{1};
    BatchLimits limits;
    limits.gzip_threshold = threshold;
    BatchEncoder enc(limits, "gw", MakeGzipCompressor(GzipImpl::kZlib, 6), &ids);
    auto b = enc.Begin();
    enc.Append(b.get(), frag);
    std::vector<std::unique_ptr<Batch>> out;
    enc.Seal(std::move(b), &out);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0]->body.size(), body_size);
    EXPECT_EQ(out[0]->gzipped, body_size > threshold) << "threshold " << threshold;
  }
}

TEST(BatchEncoderTest, SingleRecordFallsBackToPlainWhenGzipDoesNotFit) {
  // gzip always grows (stored blocks); wire limit exactly one record.
  std::mt19937_64 rng(2);
  const std::string frag = MakeFragment(7, kMaxFragment, true, rng);
  const size_t body_size = ExpectedEnvelope("gw").size() + frag.size();
  std::atomic<uint64_t> ids{1};
  BatchLimits limits;
  limits.max_wire_bytes = body_size;
  limits.gzip_threshold = 0;
  BatchEncoder enc(limits, "gw", std::make_unique<StoredGzipCompressor>(), &ids);
  auto b = enc.Begin();
  ASSERT_TRUE(enc.Fits(*b, frag.size()));
  enc.Append(b.get(), frag);
  std::vector<std::unique_ptr<Batch>> out;
  enc.Seal(std::move(b), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0]->gzipped);
  EXPECT_EQ(out[0]->wire_size(), body_size);
  EXPECT_LE(out[0]->wire_size(), limits.max_wire_bytes);
}

TEST(BatchEncoderTest, FitsHonoursMaxRecords) {
  std::atomic<uint64_t> ids{1};
  BatchLimits limits;
  limits.max_records = 3;
  BatchEncoder enc(limits, "gw", MakeGzipCompressor(GzipImpl::kLibdeflate, 1), &ids);
  auto b = enc.Begin();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(enc.Fits(*b, 10));
    enc.Append(b.get(), R"({"ts":1})");
  }
  EXPECT_FALSE(enc.Fits(*b, 10));
}

TEST(BatchEncoderTest, FitsAlwaysAdmitsTheFirstRecord) {
  // An empty batch takes any record the configuration allows (it was checked
  // to fit MAX_PAYLOAD_SIZE), otherwise the pipeline could never progress.
  std::atomic<uint64_t> ids{1};
  BatchLimits limits;
  limits.max_wire_bytes = ExpectedEnvelope("gw").size() + kMaxFragment;
  limits.gzip_threshold = limits.max_wire_bytes;  // no gzip
  BatchEncoder enc(limits, "gw", MakeGzipCompressor(GzipImpl::kLibdeflate, 1), &ids);
  auto b = enc.Begin();
  EXPECT_TRUE(enc.Fits(*b, kMaxFragment));
  enc.Append(b.get(), std::string(kMaxFragment, 'x'));
  EXPECT_FALSE(enc.Fits(*b, 1));  // without gzip nothing more fits on the wire
}

TEST(BatchEncoderTest, RandomConfigurationsKeepEveryInvariant) {
  std::mt19937_64 rng(0x5eed2025);
  constexpr int kCases = 250;
  size_t total_batches = 0, gzipped = 0, fallbacks = 0, multi_batch_cases = 0;
  for (int c = 0; c < kCases; ++c) {
    auto uniform = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
    // Log-uniform, to reach both tiny and huge values.
    auto log_uniform = [&](double lo, double hi) {
      std::uniform_real_distribution<double> d(std::log(lo), std::log(hi));
      return static_cast<size_t>(std::exp(d(rng)));
    };
    const std::string collector_id = CollectorIds()[rng() % CollectorIds().size()];
    const auto codec = static_cast<Codec>(rng() % 4);
    const int level = static_cast<int>(uniform(1, 9));
    const bool random_pad = rng() % 2 == 0;
    BatchLimits limits;
    limits.max_records = std::clamp<size_t>(log_uniform(1, 10000), 1, 10000);
    const size_t min_wire = ExpectedEnvelope(JsonEscape(collector_id)).size() + kMaxFragment;
    limits.max_wire_bytes = std::clamp<size_t>(log_uniform(static_cast<double>(min_wire), 5 * kMiB),
                                               min_wire, 5 * kMiB);
    // Often right at the minimum, where one record barely fits.
    if (rng() % 6 == 0) limits.max_wire_bytes = min_wire + uniform(0, 10);
    limits.gzip_threshold = uniform(0, 2 * limits.max_wire_bytes);
    if (rng() % 8 == 0) limits.gzip_threshold = 0;
    const size_t batch_size = uniform(1, limits.max_records);
    const size_t n = log_uniform(1, 4000);

    const std::string context =
        "case " + std::to_string(c) + ": max_records=" + std::to_string(limits.max_records) +
        " max_wire=" + std::to_string(limits.max_wire_bytes) +
        " threshold=" + std::to_string(limits.gzip_threshold) +
        " batch_size=" + std::to_string(batch_size) + " n=" + std::to_string(n) +
        " codec=" + std::to_string(static_cast<int>(codec)) + " level=" + std::to_string(level);
    SCOPED_TRACE(context);

    std::vector<std::string> input;
    input.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      input.push_back(MakeFragment(i, uniform(kMinFragment, kMaxFragment), random_pad, rng));
    }

    // Assemble as the pipeline does.
    std::atomic<uint64_t> ids{1};
    BatchEncoder enc(limits, collector_id, MakeCompressor(codec, level), &ids);
    std::vector<std::unique_ptr<Batch>> sealed;
    auto batch = enc.Begin();
    for (const std::string& frag : input) {
      if (!enc.Fits(*batch, frag.size())) {
        ASSERT_GT(batch->records(), 0u) << "an empty batch refused a record";
        enc.Seal(std::move(batch), &sealed);
        batch = enc.Begin();
      }
      enc.Append(batch.get(), frag);
      if (batch->records() >= batch_size) {
        enc.Seal(std::move(batch), &sealed);
        batch = enc.Begin();
      }
    }
    if (batch->records() > 0) enc.Seal(std::move(batch), &sealed);

    std::vector<std::string> output;
    std::set<uint64_t> seen_ids;
    for (const auto& b : sealed) {
      EXPECT_TRUE(seen_ids.insert(b->id).second) << "duplicate batch id " << b->id;
      EXPECT_LE(b->records(), batch_size) << "a batch grew past the batch size";
      for (auto& r : CheckSealed(*b, limits, collector_id, codec, level, context)) {
        output.push_back(std::move(r));
      }
      gzipped += b->gzipped;
      fallbacks += !b->gzipped && b->body.size() > limits.gzip_threshold;
      if (::testing::Test::HasFatalFailure()) return;
    }
    total_batches += sealed.size();
    multi_batch_cases += sealed.size() > 1;
    ASSERT_EQ(output.size(), input.size()) << "records lost or duplicated";
    for (size_t i = 0; i < input.size(); ++i) {
      ASSERT_EQ(output[i], input[i]) << "record " << i << " out of order or altered";
    }
    if (::testing::Test::HasFailure()) return;  // one failing case is enough output
  }
  // The generator must reach the interesting paths.
  EXPECT_GT(total_batches, static_cast<size_t>(kCases));
  EXPECT_GT(gzipped, 10u);
  EXPECT_GT(fallbacks, 0u);
  EXPECT_GT(multi_batch_cases, static_cast<size_t>(kCases / 4));
}

TEST(BatchEncoderTest, SealSplitsWhenGzipDoesNotShrinkEnough) {
  // Incompressible enough records with gzip possible: the raw body may grow
  // past the wire limit, and Seal must split until every part fits.
  std::mt19937_64 rng(3);
  const std::string collector_id = "gw";
  BatchLimits limits;
  limits.max_wire_bytes = 20000;
  limits.gzip_threshold = 1000;
  limits.max_records = 10000;
  for (Codec codec : {Codec::kStored, Codec::kZlib, Codec::kIsal}) {
    std::atomic<uint64_t> ids{1};
    BatchEncoder enc(limits, collector_id, MakeCompressor(codec, 1), &ids);
    auto b = enc.Begin();
    std::vector<std::string> input;
    for (uint64_t i = 0;; ++i) {
      std::string frag = MakeFragment(i, kMaxFragment, true, rng);
      if (!enc.Fits(*b, frag.size())) break;
      enc.Append(b.get(), frag);
      input.push_back(std::move(frag));
    }
    ASSERT_GT(b->body.size(), limits.max_wire_bytes) << "the test needs an oversized body";
    std::vector<std::unique_ptr<Batch>> out;
    enc.Seal(std::move(b), &out);
    EXPECT_GT(out.size(), 1u);
    std::vector<std::string> output;
    for (const auto& part : out) {
      for (auto& r : CheckSealed(*part, limits, collector_id, codec, 1, "split")) {
        output.push_back(std::move(r));
      }
    }
    EXPECT_EQ(output, input);
  }
}

TEST(BatchEncoderTest, GzipFailureStillRespectsLimits) {
  // gzip is possible by configuration but fails: batches go out plain, and
  // none may exceed the wire limit or lose records.
  std::mt19937_64 rng(6);
  BatchLimits limits;
  limits.max_wire_bytes = 5000;
  limits.gzip_threshold = 0;
  std::atomic<uint64_t> ids{1};
  BatchEncoder enc(limits, "gw", std::make_unique<FailingCompressor>(), &ids);
  std::vector<std::string> input;
  std::vector<std::unique_ptr<Batch>> sealed;
  auto b = enc.Begin();
  for (uint64_t i = 0; i < 500; ++i) {
    input.push_back(
        MakeFragment(i, kMinFragment + rng() % (kMaxFragment - kMinFragment + 1), true, rng));
    if (!enc.Fits(*b, input.back().size())) {
      enc.Seal(std::move(b), &sealed);
      b = enc.Begin();
    }
    enc.Append(b.get(), input.back());
  }
  enc.Seal(std::move(b), &sealed);
  std::vector<std::string> output;
  for (const auto& part : sealed) {
    EXPECT_FALSE(part->gzipped);
    EXPECT_EQ(part->wire(), part->body);
    EXPECT_LE(part->wire_size(), limits.max_wire_bytes);
    rapidjson::Document doc;
    doc.Parse(part->body.data(), part->body.size());
    ASSERT_FALSE(doc.HasParseError());
    size_t begin = std::string_view("{\"records\":[").size();
    for (uint32_t end : part->record_ends) {
      output.push_back(part->body.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  EXPECT_EQ(output, input);
}

TEST(BatchEncoderTest, SplitMakesTwoOrderedHalvesWithNewIds) {
  std::mt19937_64 rng(4);
  for (size_t n : {2u, 3u, 101u, 1000u}) {
    for (bool gzip : {false, true}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " gzip=" + std::to_string(gzip));
      const std::string collector_id = "split \"me\"";
      std::atomic<uint64_t> ids{100};
      BatchLimits limits;
      limits.gzip_threshold = gzip ? 0 : 5 * kMiB;
      BatchEncoder enc(limits, collector_id, MakeGzipCompressor(GzipImpl::kLibdeflate, 6), &ids);
      auto b = enc.Begin();
      std::vector<std::string> input;
      for (size_t i = 0; i < n; ++i) {
        input.push_back(
            MakeFragment(i, kMinFragment + rng() % (kMaxFragment - kMinFragment + 1), true, rng));
        enc.Append(b.get(), input.back());
      }
      std::vector<std::unique_ptr<Batch>> sealed;
      enc.Seal(std::move(b), &sealed);
      ASSERT_EQ(sealed.size(), 1u);
      const Batch& whole = *sealed[0];
      EXPECT_EQ(whole.gzipped, gzip);

      std::vector<std::unique_ptr<Batch>> halves;
      enc.Split(whole, &halves);
      ASSERT_EQ(halves.size(), 2u);
      EXPECT_NE(halves[0]->id, whole.id);
      EXPECT_NE(halves[1]->id, whole.id);
      EXPECT_NE(halves[0]->id, halves[1]->id);
      // Halves: sizes differ by at most one and add up.
      EXPECT_EQ(halves[0]->records() + halves[1]->records(), n);
      EXPECT_LE(std::max(halves[0]->records(), halves[1]->records()) -
                    std::min(halves[0]->records(), halves[1]->records()),
                1u);
      std::vector<std::string> output;
      for (const auto& h : halves) {
        EXPECT_EQ(h->attempts, 0);
        for (auto& r : CheckSealed(*h, limits, collector_id, Codec::kLibdeflate, 6, "half")) {
          output.push_back(std::move(r));
        }
      }
      EXPECT_EQ(output, input);
      // The original is untouched (it may still be retried elsewhere).
      EXPECT_EQ(CheckSealed(whole, limits, collector_id, Codec::kLibdeflate, 6, "whole"), input);
    }
  }
}

TEST(BatchEncoderTest, SplitTwiceKeepsIdsUnique) {
  std::mt19937_64 rng(5);
  std::atomic<uint64_t> ids{1};
  BatchLimits limits;
  BatchEncoder enc(limits, "gw", MakeGzipCompressor(GzipImpl::kZlib, 1), &ids);
  auto b = enc.Begin();
  for (int i = 0; i < 8; ++i) enc.Append(b.get(), MakeFragment(i, 80, false, rng));
  std::vector<std::unique_ptr<Batch>> sealed, halves, quarters;
  enc.Seal(std::move(b), &sealed);
  enc.Split(*sealed[0], &halves);
  ASSERT_EQ(halves.size(), 2u);
  for (const auto& h : halves) enc.Split(*h, &quarters);
  ASSERT_EQ(quarters.size(), 4u);
  std::set<uint64_t> all = {sealed[0]->id, halves[0]->id, halves[1]->id};
  for (const auto& q : quarters) {
    EXPECT_EQ(q->records(), 2u);
    all.insert(q->id);
  }
  EXPECT_EQ(all.size(), 7u);
}

TEST(JsonEscapeTest, ProducesValidJsonStrings) {
  std::vector<std::string> inputs = {"",        "plain", "\"",   "\\",         R"("\")",
                                     "a\"b\\c", "/",     "\x7f", "caf\xc3\xa9"};
  for (int c = 0; c < 0x20; ++c) inputs.push_back("x" + std::string(1, static_cast<char>(c)) + "y");
  std::string all_controls;
  for (int c = 1; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  inputs.push_back(all_controls + "\"\\");
  for (const std::string& s : inputs) {
    const std::string json = R"({"id":")" + JsonEscape(s) + "\"}";
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    ASSERT_FALSE(doc.HasParseError()) << "not JSON: " << json;
    ASSERT_TRUE(doc["id"].IsString());
    EXPECT_EQ(std::string(doc["id"].GetString(), doc["id"].GetStringLength()), s);
    // No raw control characters survive escaping.
    for (char ch : JsonEscape(s)) EXPECT_GE(static_cast<unsigned char>(ch), 0x20u) << json;
  }
}

}  // namespace
}  // namespace nf2
