#include "stages/sinks/http/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"
#include "pipeline/log.h"

namespace nf2 {
namespace {

constexpr uint32_t kFlagGzipped = 1;
constexpr size_t kFixedHeaderSize = 8 + 4 + 8 + 8 + 4 + 4;
// Where record_ends start; also the smallest file, with the CRC, is this + 4.
constexpr size_t kPayloadStart = kBatchFileMagic.size() + kFixedHeaderSize;
constexpr size_t kCrcSize = 4;

constexpr std::string_view kNamePrefix = "batch-";
constexpr std::string_view kNameSuffix = ".nf2b";
constexpr size_t kSeqDigits = 20;  // UINT64_MAX has 20 digits
constexpr std::string_view kCorruptSuffix = ".corrupt";
constexpr std::string_view kTempPrefix = ".tmp-";
constexpr const char* kLockName = ".lock";

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t Crc32(std::string_view bytes) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

absl::Status Bad(std::string_view why) { return absl::DataLossError(Av(why)); }

// Reads fixed-size little-endian fields in order; the caller has checked
// that the header is all there.
class HeaderReader {
 public:
  explicit HeaderReader(const char* p) : p_(p) {}
  uint64_t U64() { return Next(8); }
  uint32_t U32() { return static_cast<uint32_t>(Next(4)); }

 private:
  uint64_t Next(int n) {
    uint64_t v = GetLe(p_, n);
    p_ += n;
    return v;
  }
  const char* p_;
};

std::string FileName(uint64_t seq) {
  char buf[kNamePrefix.size() + kSeqDigits + kNameSuffix.size() + 1];
  std::snprintf(buf, sizeof buf, "batch-%020llu.nf2b", static_cast<unsigned long long>(seq));
  return buf;
}

// Parses "batch-<20 digits>.nf2b" (exactly; any other name is not ours).
bool ParseFileName(std::string_view name, uint64_t* seq) {
  if (name.size() != kNamePrefix.size() + kSeqDigits + kNameSuffix.size() ||
      !name.starts_with(kNamePrefix) || !name.ends_with(kNameSuffix)) {
    return false;
  }
  std::string_view digits = name.substr(kNamePrefix.size(), kSeqDigits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return absl::SimpleAtoi(Av(digits), seq);
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(Av(what), " ", Av(path)));
}

// Checks what EncodeBatchFile cannot express or DecodeBatchFile would refuse,
// so a batch that would later read back as corrupt is never written.
absl::Status ValidateBatch(const Batch& batch) {
  uint64_t prev = 0;
  for (size_t i = 0; i < batch.record_ends.size(); ++i) {
    uint64_t end = batch.record_ends[i];
    if ((i > 0 && end <= prev) || end > batch.body.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch ", batch.id, ": record end ", i, " (", end,
          ") is not increasing or lies past the body of ", batch.body.size(), " bytes"));
    }
    prev = end;
  }
  return absl::OkStatus();
}

uint64_t EncodedSize(const Batch& batch, std::string_view note) {
  return kPayloadStart + uint64_t{4} * batch.record_ends.size() + batch.body.size() +
         batch.gzip_body.size() + std::min(note.size(), kMaxNoteBytes) + kCrcSize;
}

// Reads a whole file of at most kMaxBatchFileBytes. DataLoss when it is
// larger (never allocated), NotFound when it is gone, other codes for I/O.
absl::StatusOr<std::string> ReadBatchFile(int dir_fd, const std::string& name,
                                          const std::string& path) {
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus(err, "cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Bad("not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxBatchFileBytes) {
    close(fd);
    return Bad(absl::StrCat("file of ", st.st_size, " bytes is larger than the limit of ",
                            kMaxBatchFileBytes));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus(err, "cannot read", path);
    }
    if (n == 0) break;  // shrank since fstat: decoding will report it torn
    got += static_cast<size_t>(n);
  }
  close(fd);
  data.resize(got);
  return data;
}

