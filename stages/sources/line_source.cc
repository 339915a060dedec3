#include "stages/sources/line_source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

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
absl::Status InputError(std::string message) {
  LogError(message);
  return absl::DataLossError(std::move(message));
}

// Where the last whole line of `chunk` ends (0: no newline yet).
size_t CompleteLinesEnd(const LineChunk& chunk) {
  for (size_t i = chunk.size; i > 0; --i) {
    if (chunk.data[i - 1] == '\n') return i;
  }
  return 0;
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
};

absl::Status LineSource::Run() {
  std::vector<std::string> errors;  // one per input that failed, in order
  for (const std::string& name : options_.inputs) {
    if (shutdown_->stop_requested()) break;
    if (absl::Status st = ReadInput(name); !st.ok()) errors.emplace_back(st.message());
  }
  shutdown_->MarkInputFinished();
  if (errors.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrJoin(errors, "; "));
}

absl::Status LineSource::ReadInput(const std::string& name) {
  if (name == "-") {
    if (options_.stdin_closed) {
      return InputError("cannot read input stdin: it was closed when nf2ingest started");
    }
    return ReadFd(STDIN_FILENO, "stdin");
  }
  // O_NONBLOCK so opening a FIFO with no writer yet does not hang past a
  // stop request; reads wait in poll() instead.
  const int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return InputError(absl::StrCat("cannot open input ", name, ": ", strerror(errno)));
  absl::Status status = ReadFd(fd, name);
  close(fd);
  return status;
}

absl::Status LineSource::ReadFd(int fd, const std::string& name) {
  struct stat st;
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  // Readiness comes from poll(); reads never block, so a quiet FIFO cannot
  // hold a stop request. The flags are restored: stdin may be shared.
  if (!regular && S_ISFIFO(st.st_mode)) GrowPipe(fd);
  const int saved_flags = regular ? -1 : fcntl(fd, F_GETFL);
  if (saved_flags >= 0) fcntl(fd, F_SETFL, saved_flags | O_NONBLOCK);
  absl::Status status = ReadLoop(fd, name, regular);
  if (saved_flags >= 0) fcntl(fd, F_SETFL, saved_flags);
  return status;
}

// Reads blocks, hands out the whole lines of each and keeps the partial last
// line for the next read, until the end, a read error or a stop request.
absl::Status LineSource::ReadLoop(int fd, const std::string& name, bool regular) {
  Input in{fd, name, regular, options_.chunk_bytes, NewChunk(options_.chunk_bytes)};
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
  // Stopped early: a partial line already read still counts as a line.
  if (in.chunk->size > 0 && !in.skipping_long_line) out_->Push(std::move(in.chunk));
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
    chunk.size = 0;
    return false;
  }
  const size_t rest = chunk.size - (static_cast<const char*>(nl) - chunk.data.data() + 1);
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
  if (in.chunk->size > 0) out_->Push(std::move(in.chunk));
  in.chunk = std::move(next);
  in.capacity = in.chunk->data.size() - kLinePadding;
}

}  // namespace nf2
