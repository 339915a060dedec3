// The batch file format (round trip, and rejection of every truncation and
// single-byte change) and BatchStore: ids, durability bookkeeping, the size
// limit, and recovery from what a crash or a bad disk leaves behind.
#include "stages/sinks/http/spool.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace nf2 {
namespace {

namespace fs = std::filesystem;

// A batch shaped like the assembler's: records inside the envelope, each
// record_end pointing just past a record.
Batch MakeBatch(uint64_t id, int records, bool gzipped) {
  Batch b;
  b.id = id;
  b.body = "{\"records\":[";
  for (int i = 0; i < records; ++i) {
    if (i > 0) b.body += ",";
    b.body += "{\"n\":" + std::to_string(i) + ",\"batch\":" + std::to_string(id) + "}";
    b.record_ends.push_back(static_cast<uint32_t>(b.body.size()));
  }
  b.body += R"(],"collector_id":"c1","format":"flows.v1"})";
  if (gzipped) {
    b.gzipped = true;
    // Not real gzip: the store keeps bytes, it does not inflate them. NULs
    // and high bytes check that nothing is treated as text.
    b.gzip_body =
        std::string("\x1f\x8b\x08\x00\x00\xff\x00\x01", 8) + "payload-" + std::to_string(id);
  }
  return b;
}

void ExpectSameBatch(const Batch& got, const Batch& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.body, want.body);
  EXPECT_EQ(got.record_ends, want.record_ends);
  EXPECT_EQ(got.gzipped, want.gzipped);
  EXPECT_EQ(got.gzip_body, want.gzip_body);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class BatchStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spool_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/spool";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<BatchStore> OpenStore(uint64_t max_bytes = 0) {
    absl::StatusOr<std::unique_ptr<BatchStore>> s = BatchStore::Open(dir_, max_bytes);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string root_;
  std::string dir_;
};

TEST(BatchFileTest, RoundTripPlain) {
  Batch b = MakeBatch(42, 3, false);
  absl::StatusOr<StoredBatch> got = DecodeBatchFile(EncodeBatchFile(b, "queued at shutdown"));
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameBatch(got->batch, b);
  EXPECT_EQ(got->note, "queued at shutdown");
  EXPECT_EQ(got->batch.attempts, 0);
}

TEST(BatchFileTest, RoundTripGzippedWithBinaryNote) {
  Batch b = MakeBatch(UINT64_MAX, 5, true);
  const char kNote[] = "HTTP 422\n{\"error\":\"bad\"}\0\xff";
  const std::string note(kNote, sizeof kNote - 1);
  absl::StatusOr<StoredBatch> got = DecodeBatchFile(EncodeBatchFile(b, note));
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameBatch(got->batch, b);
  EXPECT_EQ(got->note, note);
}

TEST(BatchFileTest, RoundTripEmptyBatch) {
  Batch b;
  absl::StatusOr<StoredBatch> got = DecodeBatchFile(EncodeBatchFile(b, ""));
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameBatch(got->batch, b);
  EXPECT_EQ(got->note, "");
}

TEST(BatchFileTest, LongNoteIsTruncated) {
  const std::string note(kMaxNoteBytes + 100, 'x');
  absl::StatusOr<StoredBatch> got = DecodeBatchFile(EncodeBatchFile(MakeBatch(1, 1, false), note));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->note, note.substr(0, kMaxNoteBytes));
}

TEST(BatchFileTest, StartsWithMagicLine) {
  const std::string file = EncodeBatchFile(MakeBatch(1, 1, false), "");
  EXPECT_EQ(file.substr(0, kBatchFileMagic.size()), kBatchFileMagic);
}

TEST(BatchFileTest, EveryTruncationIsDataLoss) {
  const std::string file = EncodeBatchFile(MakeBatch(7, 4, true), "note");
  for (size_t len = 0; len < file.size(); ++len) {
    absl::StatusOr<StoredBatch> got = DecodeBatchFile(std::string_view(file).substr(0, len));
    EXPECT_TRUE(absl::IsDataLoss(got.status())) << "length " << len << ": " << got.status();
  }
}

