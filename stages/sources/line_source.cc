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

}  // namespace

absl::Status LineSource::Run() {
  absl::Status result;
  for (const std::string& name : options_.inputs) {
    if (shutdown_->stop_requested()) break;
    int fd = 0;
    if (name != "-") {
      // O_NONBLOCK so opening a FIFO with no writer yet does not hang past a
      // stop request; reads wait in poll() instead.
      fd = open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) {
        result.Update(
            absl::NotFoundError(absl::StrCat("cannot open ", name, ": ", strerror(errno))));
        LogError(absl::StrCat("cannot open input ", name, ": ", strerror(errno)));
        continue;
      }
    }
    absl::Status st = ReadFd(fd, name == "-" ? std::string("stdin") : name);
    if (fd != 0) close(fd);
    result.Update(st);
  }
  shutdown_->MarkInputFinished();
  return result;
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

absl::Status LineSource::ReadLoop(int fd, const std::string& name, bool regular) {
  size_t capacity = options_.chunk_bytes;
  auto chunk = NewChunk(capacity);
  bool skipping_long_line = false;  // discarding the rest of an overlong line
  bool eof = false;
  bool writer_seen = false;  // a FIFO reports EOF until its first writer
  while (!eof) {
    if (shutdown_->stop_requested()) break;
    if (!regular) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {shutdown_->wake_fd(), POLLIN, 0}};
      int n = poll(fds, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(absl::StrCat("poll on ", name, ": ", strerror(errno)));
      }
      if (fds[1].revents & POLLIN) continue;  // stop requested: loop re-checks
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    }
    // Read until the buffer is full or no more data is ready right now.
    ssize_t got = read(fd, chunk->data.data() + chunk->size, capacity - chunk->size);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      LogError(absl::StrCat("read error on ", name, ": ", strerror(errno)));
      eof = true;
      got = 0;
    } else if (got == 0) {
      struct stat now;
      // A FIFO opened before any writer reads 0 bytes; wait for a writer.
      if (!regular && !writer_seen && fstat(fd, &now) == 0 && S_ISFIFO(now.st_mode) && fd != 0) {
        pollfd pfd{shutdown_->wake_fd(), POLLIN, 0};
        poll(&pfd, 1, 50);  // bounded wait; a writer arriving makes fd readable
        continue;
      }
      eof = true;
    } else {
      writer_seen = true;
    }
    chunk->size += static_cast<size_t>(got);

    if (skipping_long_line) {
      const void* nl = std::memchr(chunk->data.data(), '\n', chunk->size);
      if (!nl) {
        chunk->size = 0;
        continue;
      }
      const size_t rest = chunk->size - (static_cast<const char*>(nl) - chunk->data.data() + 1);
      std::memmove(chunk->data.data(), static_cast<const char*>(nl) + 1, rest);
      chunk->size = rest;
      skipping_long_line = false;
    }

    // Find the last newline; everything after it waits for the next read.
    size_t lines_end = 0;
    for (size_t i = chunk->size; i > 0; --i) {
      if (chunk->data[i - 1] == '\n') {
        lines_end = i;
        break;
      }
    }
    if (eof) lines_end = chunk->size;  // the last line may lack its newline
    if (lines_end == 0) {
      if (chunk->size < capacity) continue;
      // No newline in a full buffer: grow for a long line, up to the limit
      // plus its newline (a line of exactly max_line_bytes is allowed).
      if (capacity <= options_.max_line_bytes) {
        capacity = std::min(capacity * 2, options_.max_line_bytes + 1);
        chunk->data.resize(capacity + kLinePadding);
        continue;
      }
      outcomes_->AddLines(1);
      outcomes_->AddInvalid(1);
      LogWarn(absl::StrCat("invalid line in ", name, ": longer than ", options_.max_line_bytes,
                           " bytes (skipped)"));
      chunk->size = 0;
      skipping_long_line = true;
      continue;
    }
    // Under load, keep filling the block rather than sending a small one.
    if (!eof && !regular && lines_end < capacity / 2) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) continue;
    }
    auto next = NewChunk(options_.chunk_bytes > chunk->size - lines_end
                             ? options_.chunk_bytes
                             : chunk->size - lines_end + options_.chunk_bytes);
    const size_t rest = chunk->size - lines_end;
    std::memcpy(next->data.data(), chunk->data.data() + lines_end, rest);
    next->size = rest;
    chunk->size = lines_end;
    if (chunk->size > 0) out_->Push(std::move(chunk));
    chunk = std::move(next);
    capacity = chunk->data.size() - kLinePadding;
  }
  // Stopped early: a partial line already read still counts as a line.
  if (chunk->size > 0 && !skipping_long_line) out_->Push(std::move(chunk));
  return absl::OkStatus();
}

}  // namespace nf2
