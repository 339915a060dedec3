// The checkpoint file: its format survives a round trip and rejects every
// cut or altered byte; the atomic write leaves nothing behind and reports
// what it cannot do; the resume decision tells the same file from a rotated,
// truncated or rewritten one.
#include "stages/sources/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace nf2::checkpoint {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "nf2ckpt.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static void WriteFile(const std::string& path, const std::string& content,
                        std::ios::openmode mode = std::ios::trunc) {
    std::ofstream out(path, std::ios::binary | mode);
    out << content;
    ASSERT_TRUE(out.good());
  }
  std::vector<std::string> Listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    return names;
  }

  fs::path dir_;
};

std::vector<Entry> SampleEntries() {
  std::vector<Entry> entries(3);
  entries[0] = {"/var/log/flows.json", 2049, 1234567, 1024, 0x0123456789abcdefull, 5242880};
  entries[1] = {"relative dir/100%\tweird\nname\xc3\xa9", 0, 0, 0, 0, 0};
  entries[2] = {"x", UINT64_MAX, UINT64_MAX, 17, UINT64_MAX, UINT64_MAX};
  return entries;
}

void ExpectSame(const Entry& a, const Entry& b) {
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.dev, b.dev);
  EXPECT_EQ(a.ino, b.ino);
  EXPECT_EQ(a.fingerprint_bytes, b.fingerprint_bytes);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.offset, b.offset);
}

TEST_F(CheckpointTest, RoundTrip) {
  const std::vector<Entry> entries = SampleEntries();
  const std::string text = Serialize(entries);
  // One line per entry plus header and trailer; odd path bytes are escaped.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  EXPECT_NE(text.find("relative%20dir/100%25%09weird%0aname%c3%a9"), std::string::npos) << text;
  auto parsed = Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) ExpectSame((*parsed)[i], entries[i]);

  auto empty = Parse(Serialize({}));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

TEST_F(CheckpointTest, EveryTruncationIsAnError) {
  const std::string text = Serialize(SampleEntries());
  for (size_t len = 0; len < text.size(); ++len) {
    auto parsed = Parse(text.substr(0, len));
    EXPECT_FALSE(parsed.ok()) << "cut at " << len;
    if (!parsed.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(parsed.status())) << parsed.status();
    }
  }
}

TEST_F(CheckpointTest, RandomDamageIsAnErrorNeverACrash) {
  const std::string text = Serialize(SampleEntries());
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string bad = text;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bad.size();
      switch (rng() % 3) {
        case 0:
          bad[at] = static_cast<char>(rng());
          break;
        case 1:
          bad.erase(at, 1 + rng() % 8);
          break;
        default:
          bad.insert(at, 1, static_cast<char>(rng()));
      }
    }
    if (bad == text) continue;
    // Whatever the damage, the hash over the content catches it.
    EXPECT_FALSE(Parse(bad).ok()) << "edit " << i;
  }
}

// The trailer the format documents: entry count and FNV-1a 64 of the body.
std::string WithTrailer(const std::string& body, int entries) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return body + "end " + std::to_string(entries) + " " + hex + "\n";
}

TEST_F(CheckpointTest, TrailerIsTheDocumentedHash) {
  const std::string body = "nf2ingest-checkpoint 1\n7 1 2 0 0000000000000000 /a\n";
  auto parsed = Parse(WithTrailer(body, 1));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].offset, 7u);
  EXPECT_FALSE(Parse(WithTrailer(body, 2)).ok());  // count mismatch
}

// A malformed entry whose trailer was recomputed (a buggy writer, not a torn
// file) is still refused, and the message names the line.
TEST_F(CheckpointTest, MalformedEntriesNameTheirLine) {
  const std::vector<std::string> bad_entries = {
      "12 1 2 3 0123456789abcdef",                      // a field missing
      "12 1 2 3 0123456789abcdef a b",                  // one too many
      "+12 1 2 3 0123456789abcdef a",                   // sign
      "12 1 2 1025 0123456789abcdef a",                 // fingerprint longer than allowed
      "12 1 2 3 0123456789ABCDEF a",                    // upper-case hex
      "12 1 2 3 0123456789abcde a",                     // short hash
      "99999999999999999999 1 2 3 0123456789abcdef a",  // overflow
      "12 1 2 3 0123456789abcdef a%2",                  // cut escape
      "12 1 2 3 0123456789abcdef a%41",                 // escape of a plain byte
      "12 1 2 3 0123456789abcdef ",                     // empty path
  };
  for (const std::string& entry : bad_entries) {
    std::string body = "nf2ingest-checkpoint 1\n1 1 1 0 0000000000000000 ok\n" + entry + "\n";
    const std::string text = WithTrailer(body, 2);
    auto parsed = Parse(text);
    ASSERT_FALSE(parsed.ok()) << entry;
    EXPECT_NE(std::string(parsed.status().message()).find("line 3"), std::string::npos)
        << entry << ": " << parsed.status();
  }
}

