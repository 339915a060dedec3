// The checkpoint file of --checkpoint-file: for each file input, how far its
// lines have all reached a final outcome, and enough of the file's identity
// to tell, on the next start, whether the file at that path is still the one
// the offset belongs to. Pure functions and plain file I/O, no threads; the
// pipeline's AckTracker supplies the offsets and a writer thread calls
// WriteAtomically.
//
// Format (text, every line ends in '\n'):
//
//   nf2ingest-checkpoint 1
//   <offset> <dev> <ino> <fp_bytes> <fp_hash> <path>
//   ...
//   end <entries> <file_hash>
//
// offset, dev, ino, fp_bytes: unsigned decimal. fp_hash: 16 lowercase hex
// digits, Fingerprint() of the file's first fp_bytes bytes (at most
// kFingerprintBytes; fewer when the file was shorter when first read). path:
// the input path as given, bytes outside '!'..'~' and '%' written as %xx (lowercase
// hex).
// file_hash: 16 hex digits, FNV-1a 64 of every byte before the "end" line, so
// a truncated or altered file is recognised as corrupt, never half-read.
// Parse is strict: any deviation is an error naming the line.
#ifndef NF2INGEST_STAGES_SOURCES_CHECKPOINT_H_
#define NF2INGEST_STAGES_SOURCES_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nf2::checkpoint {

// How much of a file's beginning identifies it. A new file that reuses a
// freed inode almost never starts with the same bytes.
inline constexpr uint32_t kFingerprintBytes = 1024;

// A stable 64-bit hash (FNV-1a) of `prefix` with its length mixed in.
uint64_t Fingerprint(std::string_view prefix);

// What a regular file is, now.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  uint32_t fingerprint_bytes = 0;  // bytes hashed: min(size, the length asked for)
  uint64_t fingerprint = 0;
};

// Reads dev, inode, size and the fingerprint of the first `fingerprint_bytes`
// bytes (pread: the file offset is left alone). To compare with a checkpoint
// entry, pass the entry's fingerprint_bytes. Not a regular file (FIFO, tty):
// FailedPrecondition, such inputs have no checkpoint.
absl::StatusOr<FileIdentity> Identify(int fd, uint32_t fingerprint_bytes = kFingerprintBytes);
absl::StatusOr<FileIdentity> Identify(const std::string& path,
                                      uint32_t fingerprint_bytes = kFingerprintBytes);

struct Entry {
  std::string path;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint32_t fingerprint_bytes = 0;
  uint64_t fingerprint = 0;
  uint64_t offset = 0;  // every byte before it has its final outcome
};

// The entry for an input read at `offset` of the file `identity` describes.
Entry MakeEntry(std::string path, const FileIdentity& identity, uint64_t offset);

// Strict: a malformed line is DataLoss naming its line number; two entries
// for one path are an error too.
absl::StatusOr<std::vector<Entry>> Parse(std::string_view text);
std::string Serialize(const std::vector<Entry>& entries);

// The entry for `path`, or null.
const Entry* Find(const std::vector<Entry>& entries, std::string_view path);

// Replaces `path` with `text` so that a crash at any moment leaves either the
// old or the new content: a temporary file in the same directory (mode
// 0600), written, fsync'ed, renamed over `path`, then the directory
// fsync'ed. On error the temporary file is removed.
absl::Status WriteAtomically(const std::string& path, std::string_view text);

// A missing file is an empty checkpoint (the first run). A file that cannot
// be read is an error with errno's message; a corrupt one is DataLoss.
absl::StatusOr<std::vector<Entry>> Load(const std::string& path);

// The start policy. A corrupt checkpoint must not stop ingestion, nor be
// half-trusted: it is renamed to PATH.corrupt (kept for a human), every input
// starts from the top, and `warning` says so. Unreadable (permissions, a
// directory) stays an error: that is a configuration mistake to report
// before reading any input.
struct Loaded {
  std::vector<Entry> entries;
  std::string warning;  // empty unless the file was corrupt
};
absl::StatusOr<Loaded> LoadForStart(const std::string& path);

// Where to start reading an input, and why, for the log.
struct ResumeDecision {
  enum class Kind { kResume, kNoCheckpoint, kTruncated, kOtherFile };
  Kind kind = Kind::kNoCheckpoint;
  uint64_t offset = 0;
  std::string reason;
};

// `current` must come from Identify(..., entry->fingerprint_bytes). The same
// device, inode and fingerprint with at least `offset` bytes resumes at the
// offset; the same file now shorter than the offset was truncated; another
// device/inode or another beginning is another file. The last two, and no
// entry at all, start at 0.
ResumeDecision ResumeOffset(const Entry* entry, std::string_view path, const FileIdentity& current);

}  // namespace nf2::checkpoint

#endif  // NF2INGEST_STAGES_SOURCES_CHECKPOINT_H_