TEST(BatchFileTest, AppendedBytesAreDataLoss) {
  const std::string file = EncodeBatchFile(MakeBatch(7, 4, true), "note");
  EXPECT_TRUE(absl::IsDataLoss(DecodeBatchFile(file + '\0').status()));
}

TEST(BatchFileTest, SingleByteChangesAreDataLoss) {
  // CRC-32 catches every error burst of up to 32 bits, so every position and
  // every kind of single-byte change must be caught; the masks are a sample.
  const std::string file = EncodeBatchFile(MakeBatch(7, 4, true), "note");
  for (size_t pos = 0; pos < file.size(); ++pos) {
    for (const int mask : {0x01, 0x80, 0xff, 0x5a}) {
      std::string bad = file;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      absl::StatusOr<StoredBatch> got = DecodeBatchFile(bad);
      EXPECT_TRUE(absl::IsDataLoss(got.status()))
          << "byte " << pos << " ^ " << int{mask} << ": " << got.status();
    }
  }
}

// Overwrites `width` bytes at `offset` (from the start of the file) with
// `value` little-endian and recomputes the CRC, so that the checks behind
// the checksum are what has to catch the change.
std::string Patched(std::string file, size_t offset, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) file[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
  file.resize(file.size() - 4);
  const auto crc = static_cast<uint32_t>(
      crc32_z(crc32_z(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(file.data()), file.size()));
  for (int i = 0; i < 4; ++i) file.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return file;
}

TEST(BatchFileTest, PatchHelperKeepsValidFilesValid) {
  const std::string file = EncodeBatchFile(MakeBatch(7, 4, false), "");
  // Same id rewritten: still valid, so the rejections below are the field's.
  absl::StatusOr<StoredBatch> got = DecodeBatchFile(Patched(file, kBatchFileMagic.size(), 99, 8));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->batch.id, 99u);
}

TEST(BatchFileTest, HostileHeadersAreDataLossWithoutHugeAllocations) {
  // Offsets of the header fields, after the magic line.
  const size_t h = kBatchFileMagic.size();
  const size_t kCount = h + 8, kBody = h + 12, kGzip = h + 20, kNote = h + 28, kFlags = h + 32;
  const std::string file = EncodeBatchFile(MakeBatch(7, 4, true), "note");
  struct Case {
    const char* what;
    size_t offset;
    uint64_t value;
    int width;
  };
  for (const Case& c : {
           Case{"count max", kCount, 0xffffffffu, 4},
           Case{"count +1", kCount, 5, 4},
           Case{"count -1", kCount, 3, 4},
           Case{"body max", kBody, UINT64_MAX, 8},
           Case{"body near max", kBody, UINT64_MAX - 3, 8},
           Case{"gzip max", kGzip, UINT64_MAX, 8},
           Case{"gzip +1", kGzip, 1 + MakeBatch(7, 4, true).gzip_body.size(), 8},
           Case{"note huge", kNote, 0xffffffffu, 4},
           Case{"note over limit", kNote, kMaxNoteBytes + 1, 4},
           Case{"unknown flag", kFlags, 2, 4},
           Case{"record end 0 past body", h + 36, 0xffffffffu, 4},
           Case{"record ends not increasing", h + 36 + 4, 1, 4},
           Case{"record ends equal", h + 36 + 8, MakeBatch(7, 4, true).record_ends[1], 4},
           Case{"version 2", h - 2, '2', 1},
       }) {
    absl::StatusOr<StoredBatch> got = DecodeBatchFile(Patched(file, c.offset, c.value, c.width));
    EXPECT_TRUE(absl::IsDataLoss(got.status())) << c.what << ": " << got.status();
  }
}

TEST(BatchFileTest, ArbitraryInputIsDataLoss) {
  for (std::string_view junk :
       {std::string_view(""), std::string_view("nf2ingest-batch 1\n"),
        std::string_view("{\"records\":[]}"),
        std::string_view("nf2ingest-batch 9\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")}) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeBatchFile(junk).status())) << junk;
  }
}