TEST_F(CheckpointTest, TwoEntriesForOnePathAreRefused) {
  std::vector<Entry> entries = SampleEntries();
  entries.push_back(entries[0]);
  auto parsed = Parse(Serialize(entries));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(std::string(parsed.status().message()).find("line 5"), std::string::npos);
}

TEST_F(CheckpointTest, WriteLoadRoundTripLeavesNoTemporaryFile) {
  const std::string path = Path("ckpt");
  ASSERT_TRUE(WriteAtomically(path, Serialize(SampleEntries())).ok());
  ASSERT_TRUE(WriteAtomically(path, Serialize({SampleEntries()[2]})).ok());  // replaces
  EXPECT_EQ(Listing(), std::vector<std::string>{"ckpt"});
  auto loaded = Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  ExpectSame((*loaded)[0], SampleEntries()[2]);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(CheckpointTest, WriteIntoAReadOnlyDirectoryFails) {
  const std::string ro = Path("ro");
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  std::string target = ro + "/ckpt";
  // With CAP_DAC_OVERRIDE (root) the mode does not stop anyone; /proc
  // refuses new files whoever asks.
  const int probe = open((ro + "/probe").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (probe >= 0) {
    close(probe);
    unlink((ro + "/probe").c_str());
    target = "/proc/nf2ingest-checkpoint";
  }
  absl::Status st = WriteAtomically(target, "x\n");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find(target), std::string::npos) << st;
  EXPECT_TRUE(fs::is_empty(ro));

  st = WriteAtomically(Path("missing/ckpt"), "x\n");
  EXPECT_FALSE(st.ok());
}

TEST_F(CheckpointTest, FailedRenameRemovesTheTemporaryFile) {
  fs::create_directory(Path("ckpt"));
  fs::create_directory(Path("ckpt/inside"));  // a non-empty directory cannot be replaced
  EXPECT_FALSE(WriteAtomically(Path("ckpt"), "x\n").ok());
  EXPECT_EQ(Listing(), std::vector<std::string>{"ckpt"});
}

TEST_F(CheckpointTest, MissingFileIsEmptyUnreadableIsAnError) {
  auto missing = Load(Path("none"));
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->empty());

  fs::create_directory(Path("dir"));
  auto dir = Load(Path("dir"));
  EXPECT_FALSE(dir.ok());
  EXPECT_FALSE(absl::IsDataLoss(dir.status()));
  auto start = LoadForStart(Path("dir"));  // not corrupt: a configuration error
  EXPECT_FALSE(start.ok());
  EXPECT_TRUE(fs::exists(Path("dir")));
}

TEST_F(CheckpointTest, CorruptFileStartsFromTheTopAndIsKept) {
  const std::string path = Path("ckpt");
  const std::string text = Serialize(SampleEntries());
  WriteFile(path, text.substr(0, text.size() / 2));
  auto bad = Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsDataLoss(bad.status()));

  auto start = LoadForStart(path);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_TRUE(start->entries.empty());
  EXPECT_NE(start->warning.find("from the top"), std::string::npos) << start->warning;
  EXPECT_NE(start->warning.find(path + ".corrupt"), std::string::npos) << start->warning;
  EXPECT_FALSE(fs::exists(path));
  std::ifstream kept(path + ".corrupt", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, text.substr(0, text.size() / 2));

  auto good = LoadForStart(Path("none"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->warning.empty());
}

TEST_F(CheckpointTest, IdentifyReadsTheFirstBytesAndRefusesFifos) {
  const std::string path = Path("in");
  WriteFile(path, std::string(3000, 'a'));
  auto id = Identify(path);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->size, 3000u);
  EXPECT_EQ(id->fingerprint_bytes, kFingerprintBytes);
  EXPECT_EQ(id->fingerprint, Fingerprint(std::string(kFingerprintBytes, 'a')));
  auto shorter = Identify(path, 10);
  ASSERT_TRUE(shorter.ok());
  EXPECT_EQ(shorter->fingerprint_bytes, 10u);
  EXPECT_NE(shorter->fingerprint, id->fingerprint);
  // The length is part of the fingerprint: 10 zero bytes are not 11.
  EXPECT_NE(Fingerprint(std::string(10, '\0')), Fingerprint(std::string(11, '\0')));

  ASSERT_EQ(mkfifo(Path("fifo").c_str(), 0600), 0);
  auto fifo = Identify(Path("fifo"));
  ASSERT_FALSE(fifo.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(fifo.status()));
}

