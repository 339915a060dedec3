// gzip: every implementation produces gzip (RFC 1952) that zlib reads back,
// and Gunzip refuses what is not gzip or would grow past its limit.
#include "stages/encode/gzip.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace nf2 {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// Mixed content: JSON-like text with random stretches, like real batches.
std::string MakeInput(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(size);
  while (s.size() < size) {
    s += "{\"ts\":" + std::to_string(1755245595 + rng() % 1000) + R"(,"src_ip":"10.)" +
         std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + R"(.1","bytes":)" +
         std::to_string(rng()) + "},";
    const size_t noise = rng() % 32;
    for (size_t i = 0; i < noise; ++i) s.push_back(static_cast<char>(rng()));
  }
  s.resize(size);
  return s;
}

std::string Compress(GzipImpl impl, int level, const std::string& in) {
  auto c = MakeGzipCompressor(impl, level);
  std::string out = "stale contents that must be replaced";
  absl::Status st = c->Compress(in, &out);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

// Bytes that do not compress: the output is larger than the input.
std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

constexpr GzipImpl kAllImpls[] = {GzipImpl::kIsal, GzipImpl::kLibdeflate, GzipImpl::kZlib};

class GzipTest : public ::testing::TestWithParam<GzipImpl> {};

INSTANTIATE_TEST_SUITE_P(AllImpls, GzipTest, ::testing::ValuesIn(kAllImpls),
                         [](const auto& param_info) -> std::string {
                           switch (param_info.param) {
                             case GzipImpl::kIsal:
                               return "isal";
                             case GzipImpl::kLibdeflate:
                               return "libdeflate";
                             case GzipImpl::kZlib:
                               return "zlib";
                           }
                           return "unknown";
                         });

// The lowest, the default, a middle and the highest level of each.
std::vector<int> Levels(GzipImpl impl) {
  switch (impl) {
    case GzipImpl::kIsal:
      return {0, 1, 2, 3};
    case GzipImpl::kLibdeflate:
      return {1, 6, 12};
    case GzipImpl::kZlib:
      break;
  }
  return {1, 6, 9};
}

TEST_P(GzipTest, RoundTrips) {
  const std::vector<std::string> inputs = {"",
                                           "a",
                                           "hello, gzip",
                                           std::string(100000, 'x'),
                                           MakeInput(64 * 1024, 1),
                                           MakeInput(5 * kMiB, 2),
                                           RandomBytes(300000, 3)};
  for (int level : Levels(GetParam())) {
    for (const std::string& in : inputs) {
      SCOPED_TRACE("level " + std::to_string(level) + " size " + std::to_string(in.size()));
      const std::string gz = Compress(GetParam(), level, in);
      ASSERT_GE(gz.size(), 18u);  // 10-byte header + 8-byte trailer at least
      // RFC 1952: ID1 ID2 = 1f 8b, CM = 8 (deflate).
      EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
      EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
      EXPECT_EQ(static_cast<unsigned char>(gz[2]), 0x08);
      // Trailer: ISIZE = input size mod 2^32, little-endian.
      uint32_t isize = 0;
      for (int i = 0; i < 4; ++i) {
        isize |= static_cast<uint32_t>(static_cast<unsigned char>(gz[gz.size() - 4 + i]))
                 << (8 * i);
      }
      EXPECT_EQ(isize, static_cast<uint32_t>(in.size()));
      auto back = Gunzip(gz);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_TRUE(*back == in) << "round trip differs";
    }
  }
}

TEST_P(GzipTest, CompressesRedundantData) {
  const std::string in(1 * kMiB, 'a');
  EXPECT_LT(Compress(GetParam(), 1, in).size(), in.size() / 100);
}

TEST_P(GzipTest, CompressorIsReusable) {
  auto c = MakeGzipCompressor(GetParam(), 1);
  // Growing, then small again, then incompressible: scratch buffers are reused.
  std::vector<std::string> inputs;
  for (uint64_t seed = 0; seed < 5; ++seed) inputs.push_back(MakeInput(1000 + 50000 * seed, seed));
  inputs.emplace_back("tiny");
  inputs.push_back(RandomBytes(150000, 7));
  inputs.push_back(MakeInput(3000, 8));
  for (size_t seed = 0; seed < inputs.size(); ++seed) {
    const std::string& in = inputs[seed];
    std::string out;
    ASSERT_TRUE(c->Compress(in, &out).ok());
    auto back = Gunzip(out);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == in) << "seed " << seed;
  }
}

