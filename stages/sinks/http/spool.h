// A directory of batches on disk, one file per batch: the disk spool (batches
// that could not be delivered in time, or every batch with --durable) and the
// dead-letter store (batches the API refused for good, with its answer).
//
// Why files and renames: a batch must survive kill -9 and power loss once Put
// returns, and a crash in the middle of a write must never leave something
// that looks like a batch. So each file is written under a temporary name,
// fsynced, renamed into place and the directory fsynced; a checksum catches
// what the disk mangles later, and a bad file is moved aside, never fatal.
//
// Batch file format, version 1 (all integers little-endian):
//
//   offset  size  field
//   0       18    magic and version line: "nf2ingest-batch 1\n"
//   18      8     batch id (Batch::id: the X-Batch-Id, stable across retries)
//   26      4     record count (N)
//   30      8     body length in bytes (B)
//   38      8     gzip body length in bytes (G)
//   46      4     note length in bytes (T)
//   50      4     flags: bit 0 = gzipped; the other bits must be zero
//   54      4*N   record_ends, uint32 each: strictly increasing, each <= B
//   ..      B     body (the JSON)
//   ..      G     gzip body (the wire bytes when gzipped)
//   ..      T     note (free text, e.g. the API's status and answer)
//   ..      4     CRC-32 (zlib crc32) of every byte before it
//
// The file is exactly that long: trailing bytes are corruption too.
#ifndef NF2INGEST_STAGES_SINKS_HTTP_SPOOL_H_
#define NF2INGEST_STAGES_SINKS_HTTP_SPOOL_H_

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "stages/encode/batch.h"

namespace nf2 {

// The magic line that opens every batch file.
inline constexpr std::string_view kBatchFileMagic = "nf2ingest-batch 1\n";
// A larger file is refused (DataLoss) before anything is allocated for it,
// so a hostile or runaway file cannot exhaust memory. Batches are a few MiB
// (the API's 5 MiB wire limit, bodies up to 4x that before gzip).
inline constexpr uint64_t kMaxBatchFileBytes = uint64_t{256} << 20;
// Notes are diagnostics (an API answer may be a whole HTML page): longer ones
// are truncated when encoded rather than failing the store of the batch.
inline constexpr size_t kMaxNoteBytes = 64 << 10;

struct StoredBatch {
  Batch batch;       // id, body, record_ends, gzipped, gzip_body; the sender's
                     // bookkeeping fields (attempts, store_id, ...) are defaults
  std::string note;  // as given to Put (truncated to kMaxNoteBytes)
};

// Serialises `batch` (and `note`, truncated to kMaxNoteBytes) in the format
// above. Pure; the sender's bookkeeping fields are not stored. Put checks
// what the format cannot hold (record_ends order, sizes) before calling it.
std::string EncodeBatchFile(const Batch& batch, std::string_view note);

// Parses and validates a whole batch file: magic, lengths against the size
// of `bytes` (checked before anything is allocated), flags, record_ends,
// and the CRC. Any failure is DataLossError saying what is wrong. Pure and
// safe on arbitrary input (it is the fuzz target).
absl::StatusOr<StoredBatch> DecodeBatchFile(std::string_view bytes);

// A directory of batch files named batch-<20-digit seq>.nf2b, where seq is
// the store id: it grows with every Put, so name order is age order.
//
// Thread-safe. One BatchStore per directory: Open takes an exclusive lock
// (flock on <dir>/.lock), since two writers would reuse each other's seqs.
// Files named *.corrupt are ignored (not listed, not counted in bytes()),
// and so is anything else that is not a batch file.
class BatchStore {
 public:
  // Creates `dir` if needed (like mkdir -p), deletes temporary files left by
  // a crash, validates every batch file (this reads the whole store once),
  // moves bad ones aside as <name>.corrupt with a warning, and sums the size
  // of the good ones. `max_bytes` caps bytes(); 0 means unlimited.
  // Errors: the directory cannot be created or opened, or is already open
  // by another BatchStore (FailedPrecondition).
  static absl::StatusOr<std::unique_ptr<BatchStore>> Open(const std::string& dir,
                                                          uint64_t max_bytes);
  ~BatchStore();
  BatchStore(const BatchStore&) = delete;
  BatchStore& operator=(const BatchStore&) = delete;

  // Writes `batch` durably (temp file, fsync, rename, fsync of the directory)
  // and returns its store id (never 0, so 0 can mean "not on disk").
  // Errors:
  //   ResourceExhausted  the store would exceed max_bytes: nothing was
  //                      written or deleted; try again after a Remove
  //                      (backpressure).
  //   Unavailable        the disk is full (ENOSPC, EDQUOT) although the
  //                      store is under max_bytes (IsDiskFull): space may
  //                      come back, but not through anything the store does.
  //   InvalidArgument    the batch is malformed (record_ends not increasing
  //                      or past the body), or its file would be larger than
  //                      max_bytes or kMaxBatchFileBytes, so waiting cannot
  //                      help.
  //   other              I/O errors, with the path.
  absl::StatusOr<uint64_t> Put(const Batch& batch, std::string_view note = {});

  // Reads a stored batch. A file that fails validation is moved aside as
  // .corrupt with a warning, dropped from Ids(), and DataLossError is
  // returned. NotFound when `id` is not (or no longer) in the store.
  absl::StatusOr<StoredBatch> Read(uint64_t id);

  // Deletes a batch. Removing an id that is not there is OK. The directory
  // is not fsynced: a removal undone by a crash only means a batch is sent
  // again (at-least-once; the API deduplicates identical payloads).
  absl::Status Remove(uint64_t id);

  // Store ids, oldest first.
  std::vector<uint64_t> Ids() const;
  // Total size of the batch files in the store.
  uint64_t bytes() const;
  size_t count() const;
  uint64_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

  // The path of the file for `id` (whether or not it exists).
  std::string PathOf(uint64_t id) const;
  // Bytes free for unprivileged writers on the store's file system (0 when
  // unknown), for messages about a full disk.
  uint64_t FreeDiskBytes() const;

  // write(2), replaceable so tests can make the disk fail (ENOSPC, EIO)
  // without filling a real one.
  using WriteFn = ssize_t (*)(int fd, const void* data, size_t size);
  void SetWriteFunctionForTesting(WriteFn fn) { write_ = fn; }

 private:
  BatchStore(std::string dir, uint64_t max_bytes, int dir_fd, int lock_fd);

  absl::Status Scan();
  // Writes `data` as the file for `seq`: temporary name, fsync, rename,
  // fsync of the directory. An error means nothing was stored.
  absl::Status WriteFile(uint64_t seq, std::string_view data);
  // Renames `name` to `name`.corrupt and logs why.
  void MoveAside(const std::string& name, std::string_view why);
  // Drops `id` from the listing and the byte count (the file is gone).
  void Forget(uint64_t id);

  const std::string dir_;
  const uint64_t max_bytes_;
  const int dir_fd_;   // for fsync of the directory after each rename
  const int lock_fd_;  // holds the flock for the store's lifetime

  mutable std::mutex mu_;
  // All guarded by mu_.
  std::map<uint64_t, uint64_t> files_;  // store id -> file size
  uint64_t bytes_ = 0;                  // sum of the sizes in files_
  // Bytes of Puts in progress: counted against max_bytes before the file
  // exists, so concurrent Puts cannot together overshoot the limit.
  uint64_t reserved_ = 0;
  uint64_t next_seq_ = 1;
  WriteFn write_ = &::write;
};

// True when Put failed because the disk is full (not the store's limit).
bool IsDiskFull(const absl::Status& status);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SINKS_HTTP_SPOOL_H_