// What the next start sees after the first run checkpointed byte 2000.
class ResumeTest : public CheckpointTest {
 protected:
  void SetUp() override {
    CheckpointTest::SetUp();
    path_ = Path("flows.json");
    WriteFile(path_, Lines('a', 40));  // 40 lines of 100 bytes
    auto id = Identify(path_);
    ASSERT_TRUE(id.ok());
    entry_ = MakeEntry(path_, *id, 2000);
  }
  static std::string Lines(char c, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += std::string(99, c) + "\n";
    return out;
  }
  ResumeDecision Decide() {
    auto id = Identify(path_, entry_.fingerprint_bytes);
    EXPECT_TRUE(id.ok()) << id.status();
    return ResumeOffset(&entry_, path_, id.ok() ? *id : FileIdentity());
  }

  std::string path_;
  Entry entry_;
};

TEST_F(ResumeTest, SameFileResumesEvenAfterGrowing) {
  ResumeDecision d = Decide();
  EXPECT_EQ(d.kind, ResumeDecision::Kind::kResume);
  EXPECT_EQ(d.offset, 2000u);
  EXPECT_NE(d.reason.find("resuming at byte 2000"), std::string::npos) << d.reason;
  WriteFile(path_, Lines('b', 5), std::ios::app);
  d = Decide();
  EXPECT_EQ(d.kind, ResumeDecision::Kind::kResume);
  EXPECT_EQ(d.offset, 2000u);
}

TEST_F(ResumeTest, SmallFileFingerprintCoversWhatExistedThen) {
  const std::string small = Path("small");
  WriteFile(small, "line one\n");
  auto id = Identify(small);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->fingerprint_bytes, 9u);
  const Entry entry = MakeEntry(small, *id, 9);
  WriteFile(small, Lines('c', 30), std::ios::app);  // grows past kFingerprintBytes
  auto now = Identify(small, entry.fingerprint_bytes);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(ResumeOffset(&entry, small, *now).kind, ResumeDecision::Kind::kResume);
}

TEST_F(ResumeTest, TruncatedFileStartsFromTheTop) {
  ASSERT_EQ(truncate(path_.c_str(), 1500), 0);  // same inode, same first bytes
  ResumeDecision d = Decide();
  EXPECT_EQ(d.kind, ResumeDecision::Kind::kTruncated);
  EXPECT_EQ(d.offset, 0u);
  EXPECT_NE(d.reason.find("truncated"), std::string::npos) << d.reason;
}

TEST_F(ResumeTest, SameInodeNewContentIsAnotherFile) {
  struct stat before, after;
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  WriteFile(path_, Lines('z', 50));  // O_TRUNC, longer than the offset
  ASSERT_EQ(stat(path_.c_str(), &after), 0);
  ASSERT_EQ(before.st_ino, after.st_ino);
  ResumeDecision d = Decide();
  EXPECT_EQ(d.kind, ResumeDecision::Kind::kOtherFile);
  EXPECT_EQ(d.offset, 0u);
  EXPECT_NE(d.reason.find("first bytes changed"), std::string::npos) << d.reason;
}

TEST_F(ResumeTest, RotatedFileIsAnotherFile) {
  fs::rename(path_, Path("flows.json.1"));
  WriteFile(path_, Lines('a', 40));  // identical content, new inode
  ResumeDecision d = Decide();
  EXPECT_EQ(d.kind, ResumeDecision::Kind::kOtherFile);
  EXPECT_EQ(d.offset, 0u);
  EXPECT_NE(d.reason.find("device/inode changed"), std::string::npos) << d.reason;
}

TEST_F(ResumeTest, NoEntryStartsFromTheTop) {
  auto id = Identify(path_);
  ASSERT_TRUE(id.ok());
  ResumeDecision d = ResumeOffset(nullptr, path_, *id);
  EXPECT_EQ(d.kind, ResumeDecision::Kind::kNoCheckpoint);
  EXPECT_EQ(d.offset, 0u);
  const std::vector<Entry> entries = {entry_};
  EXPECT_EQ(Find(entries, path_), entries.data());
  EXPECT_EQ(Find(entries, path_ + "x"), nullptr);
}

}  // namespace
}  // namespace nf2::checkpoint