TEST(GzipLevelTest, ValidateGzipLevelBounds) {
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kZlib, 0).ok());
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kZlib, -1).ok());
  for (int l = 1; l <= 9; ++l) EXPECT_TRUE(ValidateGzipLevel(GzipImpl::kZlib, l).ok()) << l;
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kZlib, 10).ok());
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kLibdeflate, 0).ok());
  for (int l = 1; l <= 12; ++l) EXPECT_TRUE(ValidateGzipLevel(GzipImpl::kLibdeflate, l).ok()) << l;
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kLibdeflate, 13).ok());
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kIsal, -1).ok());
  for (int l = 0; l <= 3; ++l) EXPECT_TRUE(ValidateGzipLevel(GzipImpl::kIsal, l).ok()) << l;
  EXPECT_FALSE(ValidateGzipLevel(GzipImpl::kIsal, 4).ok());
  EXPECT_EQ(ValidateGzipLevel(GzipImpl::kZlib, 10).code(), absl::StatusCode::kInvalidArgument);
}

TEST(GzipLevelTest, ImplFromName) {
  EXPECT_EQ(*GzipImplFromName("libdeflate"), GzipImpl::kLibdeflate);
  EXPECT_EQ(*GzipImplFromName("zlib"), GzipImpl::kZlib);
  EXPECT_EQ(*GzipImplFromName("isal"), GzipImpl::kIsal);
  EXPECT_FALSE(GzipImplFromName("gzip").ok());
  EXPECT_FALSE(GzipImplFromName("").ok());
  EXPECT_FALSE(GzipImplFromName("ZLIB").ok());
}

TEST(GunzipTest, RejectsGarbage) {
  for (const std::string& bad :
       {std::string(""), std::string("not gzip at all"), std::string(1000, '\0'),
        std::string("\x1f\x8b"), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10),
        MakeInput(4096, 9)}) {
    EXPECT_FALSE(Gunzip(bad).ok()) << "size " << bad.size();
  }
}

TEST(GunzipTest, RejectsTruncatedData) {
  const std::string in = MakeInput(200000, 3);
  for (GzipImpl impl : kAllImpls) {
    const std::string gz = Compress(impl, 1, in);
    for (size_t keep : {size_t{0}, size_t{5}, size_t{10}, gz.size() / 3, gz.size() / 2,
                        gz.size() - 8, gz.size() - 4, gz.size() - 1}) {
      EXPECT_FALSE(Gunzip(gz.substr(0, keep)).ok()) << "kept " << keep << " of " << gz.size();
    }
  }
}

TEST(GunzipTest, RejectsCorruptData) {
  const std::string in = MakeInput(50000, 4);
  std::string gz = Compress(GzipImpl::kZlib, 6, in);
  // Flip a byte of the CRC32 in the trailer: the data inflates but the check fails.
  gz[gz.size() - 6] ^= 0x55;
  EXPECT_FALSE(Gunzip(gz).ok());
  // Wrong ISIZE.
  gz = Compress(GzipImpl::kLibdeflate, 6, in);
  gz[gz.size() - 1] ^= 0x01;
  EXPECT_FALSE(Gunzip(gz).ok());
}

TEST(GunzipTest, EnforcesMaxOutput) {
  const std::string in(1 * kMiB, 'z');  // a tiny gzip that inflates to 1 MiB
  const std::string gz = Compress(GzipImpl::kZlib, 9, in);
  ASSERT_LT(gz.size(), 10000u);
  auto r = Gunzip(gz, 1000);
  EXPECT_FALSE(r.ok());
  r = Gunzip(gz, 100 * 1024);
  EXPECT_FALSE(r.ok());
  // Enough room: fine.
  r = Gunzip(gz, 2 * in.size());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), in.size());
}

TEST(GunzipTest, MaxOutputIsExact) {
  // "fails past `max_output` bytes": output of exactly max_output bytes is
  // accepted; a stream one byte longer than max_output is refused.
  for (size_t size : {size_t{1000}, size_t{65536}, size_t{100000}, size_t{131072}, kMiB}) {
    const std::string in = MakeInput(size, size);
    const std::string gz = Compress(GzipImpl::kLibdeflate, 6, in);
    auto r = Gunzip(gz, size);
    ASSERT_TRUE(r.ok()) << "size " << size << ": " << r.status();
    EXPECT_TRUE(*r == in);
    EXPECT_FALSE(Gunzip(gz, size - 1).ok()) << "size " << size;
  }
}

}  // namespace
}  // namespace nf2
