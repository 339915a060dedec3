// Shared by the benchmark binaries: a flowgen corpus (in memory, cut into the
// same 256 KiB line chunks LineSource hands out, or written once to a file
// under /tmp), and the "fused ceiling" loop of issue 4 (one thread: simdjson
// parse + hand serialization + gzip L1 (nf2ingest's default compressor, or
// another) over BATCH_SIZE-record bodies,
// with no queues and no threads in between).
#ifndef NF2INGEST_BENCH_BENCH_SUPPORT_H_
#define NF2INGEST_BENCH_BENCH_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stages/encode/gzip.h"
#include "stages/flows/chunks.h"
#include "stages/goflow2/line_parser.h"

namespace nf2::bench {

// Path of the flowgen binary: $NF2_FLOWGEN, else "flowgen" next to this
// executable (both land in <build>/bin).
std::string FlowgenPath();

// Runs flowgen and returns its output (goflow2 JSON lines). Aborts on error.
std::string GenerateCorpus(uint64_t records, uint64_t seed);

// A corpus file under $TMPDIR (default /tmp), generated once and reused by
// later runs: nf2-bench-corpus-<records>-<seed>.jsonl.
std::string CorpusFile(uint64_t records, uint64_t seed);

// Cuts whole lines into chunks of at most `chunk_bytes` (LineSource's
// default), each followed by kLinePadding readable bytes.
std::vector<std::unique_ptr<LineChunk>> SplitIntoChunks(std::string_view lines,
                                                        size_t chunk_bytes = 256 * 1024);

// Reads an unsigned integer from the environment, or `fallback`.
uint64_t EnvU64(const char* name, uint64_t fallback);

// CPU time of the calling thread / of the whole process, in seconds.
double ThreadCpuSeconds();
double ProcessCpuSeconds();

// Finds every line of [data, data + size) with memchr: the gate's baseline.
// Returns the number of lines.
int64_t SplitLinesMemchr(const char* data, size_t size);

// Pairs a stage's measurements with the memchr baseline measured on the same
// thread in between, so that both see the same neighbours (on a shared 2-core
// VM the load changes the speed of everything by 20-40% for minutes at a
// time). The gate compares the ratio of the two, which cancels most of that.
//
// The baseline splits the same ~16 KiB of lines again and again: it stays in
// L1, so it measures the core, not the caches. (Over a cold 256 KiB chunk,
// memchr is bound by cache refills, which neighbours disturb five times more
// than they disturb a parser; the ratio then drifted by 20% with the load.)
class PairedBaseline {
 public:
  // The first lines of `chunks` are the baseline's input.
  explicit PairedBaseline(const std::vector<std::unique_ptr<LineChunk>>* chunks);

  // Owes `lines` lines of baseline work; splits them in blocks of at least
  // kBlock lines (so the CPU clock's cost stays below 1%).
  void Run(int64_t lines);
  // Splits what is still owed (at least one block if nothing ran yet).
  void Flush();

  // Baseline records (lines) per CPU second so far.
  double rate() const { return seconds_ > 0 ? static_cast<double>(lines_) / seconds_ : 0; }

 private:
  static constexpr int64_t kBlock = 4096;
  void Split(int64_t lines);

  std::string window_;  // whole lines, then padding
  size_t window_size_ = 0;
  int64_t owed_ = 0;
  int64_t lines_ = 0;
  double seconds_ = 0;
};

// One thread's fused loop. Feed() takes whole lines (with kLinePadding
// readable bytes after `size`); Finish() compresses the last partial body.
class FusedLoop {
 public:
  explicit FusedLoop(size_t batch_size = 5000, GzipImpl gzip_impl = kDefaultGzipImpl,
                     int gzip_level = 1);
  void Feed(const char* data, size_t size, size_t readable);
  void Finish();

  uint64_t lines() const { return lines_; }
  uint64_t records() const { return records_; }
  uint64_t batches() const { return batches_; }
  uint64_t wire_bytes() const { return wire_bytes_; }

 private:
  void Seal();

  size_t batch_size_;
  std::unique_ptr<LineParser> parser_;
  std::unique_ptr<GzipCompressor> gzip_;
  std::string body_;
  std::string wire_;
  size_t in_body_ = 0;
  uint64_t lines_ = 0, records_ = 0, batches_ = 0, wire_bytes_ = 0;
};

}  // namespace nf2::bench

#endif  // NF2INGEST_BENCH_BENCH_SUPPORT_H_
