#include "bench/bench_support.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"

namespace nf2::bench {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

constexpr char kPrefix[] = "{\"records\":[";
constexpr char kSuffix[] = R"(],"collector_id":"gw-local","format":"flows.v1"})";
constexpr size_t kGzipThreshold = 51200;

}  // namespace

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t SplitLinesMemchr(const char* data, size_t size) {
  size_t pos = 0;
  int64_t n = 0;
  while (pos < size) {
    const void* nl = std::memchr(data + pos, '\n', size - pos);
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) : size;
    std::string_view line(data + pos, end - pos);
    // Keep the line "used" so the loop cannot be folded away.
    asm volatile("" : : "r"(line.data()), "r"(line.size()) : "memory");
    ++n;
    pos = end + 1;
  }
  return n;
}

PairedBaseline::PairedBaseline(const std::vector<std::unique_ptr<LineChunk>>* chunks) {
  constexpr size_t kWindow = 16 * 1024;
  if (chunks->empty()) Die("PairedBaseline: empty corpus");
  std::string_view lines = (*chunks)[0]->lines();
  size_t end = lines.size() <= kWindow ? lines.size() : lines.rfind('\n', kWindow) + 1;
  if (end == 0 || end > lines.size()) end = std::min(lines.size(), lines.find('\n') + 1);
  window_.assign(lines.substr(0, end));
  window_size_ = window_.size();
  window_.append(kLinePadding, ' ');
}

void PairedBaseline::Run(int64_t lines) {
  owed_ += lines;
  if (owed_ >= kBlock) Split(owed_);
}

void PairedBaseline::Flush() {
  if (owed_ > 0 || lines_ == 0) Split(std::max<int64_t>(owed_, kBlock));
}

void PairedBaseline::Split(int64_t lines) {
  const double t0 = ThreadCpuSeconds();
  int64_t done = 0;
  while (done < lines) done += SplitLinesMemchr(window_.data(), window_size_);
  seconds_ += ThreadCpuSeconds() - t0;
  lines_ += done;
  owed_ -= done;
}

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const uint64_t n = std::strtoull(v, &end, 10);
  if (end == v || *end != '\0') Die(std::string("bad value for ") + name + ": " + v);
  return n;
}

std::string FlowgenPath() {
  if (const char* env = std::getenv("NF2_FLOWGEN"); env != nullptr && *env != '\0') return env;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) Die("cannot read /proc/self/exe; set NF2_FLOWGEN");
  std::string path(self, static_cast<size_t>(n));
  path.resize(path.rfind('/') + 1);
  path += "flowgen";
  if (access(path.c_str(), X_OK) != 0) Die(path + " not found; build `flowgen` or set NF2_FLOWGEN");
  return path;
}

std::string GenerateCorpus(uint64_t records, uint64_t seed) {
  const std::string cmd = Quote(FlowgenPath()) + " --count " + std::to_string(records) +
                          " --seed " + std::to_string(seed) + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) Die("cannot run " + cmd);
  std::string out;
  out.reserve(records * 1100);
  char buf[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  const int rc = pclose(p);
  if (rc != 0) Die("flowgen failed: " + cmd);
  return out;
}

std::string CorpusFile(uint64_t records, uint64_t seed) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  std::string path =
      dir + "/nf2-bench-corpus-" + std::to_string(records) + "-" + std::to_string(seed) + ".jsonl";
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && st.st_size > 0) return path;
  // Written under a private name and renamed, so a concurrent run never reads
  // a half-written file.
  const std::string part = path + ".part." + std::to_string(getpid());
  const std::string cmd = Quote(FlowgenPath()) + " --count " + std::to_string(records) +
                          " --seed " + std::to_string(seed) + " --out " + Quote(part) +
                          " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) Die("flowgen failed: " + cmd);
  if (std::rename(part.c_str(), path.c_str()) != 0) Die("cannot rename " + part);
  return path;
}

std::vector<std::unique_ptr<LineChunk>> SplitIntoChunks(std::string_view lines,
                                                        size_t chunk_bytes) {
  std::vector<std::unique_ptr<LineChunk>> chunks;
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t end = std::min(lines.size(), pos + chunk_bytes);
    if (end < lines.size()) {
      // Back up to the last newline inside the window (a line longer than the
      // window goes alone).
      const size_t nl = lines.rfind('\n', end - 1);
      end = (nl == std::string_view::npos || nl < pos) ? lines.find('\n', pos) + 1 : nl + 1;
      if (end == 0) end = lines.size();
    }
    auto c = std::make_unique<LineChunk>();
    c->data.assign(lines.data() + pos, end - pos);
    c->size = end - pos;
    c->data.append(kLinePadding, ' ');
    chunks.push_back(std::move(c));
    pos = end;
  }
  return chunks;
}

FusedLoop::FusedLoop(size_t batch_size, GzipImpl gzip_impl, int gzip_level)
    : batch_size_(batch_size),
      parser_(MakeLineParser(JsonParserKind::kSimdjson)),
      gzip_(MakeGzipCompressor(gzip_impl, gzip_level)),
      body_(kPrefix) {
  body_.reserve(batch_size * 256 + 128);
}

void FusedLoop::Feed(const char* data, size_t size, size_t readable) {
  FlowRecord rec;
  size_t pos = 0;
  while (pos < size) {
    const void* nl = std::memchr(data + pos, '\n', size - pos);
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) : size;
    ++lines_;
    const ParseResult r =
        ParseGoflow2Line(*parser_, std::string_view(data + pos, end - pos), readable - pos, &rec);
    if (r.verdict == LineVerdict::kRecord) {
      if (in_body_ > 0) body_.push_back(',');
      AppendFlowRecordJson(rec, &body_);
      ++records_;
      if (++in_body_ == batch_size_) Seal();
    }
    pos = end + 1;
  }
}

void FusedLoop::Seal() {
  if (in_body_ == 0) return;
  body_ += kSuffix;
  if (body_.size() > kGzipThreshold) {
    if (!gzip_->Compress(body_, &wire_).ok()) Die("gzip failed");
    wire_bytes_ += wire_.size();
  } else {
    wire_bytes_ += body_.size();
  }
  ++batches_;
  in_body_ = 0;
  body_.assign(kPrefix);
}

void FusedLoop::Finish() { Seal(); }

}  // namespace nf2::bench
