#include "stages/sources/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"

namespace nf2::checkpoint {
namespace {

constexpr std::string_view kHeader = "nf2ingest-checkpoint 1\n";
constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
constexpr size_t kMaxFileBytes = 16 << 20;  // far above any real input list

uint64_t Fnv1a(std::string_view bytes, uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

std::string Hex16(uint64_t v) { return absl::StrCat(absl::Hex(v, absl::kZeroPad16)); }

// Fields separated by single spaces; empty fields are kept (and rejected).
std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (true) {
    const size_t sp = line.find(' ', pos);
    fields.push_back(line.substr(pos, sp == std::string_view::npos ? sp : sp - pos));
    if (sp == std::string_view::npos) return fields;
    pos = sp + 1;
  }
}

// "<what> <path>: <strerror>" with the status code errno maps to.
absl::Status ErrnoError(std::string_view what, const std::string& path) {
  const int err = errno;
  return absl::ErrnoToStatus(err, absl::StrCat(Av(what), " ", path));
}

// Digits only, no sign or spaces, no overflow.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool ParseHex16(std::string_view s, uint64_t* out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

bool NeedsEscape(unsigned char c) { return c <= 0x20 || c >= 0x7f || c == '%'; }

std::string EscapePath(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (NeedsEscape(c)) {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Exactly the escaping EscapePath writes, so every path has one spelling.
bool UnescapePath(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c != '%') {
      if (NeedsEscape(c)) return false;
      out->push_back(static_cast<char>(c));
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const unsigned char decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (!NeedsEscape(decoded)) return false;
    out->push_back(static_cast<char>(decoded));
    i += 2;
  }
  return !out->empty();
}

absl::Status LineError(size_t line_no, std::string_view what) {
  return absl::DataLossError(absl::StrCat("checkpoint line ", line_no, ": ", Av(what)));
}

absl::StatusOr<Entry> ParseEntry(std::string_view line, size_t line_no) {
  std::vector<std::string_view> f = SplitFields(line);
  if (f.size() != 6) return LineError(line_no, "expected 6 space-separated fields");
  Entry e;
  uint64_t fp_bytes = 0;
  if (!ParseDecimal(f[0], &e.offset)) return LineError(line_no, "bad offset");
  if (!ParseDecimal(f[1], &e.dev)) return LineError(line_no, "bad device");
  if (!ParseDecimal(f[2], &e.ino)) return LineError(line_no, "bad inode");
  if (!ParseDecimal(f[3], &fp_bytes) || fp_bytes > kFingerprintBytes) {
    return LineError(line_no, "bad fingerprint length");
  }
  e.fingerprint_bytes = static_cast<uint32_t>(fp_bytes);
  if (!ParseHex16(f[4], &e.fingerprint)) return LineError(line_no, "bad fingerprint");
  if (!UnescapePath(f[5], &e.path)) return LineError(line_no, "bad path");
  return e;
}

// Checks the "end <entries> <hash>" line against what precedes it.
absl::Status CheckTrailer(std::string_view body, std::string_view line, size_t line_no,
                          size_t entries) {
  std::vector<std::string_view> f = SplitFields(line);
  uint64_t count = 0, hash = 0;
  if (f.size() != 3 || f[0] != "end" || !ParseDecimal(f[1], &count) || !ParseHex16(f[2], &hash)) {
    return LineError(line_no, "expected \"end <entries> <hash>\"");
  }
  if (count != entries) return LineError(line_no, "entry count does not match");
  if (hash != Fnv1a(body)) return LineError(line_no, "hash does not match the content");
  return absl::OkStatus();
}

// Splits into lines; every line must end in '\n'.
absl::StatusOr<std::vector<std::string_view>> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      return LineError(lines.size() + 1, "unterminated line (file cut short?)");
    }
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const absl::Status st = ErrnoError("cannot read", path);
      close(fd);
      return st;
    }
    if (got == 0) break;
    text.append(buf, static_cast<size_t>(got));
    if (text.size() > kMaxFileBytes) {
      close(fd);
      return absl::DataLossError(absl::StrCat(path, ": larger than any checkpoint file"));
    }
  }
  close(fd);
  return text;
}

absl::Status WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    text.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir);
  const int rc = fsync(fd);
  const int saved = errno;
  close(fd);
  if (rc != 0) {
    errno = saved;
    return ErrnoError("cannot fsync directory", dir);
  }
  return absl::OkStatus();
}

// Writes and syncs the temporary file; closes it in every case.
absl::Status FillTemp(int fd, const std::string& temp, std::string_view text) {
  absl::Status st = WriteAll(fd, text);
  if (st.ok() && fsync(fd) != 0) st = absl::ErrnoToStatus(errno, "fsync");
  if (close(fd) != 0 && st.ok()) st = absl::ErrnoToStatus(errno, "close");
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat(temp, ": ", st.message()));
  return st;
}

}  // namespace

uint64_t Fingerprint(std::string_view prefix) {
  const uint64_t len = prefix.size();
  const std::string_view len_bytes(reinterpret_cast<const char*>(&len), sizeof(len));
  return Fnv1a(len_bytes, Fnv1a(prefix));
}