TEST_F(BatchStoreTest, PutAndReadRoundTrip) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::is_directory(dir_));
  const Batch plain = MakeBatch(10, 3, false);
  const Batch gz = MakeBatch(11, 2, true);
  absl::StatusOr<uint64_t> a = store->Put(plain);
  absl::StatusOr<uint64_t> b = store->Put(gz, R"(HTTP 400 {"error":"invalid_json"})");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_LT(*a, *b);

  absl::StatusOr<StoredBatch> ra = store->Read(*a);
  ASSERT_TRUE(ra.ok()) << ra.status();
  ExpectSameBatch(ra->batch, plain);
  EXPECT_EQ(ra->note, "");
  absl::StatusOr<StoredBatch> rb = store->Read(*b);
  ASSERT_TRUE(rb.ok()) << rb.status();
  ExpectSameBatch(rb->batch, gz);
  EXPECT_EQ(rb->note, "HTTP 400 {\"error\":\"invalid_json\"}");

  // One file per batch under its final name; no temporary left behind.
  std::set<std::string> names = Listing(dir_);
  names.erase(".lock");
  EXPECT_EQ(names, (std::set<std::string>{"batch-00000000000000000001.nf2b",
                                          "batch-00000000000000000002.nf2b"}));
  EXPECT_EQ(store->PathOf(*a), dir_ + "/batch-00000000000000000001.nf2b");
}

TEST_F(BatchStoreTest, IdsAreOldestFirstAndContinueAfterReopen) {
  std::vector<uint64_t> ids;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<uint64_t> id = store->Put(MakeBatch(100 + i, 1, false));
      ASSERT_TRUE(id.ok()) << id.status();
      ids.push_back(*id);
    }
    EXPECT_EQ(store->Ids(), ids);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    ASSERT_TRUE(store->Remove(ids.back()).ok());  // the newest: seq must not be reused
    ids.pop_back();
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Ids(), ids);
  absl::StatusOr<uint64_t> next = store->Put(MakeBatch(200, 1, false));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_GT(*next, ids.back());
  // Each id still reads back its own batch.
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StatusOr<StoredBatch> r = store->Read(ids[i]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->batch.id, 100 + i);
  }
}

TEST_F(BatchStoreTest, RemoveIsIdempotentAndUpdatesCounts) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<uint64_t> a = store->Put(MakeBatch(1, 2, false));
  absl::StatusOr<uint64_t> b = store->Put(MakeBatch(2, 2, true));
  ASSERT_TRUE(a.ok() && b.ok());
  const uint64_t size_a = fs::file_size(store->PathOf(*a));
  const uint64_t size_b = fs::file_size(store->PathOf(*b));
  EXPECT_EQ(store->count(), 2u);
  EXPECT_EQ(store->bytes(), size_a + size_b);

  ASSERT_TRUE(store->Remove(*a).ok());
  EXPECT_FALSE(fs::exists(store->PathOf(*a)));
  EXPECT_EQ(store->Ids(), std::vector<uint64_t>{*b});
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(store->bytes(), size_b);
  EXPECT_TRUE(store->Remove(*a).ok());     // again
  EXPECT_TRUE(store->Remove(12345).ok());  // never existed
  EXPECT_EQ(store->bytes(), size_b);
  EXPECT_TRUE(absl::IsNotFound(store->Read(*a).status()));
}

TEST_F(BatchStoreTest, BytesMatchTheFilesAndSurviveReopen) {
  uint64_t bytes = 0;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->bytes(), 0u);
    for (int i = 0; i < 4; ++i) {
      const Batch batch = MakeBatch(i, 1 + i * 7, i % 2 == 0);
      absl::StatusOr<uint64_t> id = store->Put(batch, std::string(i * 10, 'n'));
      ASSERT_TRUE(id.ok()) << id.status();
      const uint64_t size = fs::file_size(store->PathOf(*id));
      EXPECT_EQ(size, EncodeBatchFile(batch, std::string(i * 10, 'n')).size());
      bytes += size;
      EXPECT_EQ(store->bytes(), bytes);
    }
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->bytes(), bytes);
  EXPECT_EQ(store->count(), 4u);
}

ssize_t NoSpaceLeft(int, const void*, size_t) {
  errno = ENOSPC;
  return -1;
}