absl::Status WriteAll(int fd, std::string_view data, BatchStore::WriteFn write_fn) {
  while (!data.empty()) {
    ssize_t n = write_fn(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeBatchFile(const Batch& batch, std::string_view note) {
  note = note.substr(0, std::min(note.size(), kMaxNoteBytes));
  std::string out;
  out.reserve(EncodedSize(batch, note));
  out.append(kBatchFileMagic);
  PutU64(&out, batch.id);
  PutU32(&out, static_cast<uint32_t>(batch.record_ends.size()));
  PutU64(&out, batch.body.size());
  PutU64(&out, batch.gzip_body.size());
  PutU32(&out, static_cast<uint32_t>(note.size()));
  PutU32(&out, batch.gzipped ? kFlagGzipped : 0);
  for (uint32_t end : batch.record_ends) PutU32(&out, end);
  out.append(batch.body);
  out.append(batch.gzip_body);
  out.append(note);
  PutU32(&out, Crc32(out));
  return out;
}

namespace {

// The fixed-size fields after the magic line.
struct FileHeader {
  uint64_t batch_id = 0;
  uint32_t count = 0;
  uint64_t body_len = 0;
  uint64_t gzip_len = 0;
  uint32_t note_len = 0;
  uint32_t flags = 0;
};

absl::Status CheckMagic(std::string_view bytes) {
  if (bytes.size() > kMaxBatchFileBytes) {
    return Bad(absl::StrCat("file of ", bytes.size(), " bytes is larger than the limit of ",
                            kMaxBatchFileBytes));
  }
  if (!bytes.starts_with(kBatchFileMagic)) {
    // A torn write of the first bytes is a prefix of the magic; say so.
    if (kBatchFileMagic.starts_with(bytes)) return Bad("truncated inside the magic line");
    constexpr std::string_view kFamily = "nf2ingest-batch ";
    if (bytes.starts_with(kFamily)) return Bad("unsupported batch file version");
    return Bad("not a batch file (bad magic)");
  }
  if (bytes.size() < kPayloadStart + kCrcSize) {
    return Bad(absl::StrCat("truncated: ", bytes.size(), " bytes, shorter than the header"));
  }
  return absl::OkStatus();
}

absl::StatusOr<FileHeader> ReadHeader(std::string_view bytes) {
  HeaderReader r(bytes.data() + kBatchFileMagic.size());
  FileHeader h;
  h.batch_id = r.U64();
  h.count = r.U32();
  h.body_len = r.U64();
  h.gzip_len = r.U64();
  h.note_len = r.U32();
  h.flags = r.U32();
  if ((h.flags & ~kFlagGzipped) != 0) {
    return Bad(absl::StrCat("unknown flags 0x", absl::Hex(h.flags)));
  }
  if (h.note_len > kMaxNoteBytes)
    return Bad(absl::StrCat("note length ", h.note_len, " too large"));
  return h;
}

// Each length is checked against what is left before it is subtracted, so
// no sum can overflow and nothing is allocated for bytes that are absent.
absl::Status CheckLengths(const FileHeader& h, size_t file_size) {
  uint64_t left = file_size - kPayloadStart - kCrcSize;
  auto take = [&left](uint64_t len) {
    if (len > left) return false;
    left -= len;
    return true;
  };
  if (h.count > left / 4 || !take(uint64_t{4} * h.count)) {
    return Bad(absl::StrCat("record count ", h.count, " does not fit in the file"));
  }
  if (!take(h.body_len)) return Bad(absl::StrCat("body length ", h.body_len, " past end of file"));
  if (!take(h.gzip_len)) return Bad(absl::StrCat("gzip length ", h.gzip_len, " past end of file"));
  if (!take(h.note_len)) return Bad(absl::StrCat("note length ", h.note_len, " past end of file"));
  if (left != 0) return Bad(absl::StrCat(left, " bytes after the note (torn or appended)"));
  return absl::OkStatus();
}

absl::Status CheckCrc(std::string_view bytes) {
  const std::string_view covered = bytes.substr(0, bytes.size() - kCrcSize);
  const uint32_t want_crc = static_cast<uint32_t>(GetLe(bytes.data() + covered.size(), 4));
  const uint32_t got_crc = Crc32(covered);
  if (want_crc != got_crc) {
    return Bad(absl::StrCat("checksum mismatch (stored ", absl::Hex(want_crc, absl::kZeroPad8),
                            ", computed ", absl::Hex(got_crc, absl::kZeroPad8), ")"));
  }
  return absl::OkStatus();
}

// The record ends, body, gzip body and note, once the lengths are known good.
absl::StatusOr<StoredBatch> ReadPayload(const FileHeader& h, const char* p) {
  StoredBatch out;
  Batch& b = out.batch;
  b.id = h.batch_id;
  b.gzipped = (h.flags & kFlagGzipped) != 0;
  b.record_ends.reserve(h.count);
  for (uint32_t i = 0; i < h.count; ++i, p += 4) {
    const uint32_t end = static_cast<uint32_t>(GetLe(p, 4));
    if ((i > 0 && end <= b.record_ends.back()) || end > h.body_len) {
      return Bad(absl::StrCat("record end ", i, " (", end,
                              ") is not increasing or lies past the body of ", h.body_len,
                              " bytes"));
    }
    b.record_ends.push_back(end);
  }
  b.body.assign(p, h.body_len);
  p += h.body_len;
  b.gzip_body.assign(p, h.gzip_len);
  p += h.gzip_len;
  out.note.assign(p, h.note_len);
  return out;
}

}  // namespace

absl::StatusOr<StoredBatch> DecodeBatchFile(std::string_view bytes) {
  if (absl::Status st = CheckMagic(bytes); !st.ok()) return st;
  absl::StatusOr<FileHeader> h = ReadHeader(bytes);
  if (!h.ok()) return h.status();
  if (absl::Status st = CheckLengths(*h, bytes.size()); !st.ok()) return st;
  if (absl::Status st = CheckCrc(bytes); !st.ok()) return st;
  return ReadPayload(*h, bytes.data() + kPayloadStart);
}

BatchStore::BatchStore(std::string dir, uint64_t max_bytes, int dir_fd, int lock_fd)
    : dir_(std::move(dir)), max_bytes_(max_bytes), dir_fd_(dir_fd), lock_fd_(lock_fd) {}

BatchStore::~BatchStore() {
  close(dir_fd_);
  close(lock_fd_);  // releases the flock
}

absl::StatusOr<std::unique_ptr<BatchStore>> BatchStore::Open(const std::string& dir,
                                                             uint64_t max_bytes) {
  if (dir.empty()) return absl::InvalidArgumentError("batch store directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::ErrnoToStatus(ec.value(), absl::StrCat("cannot create directory ", dir));
  }
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoStatus(errno, "cannot open directory", dir);
  // The lock file also proves early, with a clear message, that the
  // directory is writable, rather than at the first Put during an outage.
  int lock_fd = openat(dir_fd, kLockName, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) {
    int err = errno;
    close(dir_fd);
    return ErrnoStatus(err, "cannot create lock file in", dir);
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(lock_fd);
    close(dir_fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("directory ", dir, " is already in use by another process or store"));
    }
    return ErrnoStatus(err, "cannot lock", dir);
  }
  std::unique_ptr<BatchStore> store(new BatchStore(dir, max_bytes, dir_fd, lock_fd));
  absl::Status st = store->Scan();
  if (!st.ok()) return st;
  return store;
}

namespace {

// The names in the directory open as `dir_fd`, sorted (so by age for ours).
absl::StatusOr<std::vector<std::string>> ListDir(int dir_fd, const std::string& dir) {
  // A second descriptor: closedir() closes the one it is given.
  int scan_fd = dup(dir_fd);
  if (scan_fd < 0) return ErrnoStatus(errno, "cannot read directory", dir);
  DIR* d = fdopendir(scan_fd);
  if (d == nullptr) {
    int err = errno;
    close(scan_fd);
    return ErrnoStatus(err, "cannot read directory", dir);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(d)) names.emplace_back(e->d_name);
  int err = errno;
  closedir(d);
  if (err != 0) return ErrnoStatus(err, "cannot read directory", dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

absl::Status BatchStore::Scan() {
  absl::StatusOr<std::vector<std::string>> listed = ListDir(dir_fd_, dir_);
  if (!listed.ok()) return listed.status();
  const std::vector<std::string>& names = *listed;
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir_, "/", name);
    uint64_t seq = 0;
    if (std::string_view(name).starts_with(kTempPrefix)) {
      // A Put cut short by a crash; it never returned an id, so nobody
      // counts on it, and the batch it held is still pending upstream.
      if (unlinkat(dir_fd_, name.c_str(), 0) == 0) {
        LogInfo(absl::StrCat("removed unfinished temporary file ", path));
      } else {
        LogWarn(absl::StrCat("cannot remove temporary file ", path, ": ", ErrnoText(errno)));
      }
      continue;
    }
    if (std::string_view(name).ends_with(kCorruptSuffix)) {
      // Seqs continue past moved-aside files so a new batch never takes a
      // name whose .corrupt sibling would later be overwritten.
      if (ParseFileName(std::string_view(name).substr(0, name.size() - kCorruptSuffix.size()),
                        &seq)) {
        next_seq_ = std::max(next_seq_, seq + 1);
      }
      continue;
    }
    if (!ParseFileName(name, &seq)) continue;  // not ours: leave it alone
    next_seq_ = std::max(next_seq_, seq + 1);
    absl::StatusOr<std::string> data = ReadBatchFile(dir_fd_, name, path);
    absl::Status st = data.ok() ? DecodeBatchFile(*data).status() : data.status();
    if (absl::IsDataLoss(st)) {
      MoveAside(name, Sv(st.message()));
    } else if (!st.ok()) {
      // Not known to be bad (e.g. EIO): leave the file for a later run.
      LogWarn(absl::StrCat("skipping ", path, ": ", st.message()));
    } else {
      files_[seq] = data->size();
      bytes_ += data->size();
    }
  }
  if (next_seq_ == 0) {  // wrapped past UINT64_MAX: no id left to give
    return absl::FailedPreconditionError(absl::StrCat("no store ids left in ", dir_));
  }
  return absl::OkStatus();
}

void BatchStore::MoveAside(const std::string& name, std::string_view why) {
  const std::string from = absl::StrCat(dir_, "/", name);
  const std::string to = absl::StrCat(name, Av(kCorruptSuffix));
  if (renameat(dir_fd_, name.c_str(), dir_fd_, to.c_str()) == 0) {
    LogWarn(absl::StrCat("corrupt batch file ", from, " (", Av(why), ") moved aside as ", dir_, "/",
                         to));
  } else {
    LogWarn(absl::StrCat("corrupt batch file ", from, " (", Av(why),
                         ") could not be moved aside: ", ErrnoText(errno)));
  }
}

void BatchStore::Forget(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end()) return;
  bytes_ -= it->second;
  files_.erase(it);
}

bool IsDiskFull(const absl::Status& status) { return absl::IsUnavailable(status); }

uint64_t BatchStore::FreeDiskBytes() const {
  struct statvfs st;
  if (fstatvfs(dir_fd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string BatchStore::PathOf(uint64_t id) const { return absl::StrCat(dir_, "/", FileName(id)); }

absl::Status BatchStore::WriteFile(uint64_t seq, std::string_view data) {
  const std::string name = FileName(seq);
  const std::string temp = absl::StrCat(Av(kTempPrefix), name);
  // The directory is locked to this store and seqs are unique, so the
  // temporary name is ours alone.
  int fd = openat(dir_fd_, temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", absl::StrCat(dir_, "/", temp));
  absl::Status w = WriteAll(fd, data, write_);
  if (w.ok() && fsync(fd) != 0) w = absl::ErrnoToStatus(errno, "fsync");
  if (close(fd) != 0 && w.ok()) w = absl::ErrnoToStatus(errno, "close");
  if (w.ok() && renameat(dir_fd_, temp.c_str(), dir_fd_, name.c_str()) != 0) {
    w = absl::ErrnoToStatus(errno, "rename");
  }
  if (!w.ok()) {
    unlinkat(dir_fd_, temp.c_str(), 0);
    return absl::Status(w.code(), absl::StrCat("cannot write ", PathOf(seq), ": ", w.message()));
  }
  // Without this the rename itself may not survive a power cut. If it
  // fails the batch is taken back out, so an error always means "not
  // stored" and the caller never has to guess.
  if (fsync(dir_fd_) != 0) {
    const int err = errno;
    unlinkat(dir_fd_, name.c_str(), 0);
    return ErrnoStatus(err, "cannot fsync directory", dir_);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> BatchStore::Put(const Batch& batch, std::string_view note) {
  if (absl::Status st = ValidateBatch(batch); !st.ok()) return st;
  const uint64_t size = EncodedSize(batch, note);
  const uint64_t file_cap =
      max_bytes_ == 0 ? kMaxBatchFileBytes : std::min(max_bytes_, kMaxBatchFileBytes);
  if (size > file_cap) {
    return absl::InvalidArgumentError(absl::StrCat("batch ", batch.id, " needs ", size,
                                                   " bytes on disk, more than the ", file_cap,
                                                   " allowed for one file in ", dir_));
  }
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t used = bytes_ + reserved_;
    if (max_bytes_ != 0 && (used > max_bytes_ || size > max_bytes_ - used)) {
      return absl::ResourceExhaustedError(absl::StrCat(dir_, " is full: ", used, " of ", max_bytes_,
                                                       " bytes used, batch needs ", size));
    }
    if (next_seq_ == 0) {
      return absl::FailedPreconditionError(absl::StrCat("no store ids left in ", dir_));
    }
    seq = next_seq_++;
    reserved_ += size;
  }
  // The encoding and the I/O happen outside the lock so that Puts from
  // several threads overlap their fsyncs.
  absl::Status st = WriteFile(seq, EncodeBatchFile(batch, note));
  // The store's own limit was checked above: running out of space here
  // (ENOSPC, EDQUOT) is the disk's doing, and no Remove of ours is sure to fix it.
  if (absl::IsResourceExhausted(st)) st = absl::UnavailableError(st.message());
  std::lock_guard<std::mutex> lock(mu_);
  reserved_ -= size;
  if (!st.ok()) return st;
  files_[seq] = size;
  bytes_ += size;
  return seq;
}

absl::StatusOr<StoredBatch> BatchStore::Read(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!files_.contains(id)) {
      return absl::NotFoundError(absl::StrCat("no batch ", id, " in ", dir_));
    }
  }
  const std::string name = FileName(id);
  const std::string path = PathOf(id);
  absl::StatusOr<std::string> data = ReadBatchFile(dir_fd_, name, path);
  absl::StatusOr<StoredBatch> decoded =
      data.ok() ? DecodeBatchFile(*data) : absl::StatusOr<StoredBatch>(data.status());
  if (decoded.ok()) return decoded;
  const absl::Status& st = decoded.status();
  if (absl::IsNotFound(st)) {
    // Deleted behind our back (or by a concurrent Remove): stop listing it.
    // Say so, since outside the store that is data lost.
    LogWarn(absl::StrCat("batch file ", path, " vanished: ", st.message()));
    Forget(id);
    return st;
  }
  if (absl::IsDataLoss(st)) {
    MoveAside(name, Sv(st.message()));
    Forget(id);
    return absl::DataLossError(absl::StrCat(path, ": ", st.message()));
  }
  return st;
}

absl::Status BatchStore::Remove(uint64_t id) {
  const std::string name = FileName(id);
  if (unlinkat(dir_fd_, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove", PathOf(id));
  }
  Forget(id);
  return absl::OkStatus();
}

std::vector<uint64_t> BatchStore::Ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> ids;
  ids.reserve(files_.size());
  for (const auto& [id, size] : files_) ids.push_back(id);
  return ids;
}

uint64_t BatchStore::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t BatchStore::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.size();
}

}  // namespace nf2
