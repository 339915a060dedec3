// The fused ceiling loop of issue 4 over a goflow2 JSON file, for bench/e2e.sh:
// each thread reads its share of the file (pread, 1 MiB blocks, from the page
// cache) and runs simdjson parse + hand serialization + gzip L1 (nf2ingest's
// default compressor unless --gzip-impl says otherwise) over
// 5000-record bodies in one loop: no queues, no hand-offs, no HTTP. What the
// hardware allows for this job; nf2ingest is compared against it.
//
//   bench_fused [--threads N] [--batch-size N] [--gzip-impl NAME] [--preload] FILE
//
// --threads defaults to hardware_concurrency. --preload reads the whole file
// into memory first and times only the loop. Prints one line:
//   fused threads=N records=R batches=B wire_bytes=W seconds=S records_per_s=X
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "stages/goflow2/line_parser.h"

namespace {

using nf2::kLinePadding;
using nf2::bench::FusedLoop;

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: bench_fused [--threads N] [--batch-size N] [--gzip-impl NAME] [--preload] "
               "FILE\n");
  std::exit(2);
}

// Start of the first line at or after `nominal`.
off_t LineStartAtOrAfter(int fd, off_t nominal, off_t size) {
  if (nominal <= 0) return 0;
  std::vector<char> buf(1 << 16);
  off_t off = nominal - 1;  // a newline right before `nominal` starts a line there
  while (off < size) {
    const ssize_t n = pread(fd, buf.data(), buf.size(), off);
    if (n <= 0) break;
    if (const void* nl = std::memchr(buf.data(), '\n', static_cast<size_t>(n))) {
      return off + (static_cast<const char*>(nl) - buf.data()) + 1;
    }
    off += n;
  }
  return size;
}

void RunRange(int fd, off_t begin, off_t end, FusedLoop* loop) {
  size_t cap = 1 << 20;
  std::vector<char> buf(cap + kLinePadding, ' ');
  size_t have = 0;
  off_t off = begin;
  while (true) {
    const size_t want = std::min<size_t>(cap - have, static_cast<size_t>(end - off));
    ssize_t n = 0;
    if (want > 0) {
      n = pread(fd, buf.data() + have, want, off);
      if (n < 0) {
        std::perror("pread");
        std::exit(1);
      }
      off += n;
    }
    have += static_cast<size_t>(n);
    const bool last = off >= end || n == 0;
    size_t lines_end = have;
    if (!last) {
      const char* p = static_cast<const char*>(memrchr(buf.data(), '\n', have));
      lines_end = p ? static_cast<size_t>(p - buf.data()) + 1 : 0;
      if (lines_end == 0) {  // a line longer than the buffer
        cap *= 2;
        buf.resize(cap + kLinePadding, ' ');
        continue;
      }
    }
    loop->Feed(buf.data(), lines_end, buf.size());
    std::memmove(buf.data(), buf.data() + lines_end, have - lines_end);
    have -= lines_end;
    if (last) break;
  }
  loop->Finish();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  size_t batch_size = 5000;
  nf2::GzipImpl gzip_impl = nf2::kDefaultGzipImpl;
  bool preload = false;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--batch-size" && i + 1 < argc) {
      batch_size = static_cast<size_t>(std::atol(argv[++i]));
    } else if (a == "--gzip-impl" && i + 1 < argc) {
      auto impl = nf2::GzipImplFromName(argv[++i]);
      if (!impl.ok()) Usage();
      gzip_impl = *impl;
    } else if (a == "--preload") {
      preload = true;
    } else if (!a.empty() && a[0] != '-' && path.empty()) {
      path = a;
    } else {
      Usage();
    }
  }
  if (path.empty() || threads < 1 || batch_size < 1) Usage();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  const off_t size = st.st_size;
  std::vector<off_t> bounds(threads + 1);
  for (int t = 0; t <= threads; ++t) {
    bounds[t] = t == threads ? size : LineStartAtOrAfter(fd, size / threads * t, size);
  }

  std::string data;
  if (preload) {
    data.resize(static_cast<size_t>(size) + kLinePadding, ' ');
    for (off_t off = 0; off < size;) {
      const ssize_t n = pread(fd, data.data() + off, static_cast<size_t>(size - off), off);
      if (n <= 0) {
        std::perror("pread");
        return 1;
      }
      off += n;
    }
  }

  std::vector<std::unique_ptr<FusedLoop>> loops;
  loops.reserve(threads);
  for (int t = 0; t < threads; ++t)
    loops.push_back(std::make_unique<FusedLoop>(batch_size, gzip_impl, 1));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      if (preload) {
        const auto b = static_cast<size_t>(bounds[t]);
        const auto e = static_cast<size_t>(bounds[t + 1]);
        loops[t]->Feed(data.data() + b, e - b, data.size() - b);
        loops[t]->Finish();
      } else {
        RunRange(fd, bounds[t], bounds[t + 1], loops[t].get());
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t records = 0, batches = 0, wire = 0;
  for (const auto& l : loops) {
    records += l->records();
    batches += l->batches();
    wire += l->wire_bytes();
  }
  std::printf(
      "fused threads=%d records=%llu batches=%llu wire_bytes=%llu seconds=%.4f "
      "records_per_s=%.0f%s\n",
      threads, static_cast<unsigned long long>(records), static_cast<unsigned long long>(batches),
      static_cast<unsigned long long>(wire), seconds, static_cast<double>(records) / seconds,
      preload ? " preload=1" : "");
  close(fd);
  return 0;
}