absl::StatusOr<FileIdentity> Identify(int fd, uint32_t fingerprint_bytes) {
  struct stat st;
  if (fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, "fstat");
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError("not a regular file: no checkpoint applies");
  }
  FileIdentity id;
  id.dev = static_cast<uint64_t>(st.st_dev);
  id.ino = static_cast<uint64_t>(st.st_ino);
  id.size = static_cast<uint64_t>(st.st_size);
  std::string prefix(std::min<uint64_t>(fingerprint_bytes, id.size), '\0');
  size_t have = 0;
  while (have < prefix.size()) {
    const ssize_t n = pread(fd, prefix.data() + have, prefix.size() - have, have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "pread");
    if (n == 0) break;  // shrank since fstat
    have += static_cast<size_t>(n);
  }
  prefix.resize(have);
  id.fingerprint_bytes = static_cast<uint32_t>(have);
  id.fingerprint = Fingerprint(prefix);
  return id;
}

absl::StatusOr<FileIdentity> Identify(const std::string& path, uint32_t fingerprint_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError("cannot open", path);
  absl::StatusOr<FileIdentity> id = Identify(fd, fingerprint_bytes);
  close(fd);
  return id;
}

Entry MakeEntry(std::string path, const FileIdentity& identity, uint64_t offset) {
  Entry e;
  e.path = std::move(path);
  e.dev = identity.dev;
  e.ino = identity.ino;
  e.fingerprint_bytes = identity.fingerprint_bytes;
  e.fingerprint = identity.fingerprint;
  e.offset = offset;
  return e;
}

absl::StatusOr<std::vector<Entry>> Parse(std::string_view text) {
  absl::StatusOr<std::vector<std::string_view>> lines = SplitLines(text);
  if (!lines.ok()) return lines.status();
  if (lines->size() < 2 || lines->front() != kHeader.substr(0, kHeader.size() - 1)) {
    return LineError(1, "not an nf2ingest checkpoint (header missing)");
  }
  std::vector<Entry> entries;
  std::set<std::string> paths;
  for (size_t i = 1; i + 1 < lines->size(); ++i) {
    absl::StatusOr<Entry> e = ParseEntry((*lines)[i], i + 1);
    if (!e.ok()) return e.status();
    if (!paths.insert(e->path).second) return LineError(i + 1, "second entry for one path");
    entries.push_back(*std::move(e));
  }
  const std::string_view last = lines->back();
  const std::string_view body = text.substr(0, text.size() - last.size() - 1);
  absl::Status trailer = CheckTrailer(body, last, lines->size(), entries.size());
  if (!trailer.ok()) return trailer;
  return entries;
}

std::string Serialize(const std::vector<Entry>& entries) {
  std::string out(kHeader);
  for (const Entry& e : entries) {
    absl::StrAppend(&out, e.offset, " ", e.dev, " ", e.ino, " ", e.fingerprint_bytes, " ",
                    Hex16(e.fingerprint), " ", EscapePath(e.path), "\n");
  }
  absl::StrAppend(&out, "end ", entries.size(), " ", Hex16(Fnv1a(out)), "\n");
  return out;
}

const Entry* Find(const std::vector<Entry>& entries, std::string_view path) {
  for (const Entry& e : entries) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

absl::Status WriteAtomically(const std::string& path, std::string_view text) {
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot create a file beside", path);
  absl::Status st = FillTemp(fd, temp, text);
  if (st.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    st = ErrnoError(absl::StrCat("cannot rename ", temp, " to"), path);
  }
  if (!st.ok()) {
    unlink(temp.c_str());
    return st;
  }
  return SyncDirectory(DirectoryOf(path));
}

absl::StatusOr<std::vector<Entry>> Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (absl::IsNotFound(text.status())) return std::vector<Entry>();
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Entry>> entries = Parse(*text);
  if (!entries.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", entries.status().message()));
  }
  return entries;
}

absl::StatusOr<Loaded> LoadForStart(const std::string& path) {
  absl::StatusOr<std::vector<Entry>> entries = Load(path);
  if (entries.ok()) return Loaded{*std::move(entries), ""};
  if (!absl::IsDataLoss(entries.status())) return entries.status();
  const std::string kept = path + ".corrupt";
  std::string warning = absl::StrCat("checkpoint file corrupt (", entries.status().message(),
                                     "); every input starts from the top; ");
  if (rename(path.c_str(), kept.c_str()) == 0) {
    absl::StrAppend(&warning, "the bad file is kept as ", kept);
  } else {
    absl::StrAppend(&warning, "could not keep it as ", kept, ": ", strerror(errno));
  }
  return Loaded{{}, std::move(warning)};
}

ResumeDecision ResumeOffset(const Entry* entry, std::string_view path,
                            const FileIdentity& current) {
  using Kind = ResumeDecision::Kind;
  const std::string name(path);
  if (entry == nullptr)
    return {Kind::kNoCheckpoint, 0, name + ": no checkpoint, reading from the top"};
  if (entry->dev != current.dev || entry->ino != current.ino) {
    return {Kind::kOtherFile, 0,
            absl::StrCat(name, ": another file than at the checkpoint (device/inode changed: ",
                         "rotated or replaced), reading from the top")};
  }
  if (current.size < entry->offset) {
    return {Kind::kTruncated, 0,
            absl::StrCat(name, ": truncated (", current.size, " bytes, checkpoint at ",
                         entry->offset, "), reading from the top")};
  }
  if (current.fingerprint_bytes != entry->fingerprint_bytes ||
      current.fingerprint != entry->fingerprint) {
    return {Kind::kOtherFile, 0,
            absl::StrCat(name, ": same inode but its first bytes changed (rewritten or a new file ",
                         "on a reused inode), reading from the top")};
  }
  return {Kind::kResume, entry->offset,
          absl::StrCat(name, ": resuming at byte ", entry->offset, " of ", current.size)};
}

}  // namespace nf2::checkpoint