// A full disk is not the store's own limit: no Remove of ours is sure to
// make room, so the sender must not wait on it as it waits on a full store.
TEST_F(BatchStoreTest, AFullDiskIsToldApartFromAFullStore) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  store->SetWriteFunctionForTesting(&NoSpaceLeft);
  absl::StatusOr<uint64_t> refused = store->Put(MakeBatch(1, 3, false));
  EXPECT_TRUE(IsDiskFull(refused.status())) << refused.status();
  EXPECT_FALSE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find(dir_), std::string::npos) << refused.status();
  EXPECT_EQ(store->count(), 0u);
  for (const std::string& name : Listing(dir_)) EXPECT_EQ(name, ".lock") << "left behind";
  EXPECT_GT(store->FreeDiskBytes(), 0u);
}

TEST_F(BatchStoreTest, FullStoreRefusesWithoutDeletingAnything) {
  const Batch batch = MakeBatch(1, 3, false);
  const uint64_t one = EncodeBatchFile(batch, "").size();
  auto store = OpenStore(3 * one + one / 2);  // room for three, not four
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->Put(batch).ok());
  const std::vector<uint64_t> before = store->Ids();
  const std::set<std::string> files = Listing(dir_);

  absl::StatusOr<uint64_t> refused = store->Put(batch);
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_EQ(store->Ids(), before);
  EXPECT_EQ(Listing(dir_), files);
  EXPECT_EQ(store->bytes(), 3 * one);
  for (uint64_t id : before) EXPECT_TRUE(store->Read(id).ok());

  // Room again once the oldest is delivered.
  ASSERT_TRUE(store->Remove(before.front()).ok());
  absl::StatusOr<uint64_t> again = store->Put(batch);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GT(*again, before.back());
}

TEST_F(BatchStoreTest, BatchLargerThanTheWholeStoreIsInvalidNotExhausted) {
  // Waiting for space could never help: the caller must not block on it.
  auto store = OpenStore(100);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<uint64_t> r = store->Put(MakeBatch(1, 20, false));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(store->count(), 0u);
}

TEST_F(BatchStoreTest, MalformedBatchIsRefused) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  Batch b = MakeBatch(1, 3, false);
  std::swap(b.record_ends[0], b.record_ends[1]);
  EXPECT_TRUE(absl::IsInvalidArgument(store->Put(b).status()));
  b = MakeBatch(1, 3, false);
  b.record_ends.back() = static_cast<uint32_t>(b.body.size() + 1);
  EXPECT_TRUE(absl::IsInvalidArgument(store->Put(b).status()));
  EXPECT_EQ(store->count(), 0u);
  std::set<std::string> names = Listing(dir_);
  names.erase(".lock");
  EXPECT_TRUE(names.empty());
}

TEST_F(BatchStoreTest, CorruptAndTornFilesAreMovedAsideAtOpen) {
  std::vector<uint64_t> ids;
  std::string flipped_path, torn_path;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 4; ++i) ids.push_back(*store->Put(MakeBatch(i, 2, i == 1)));
    flipped_path = store->PathOf(ids[1]);
    torn_path = store->PathOf(ids[3]);  // the newest, as a crash would leave it
  }
  std::string flipped = Slurp(flipped_path);
  flipped[flipped.size() / 2] ^= 0x20;
  Spit(flipped_path, flipped);
  const std::string torn = Slurp(torn_path);
  Spit(torn_path, torn.substr(0, torn.size() - 9));

  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Ids(), (std::vector<uint64_t>{ids[0], ids[2]}));
  EXPECT_FALSE(fs::exists(flipped_path));
  EXPECT_FALSE(fs::exists(torn_path));
  EXPECT_EQ(Slurp(flipped_path + ".corrupt"), flipped);  // kept for a human to look at
  EXPECT_TRUE(fs::exists(torn_path + ".corrupt"));
  EXPECT_EQ(store->bytes(),
            fs::file_size(store->PathOf(ids[0])) + fs::file_size(store->PathOf(ids[2])));
  for (uint64_t id : {ids[0], ids[2]}) {
    absl::StatusOr<StoredBatch> r = store->Read(id);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // New ids never collide with the names moved aside.
  absl::StatusOr<uint64_t> next = store->Put(MakeBatch(9, 1, false));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, ids[3]);
}

