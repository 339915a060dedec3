#include "stages/sources/line_source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/log.h"

namespace nf2 {

LineSource::LineSource(LineSourceOptions options, pipeline::BoundedQueue<LineChunk>* out,
                       pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown,
                       pipeline::Recycler<LineChunk>* recycler)
    : recycler_(recycler),
      options_(std::move(options)),
      out_(out),
      outcomes_(outcomes),
      shutdown_(shutdown) {}

std::unique_ptr<LineChunk> LineSource::NewChunk(size_t capacity) const {
  auto chunk = recycler_ ? recycler_->Take() : std::make_unique<LineChunk>();
  chunk->size = 0;
  chunk->ref = pipeline::ChunkRef();
  // A recycled buffer keeps its size: growing it is the only zero-filling.
  if (chunk->data.size() < capacity + kLinePadding) chunk->data.resize(capacity + kLinePadding);
  return chunk;
}

namespace {

// A 64 KiB pipe makes the writer and this reader take turns every few dozen
// lines (tens of thousands of context switches per million records); a
// larger pipe lets both run. Best effort: capped by /proc/sys/fs/pipe-max-size.
void GrowPipe(int fd) {
  int max_size = 1 << 20;
  if (FILE* f = fopen("/proc/sys/fs/pipe-max-size", "r")) {
    if (fscanf(f, "%d", &max_size) != 1) max_size = 1 << 20;
    fclose(f);
  }
  const int want = std::min(max_size, 4 << 20);
  if (fcntl(fd, F_GETPIPE_SZ) < want) fcntl(fd, F_SETPIPE_SZ, want);
}

// The input's error, already logged with its name.
absl::Status InputError(const std::string& message) {
  LogError(message);
  return absl::DataLossError(message);
}

// Where the last whole line of `chunk` ends (0: no newline yet).
size_t CompleteLinesEnd(const LineChunk& chunk) {
  for (size_t i = chunk.size; i > 0; --i) {
    if (chunk.data[i - 1] == '\n') return i;
  }
  return 0;
}

// How long --follow waits between looks at a file when inotify says
// nothing (it is unavailable, or the change came over NFS).
constexpr int kFollowPollMs = 250;
// After a rename rotation, how long the old file may stay quiet before the
// new one is read although nothing was written there yet (the writer may
// not have reopened the path yet, and what it writes meanwhile goes to the
// old file).
constexpr auto kRotationGrace = std::chrono::seconds(2);

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// An inotify descriptor watching the directory of `path`: its events cover
// writes to, truncation of, creation of and renames onto files in it. -1 when
// inotify is unavailable (polling then does the work).
int WatchDirectoryOf(const std::string& path) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return -1;
  const uint32_t mask =
      IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB;
  if (inotify_add_watch(fd, DirectoryOf(path).c_str(), mask) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits until `watch_fd` reports a change, a stop is requested or the
// polling interval passes, then drops the events (the caller re-examines
// the file whatever they were).
void WaitForChange(int watch_fd, int wake_fd) {
  pollfd fds[2] = {{wake_fd, POLLIN, 0}, {watch_fd, POLLIN, 0}};
  poll(fds, watch_fd >= 0 ? 2 : 1, kFollowPollMs);
  if (watch_fd < 0) return;
  char buf[4096];
  while (read(watch_fd, buf, sizeof buf) > 0) {
  }
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether more can be read from `fd` right now, without waiting.
bool MoreDataReady(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

}  // namespace

struct LineSource::Input {
  int fd;
  const std::string& name;
  bool regular;
  size_t capacity;  // of `chunk`, without the padding
  std::unique_ptr<LineChunk> chunk;
  bool skipping_long_line = false;  // discarding the rest of an overlong line
  bool eof = false;                 // the end, or a read error
  bool writer_seen = false;         // a FIFO reports EOF until its first writer
  absl::Status error = absl::OkStatus();
  uint64_t offset = 0;      // file offset of chunk->data[0]
  uint64_t skip_begin = 0;  // file offset where the overlong line being skipped began
  bool tracked = false;     // chunks register with the checkpoint's tracker
  pipeline::AckTracker::InputId id = 0;
  checkpoint::FileIdentity identity{};
  // --follow on a regular file.
  bool follow = false;
  int watch_fd = -1;
  bool rotated = false;  // the path now names another file, and this one is finished
  std::optional<std::chrono::steady_clock::time_point> rotation_seen{};
};

absl::Status LineSource::Run() {
  if (options_.follow && options_.inputs.size() > 1) return RunEachInputInItsThread();
  std::vector<std::string> errors;  // one per input that failed, in order
  for (const std::string& name : options_.inputs) {
    if (shutdown_->stop_requested()) break;
    if (absl::Status st = ReadInput(name); !st.ok()) errors.emplace_back(st.message());
  }
  shutdown_->MarkInputFinished();
  if (errors.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrJoin(errors, "; "));
}

// Followed inputs never end, so they are read side by side, not in turn.
absl::Status LineSource::RunEachInputInItsThread() {
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> readers;
  for (const std::string& name : options_.inputs) {
    readers.emplace_back([&, name] {
      absl::Status st = ReadInput(name);
      std::lock_guard<std::mutex> lock(mu);
      if (!st.ok()) errors.emplace_back(st.message());
    });
  }
  for (std::thread& t : readers) t.join();
  shutdown_->MarkInputFinished();
  if (errors.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrJoin(errors, "; "));
}

absl::Status LineSource::ReadInput(const std::string& name) {
  if (name == "-") {
    if (options_.stdin_closed) {
      return InputError("cannot read input stdin: it was closed when nf2ingest started");
    }
    bool rotated = false;  // never: stdin is not followed
    return ReadFd(STDIN_FILENO, "stdin", false, &rotated);
  }
  absl::Status status;
  // --follow reopens the path after a rotation: each file in turn.
  for (bool rotated = true, reopened = false; rotated; reopened = true) {
    const int fd = OpenInput(name);
    if (fd < 0 && shutdown_->stop_requested()) return absl::OkStatus();  // never appeared
    if (fd < 0) return InputError(absl::StrCat("cannot open input ", name, ": ", strerror(errno)));
    rotated = false;
    status = ReadFd(fd, name, reopened, &rotated);
    close(fd);
    if (!status.ok()) break;
  }
  return status;
}

// O_NONBLOCK so opening a FIFO with no writer yet does not hang past a stop
// request; reads wait in poll() instead. With --follow a path that does not
// exist yet is waited for.
int LineSource::OpenInput(const std::string& name) {
  int watch_fd = -1;
  bool said = false;
  while (true) {
    const int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 || errno != ENOENT || !options_.follow || shutdown_->stop_requested()) {
      const int saved = errno;
      if (watch_fd >= 0) close(watch_fd);
      errno = saved;
      return fd;
    }
    if (!said) {
      LogInfo(absl::StrCat("[FOLLOW] ", name, " does not exist yet: waiting for it"));
      watch_fd = WatchDirectoryOf(name);
      said = true;
    }
    WaitForChange(watch_fd, shutdown_->wake_fd());
  }
}

absl::Status LineSource::ReadFd(int fd, const std::string& name, bool reopened, bool* rotated) {
  struct stat st;
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  // Readiness comes from poll(); reads never block, so a quiet FIFO cannot
  // hold a stop request. The flags are restored: stdin may be shared.
  if (!regular && S_ISFIFO(st.st_mode)) GrowPipe(fd);
  const int saved_flags = regular ? -1 : fcntl(fd, F_GETFL);
  if (saved_flags >= 0) fcntl(fd, F_SETFL, saved_flags | O_NONBLOCK);
  Input in{fd, name, regular, options_.chunk_bytes, NewChunk(options_.chunk_bytes)};
  if (regular && options_.checkpoint) StartTracking(in, reopened);
  if (!regular && options_.checkpoint) {
    LogInfo(absl::StrCat("[CHECKPOINT] ", name,
                         " is not a regular file: no position to resume from, not checkpointed"));
  }
  in.follow = regular && options_.follow;
  if (in.follow) {
    in.watch_fd = WatchDirectoryOf(name);
    if (!in.tracked) in.identity = checkpoint::Identify(fd).value_or(checkpoint::FileIdentity());
  }
  absl::Status status = ReadLoop(in);
  if (in.watch_fd >= 0) close(in.watch_fd);
  if (in.tracked) options_.checkpoint->Close(in.id, in.offset);
  *rotated = in.rotated;
  if (saved_flags >= 0) fcntl(fd, F_SETFL, saved_flags);
  return status;
}

// Where a regular file starts: at the checkpoint's offset when the file is
// the one the checkpoint describes, else at the top (and the log says why).
void LineSource::StartTracking(Input& in, bool reopened) {
  const checkpoint::Entry* entry = reopened ? nullptr : options_.checkpoint->Loaded(in.name);
  auto current =
      checkpoint::Identify(in.fd, entry ? entry->fingerprint_bytes : checkpoint::kFingerprintBytes);
  if (!current.ok()) {
    LogWarn(absl::StrCat("[CHECKPOINT] ", in.name, ": not tracked: ", current.status().message()));
    return;
  }
  checkpoint::ResumeDecision decision = checkpoint::ResumeOffset(entry, in.name, *current);
  if (reopened) decision.reason = in.name + ": a new file at the path, reading from the top";
  if (decision.kind == checkpoint::ResumeDecision::Kind::kResume ||
      decision.kind == checkpoint::ResumeDecision::Kind::kNoCheckpoint) {
    LogInfo("[CHECKPOINT] " + decision.reason);
  } else {
    LogWarn("[CHECKPOINT] " + decision.reason);
  }
  if (decision.offset > 0 && lseek(in.fd, static_cast<off_t>(decision.offset), SEEK_SET) < 0) {
    LogWarn(absl::StrCat("[CHECKPOINT] ", in.name, ": cannot seek (", strerror(errno),
                         "), reading from the top"));
    decision.offset = 0;
  }
  Track(in, decision.offset);
}

// Registers the file as read from `offset` on (a start, or a restart after
// truncation).
void LineSource::Track(Input& in, uint64_t offset) {
  auto identity = checkpoint::Identify(in.fd);
  if (!identity.ok()) {
    LogWarn(absl::StrCat("[CHECKPOINT] ", in.name, ": not tracked: ", identity.status().message()));
    in.tracked = false;
    return;
  }
  in.identity = *identity;
  in.offset = offset;
  in.id = options_.checkpoint->Open(in.name, in.identity, offset);
  in.tracked = true;
}

// Gives `chunk` its place in the file: bytes [in.offset, end) with `units`
// outcomes to wait for. Keeps the file's fingerprint growing with the file
// up to its full length, so a short file that was replaced is recognised.
void LineSource::RegisterChunk(Input& in, LineChunk& chunk, uint64_t end, uint64_t units) {
  if (!in.tracked && !in.follow) return;
  if (in.tracked) {
    auto ref = options_.checkpoint->tracker()->Register(in.id, in.offset, end, units);
    if (ref.ok()) chunk.ref = *ref;
  }
  if (in.identity.fingerprint_bytes < checkpoint::kFingerprintBytes &&
      end > in.identity.fingerprint_bytes) {
    if (auto fresh = checkpoint::Identify(in.fd); fresh.ok() && fresh->ino == in.identity.ino) {
      in.identity = *fresh;
      if (in.tracked) options_.checkpoint->Refresh(in.id, in.identity);
    }
  }
}

// Reads blocks, hands out the whole lines of each and keeps the partial last
// line for the next read, until the end, a read error or a stop request.
absl::Status LineSource::ReadLoop(Input& in) {
  const int fd = in.fd;
  const bool regular = in.regular;
  while (!in.eof && !shutdown_->stop_requested()) {
    if (!regular && !WaitForData(in)) continue;
    if (!ReadMore(in)) continue;
    if (in.skipping_long_line && !DropRestOfLongLine(in)) continue;
    // At the end the last line may lack its newline.
    const size_t lines_end = in.eof ? in.chunk->size : CompleteLinesEnd(*in.chunk);
    if (lines_end == 0) {
      MakeRoomForLongLine(in);
      continue;
    }
    // Under load, keep filling the block rather than sending a small one.
    if (!in.eof && !regular && lines_end < in.capacity / 2 && in.chunk->size < in.capacity &&
        MoreDataReady(fd)) {
      continue;
    }
    ShipLines(in, lines_end);
  }
  // An overlong line running to the end needs no outcome either.
  if (in.eof && in.tracked && in.skipping_long_line && in.offset > in.skip_begin) {
    options_.checkpoint->tracker()->Register(in.id, in.skip_begin, in.offset, 0).IgnoreError();
  }
  // Stopped early: a partial line already read still counts as a line. A
  // tracked file leaves it for the next run to read whole.
  if (in.chunk->size > 0 && !in.skipping_long_line && !in.tracked) {
    out_->Push(std::move(in.chunk));
  }
  return in.error;
}

// Waits until the input or the stop descriptor is readable; false when
// there is nothing to read yet (the loop re-checks for a stop).
bool LineSource::WaitForData(Input& in) {
  pollfd fds[2] = {{in.fd, POLLIN, 0}, {shutdown_->wake_fd(), POLLIN, 0}};
  if (poll(fds, 2, -1) < 0) {
    if (errno == EINTR) return false;
    in.error = InputError(absl::StrCat("cannot wait for input ", in.name, ": ", strerror(errno)));
    in.eof = true;
    return false;
  }
  if (fds[1].revents & POLLIN) return false;
  return (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

// Appends what can be read now to the chunk. True when there is something
// to look at (new bytes, or the end); false to wait and try again. A read
// error ends this input like its end would, keeping what was read.
bool LineSource::ReadMore(Input& in) {
  LineChunk& chunk = *in.chunk;
  const ssize_t got = read(in.fd, chunk.data.data() + chunk.size, in.capacity - chunk.size);
  if (got > 0) {
    in.writer_seen = true;
    chunk.size += static_cast<size_t>(got);
    return true;
  }
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return false;
  if (got == 0 && in.follow) return FollowAtEof(in);
  if (got < 0) {
    in.error = InputError(absl::StrCat("cannot read input ", in.name, ": ", strerror(errno)));
  } else if (AwaitingFirstWriter(in)) {
    return false;
  }
  in.eof = true;
  return true;
}

// A FIFO opened before any writer reads 0 bytes until one comes: wait a
// little (a writer makes it readable, a stop request wakes us) rather than
// take it for the end. Stdin is exempt: a shell has opened it already.
bool LineSource::AwaitingFirstWriter(const Input& in) {
  struct stat now;
  if (in.regular || in.writer_seen || in.fd == STDIN_FILENO) return false;
  if (fstat(in.fd, &now) != 0 || !S_ISFIFO(now.st_mode)) return false;
  pollfd pfd{shutdown_->wake_fd(), POLLIN, 0};
  poll(&pfd, 1, 50);
  return true;
}

// Drops bytes up to the newline that ends an overlong line; false while
// that newline has not been read yet.
bool LineSource::DropRestOfLongLine(Input& in) {
  LineChunk& chunk = *in.chunk;
  const void* nl = std::memchr(chunk.data.data(), '\n', chunk.size);
  if (!nl) {
    in.offset += chunk.size;
    chunk.size = 0;
    return false;
  }
  const size_t dropped = static_cast<const char*>(nl) - chunk.data.data() + 1;
  const size_t rest = chunk.size - dropped;
  in.offset += dropped;
  if (in.tracked) {
    // The skipped line needs no further outcome: a chunk with no units.
    options_.checkpoint->tracker()->Register(in.id, in.skip_begin, in.offset, 0).IgnoreError();
  }
  std::memmove(chunk.data.data(), static_cast<const char*>(nl) + 1, rest);
  chunk.size = rest;
  in.skipping_long_line = false;
  return true;
}

// No newline yet: read on while there is room; a full buffer grows for a
// long line up to the limit, past which the line is counted invalid and
// skipped.
void LineSource::MakeRoomForLongLine(Input& in) {
  LineChunk& chunk = *in.chunk;
  if (chunk.size < in.capacity) return;
  // No newline in a full buffer: grow for a long line, up to the limit plus
  // its newline (a line of exactly max_line_bytes is allowed).
  if (in.capacity <= options_.max_line_bytes) {
    in.capacity = std::min(in.capacity * 2, options_.max_line_bytes + 1);
    chunk.data.resize(in.capacity + kLinePadding);
    return;
  }
  outcomes_->AddLines(1);
  outcomes_->AddInvalid(1);
  LogWarn(absl::StrCat("invalid line in ", in.name, ": longer than ", options_.max_line_bytes,
                       " bytes (skipped)"));
  in.skip_begin = in.offset;
  in.offset += chunk.size;
  chunk.size = 0;
  in.skipping_long_line = true;
}

// Sends the whole lines (up to `lines_end`) on and starts a new chunk with
// the partial line after them.
void LineSource::ShipLines(Input& in, size_t lines_end) {
  const size_t rest = in.chunk->size - lines_end;
  auto next =
      NewChunk(options_.chunk_bytes > rest ? options_.chunk_bytes : rest + options_.chunk_bytes);
  std::memcpy(next->data.data(), in.chunk->data.data() + lines_end, rest);
  next->size = rest;
  in.chunk->size = lines_end;
  if (in.chunk->size > 0) {
    RegisterChunk(in, *in.chunk, in.offset + lines_end, 1);
    in.offset += lines_end;
    out_->Push(std::move(in.chunk));
  }
  in.chunk = std::move(next);
  in.capacity = in.chunk->data.size() - kLinePadding;
}

}  // namespace nf2

namespace nf2 {

// --follow at the end of a regular file: true when this file is finished
// (rotated away, and drained) so the loop ships its last line; false after
// waiting for a change (or restarting a truncated file at 0).
bool LineSource::FollowAtEof(Input& in) {
  if (RestartIfTruncated(in)) return false;
  if (RotationFinished(in)) {
    in.rotated = true;
    in.eof = true;
    return true;
  }
  // A rotation just seen: read the old file once more before waiting.
  if (in.rotation_seen && *in.rotation_seen == std::chrono::steady_clock::time_point()) {
    return false;
  }
  WaitForWrite(in);
  // Checked again before reading on: a file truncated and rewritten past
  // the old offset while we waited must not be read from the middle.
  RestartIfTruncated(in);
  return false;
}

// copytruncate: the file is shorter than what was read of it, or its first
// bytes changed (truncated and written again, maybe past the old offset).
// What was read is shipped (a partial last line as a line) and the file is
// read again from the top.
bool LineSource::RestartIfTruncated(Input& in) {
  struct stat now;
  if (fstat(in.fd, &now) != 0) return false;
  const uint64_t read_to = in.offset + in.chunk->size;
  bool truncated = static_cast<uint64_t>(now.st_size) < read_to;
  if (!truncated && in.identity.fingerprint_bytes > 0) {
    auto current = checkpoint::Identify(in.fd, in.identity.fingerprint_bytes);
    truncated = current.ok() && (current->fingerprint_bytes != in.identity.fingerprint_bytes ||
                                 current->fingerprint != in.identity.fingerprint);
  }
  if (!truncated) return false;
  LogWarn(absl::StrCat("[FOLLOW] ", in.name, " was truncated (now ", now.st_size, " bytes, ",
                       read_to, " read): reading it again from the top"));
  if (in.chunk->size > 0 && !in.skipping_long_line) ShipLines(in, in.chunk->size);
  in.chunk->size = 0;
  in.skipping_long_line = false;
  if (in.tracked) options_.checkpoint->Close(in.id, in.offset);
  lseek(in.fd, 0, SEEK_SET);
  in.offset = 0;
  if (in.tracked) {
    Track(in, 0);
  } else {
    in.identity = checkpoint::Identify(in.fd).value_or(checkpoint::FileIdentity());
  }
  return true;
}

// A rename rotation: the path names another file now. The old one is
// finished once it has been read to its end after the rotation was seen and
// the writer has moved on (the new file has data, or the old one stayed
// quiet for kRotationGrace).
bool LineSource::RotationFinished(Input& in) {
  using Clock = std::chrono::steady_clock;
  struct stat mine, at_path;
  if (fstat(in.fd, &mine) != 0 || stat(in.name.c_str(), &at_path) != 0) return false;
  if (SameFile(mine, at_path)) return false;
  if (!in.rotation_seen) {
    // Marked with the epoch: FollowAtEof reads once more before any wait.
    in.rotation_seen = Clock::time_point();
    LogInfo(absl::StrCat("[FOLLOW] ", in.name, " was rotated: finishing the old file"));
    return false;
  }
  if (*in.rotation_seen == Clock::time_point()) in.rotation_seen = Clock::now();
  return at_path.st_size > 0 || Clock::now() - *in.rotation_seen >= kRotationGrace;
}

void LineSource::WaitForWrite(Input& in) { WaitForChange(in.watch_fd, shutdown_->wake_fd()); }

}  // namespace nf2