TEST_F(BatchStoreTest, FileCorruptedAfterOpenIsDataLossOnRead) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const uint64_t bad = *store->Put(MakeBatch(1, 2, false));
  const uint64_t good = *store->Put(MakeBatch(2, 2, false));
  const std::string path = store->PathOf(bad);
  std::string data = Slurp(path);
  data[data.size() - 1] ^= 1;  // the CRC itself
  Spit(path, data);

  absl::StatusOr<StoredBatch> r = store->Read(bad);
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  EXPECT_NE(r.status().message().find(path), absl::string_view::npos) << r.status();
  EXPECT_TRUE(fs::exists(path + ".corrupt"));
  EXPECT_EQ(store->Ids(), std::vector<uint64_t>{good});
  EXPECT_EQ(store->bytes(), fs::file_size(store->PathOf(good)));
  EXPECT_TRUE(store->Read(good).ok());
  EXPECT_TRUE(absl::IsNotFound(store->Read(bad).status()));
}

TEST_F(BatchStoreTest, HugeFileIsMovedAsideWithoutReadingIt) {
  ASSERT_TRUE(fs::create_directories(dir_));
  const std::string path = dir_ + "/batch-00000000000000000003.nf2b";
  Spit(path, std::string(kBatchFileMagic));
  // Sparse: the size is what counts, not the blocks.
  fs::resize_file(path, kMaxBatchFileBytes + 1);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->count(), 0u);
  EXPECT_TRUE(fs::exists(path + ".corrupt"));
}

TEST_F(BatchStoreTest, LeftoverTemporaryFilesAreRemovedAndOtherFilesKept) {
  uint64_t id = 0;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    id = *store->Put(MakeBatch(1, 1, false));
  }
  // What a crash between open() and rename() leaves behind.
  Spit(dir_ + "/.tmp-batch-00000000000000000002.nf2b", "nf2ingest-batch 1\npartial");
  Spit(dir_ + "/.tmp-batch-00000000000000000003.nf2b", "");
  Spit(dir_ + "/README", "not a batch");
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::set<std::string> names = Listing(dir_);
  names.erase(".lock");
  EXPECT_EQ(names, (std::set<std::string>{"batch-00000000000000000001.nf2b", "README"}));
  EXPECT_EQ(store->Ids(), std::vector<uint64_t>{id});
}

TEST_F(BatchStoreTest, CreatesNestedDirectories) {
  dir_ = root_ + "/a/b/c";
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::is_directory(dir_));
  EXPECT_EQ(store->dir(), dir_);
}

TEST_F(BatchStoreTest, UncreatableDirectoryIsAClearError) {
  // A regular file where a parent directory should be (works as root too).
  Spit(root_ + "/file", "x");
  const std::string dir = root_ + "/file/spool";
  absl::StatusOr<std::unique_ptr<BatchStore>> s = BatchStore::Open(dir, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(dir), absl::string_view::npos) << s.status();
  EXPECT_NE(s.status().message().find("cannot create directory"), absl::string_view::npos)
      << s.status();

  absl::StatusOr<std::unique_ptr<BatchStore>> empty = BatchStore::Open("", 0);
  EXPECT_TRUE(absl::IsInvalidArgument(empty.status())) << empty.status();
}

TEST_F(BatchStoreTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::unique_ptr<BatchStore>> again = BatchStore::Open(dir_, 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  store.reset();
  EXPECT_NE(OpenStore(), nullptr);  // released with the first store
}

TEST_F(BatchStoreTest, ConcurrentPutsGetDistinctIds) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> got(kThreads);
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<uint64_t> id = store->Put(MakeBatch(t * 1000 + i, 2, false));
        if (id.ok()) got[t].push_back(*id);
        if (i % 3 == 0 && id.ok()) (void)store->Ids();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(store->count(), all.size());
  EXPECT_EQ(store->Ids(), std::vector<uint64_t>(all.begin(), all.end()));
}

}  // namespace
}  // namespace nf2
