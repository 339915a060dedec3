// The decision part of ingest-sink: given one POST /v1/ingest request, which answer does the
// telemetry API give (docs/contract.md §3)? Nothing here touches sockets, clocks or files, so
// every answer can be unit-tested; the server in ingest_sink.cc only carries requests in and
// answers out.

#ifndef NF2INGEST_TOOLS_INGEST_SINK_SINK_LOGIC_H_
#define NF2INGEST_TOOLS_INGEST_SINK_SINK_LOGIC_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ingest_sink {

// A gzip body may not inflate to more than this: a few KiB of gzip can expand to gigabytes.
inline constexpr uint64_t kMaxDecompressedBytes = 64ull << 20;
// Deeper JSON is refused: re-serializing a record recurses once per nesting level.
inline constexpr int kMaxJsonDepth = 512;
// limit_per_min reported by a 429 when no --rate-limit is configured (the API's default).
inline constexpr int kDefaultRateLimitPerMin = 600;
// Extra delay of the `slow` script token.
inline constexpr std::chrono::milliseconds kSlowTokenDelay{2000};

struct IngestSettings {
  uint64_t max_body_bytes = 5242880;  // On the wire, i.e. compressed size for gzip bodies.
  uint64_t max_records = 10000;
  bool discard = false;                  // Accept without decoding; count X-Batch-Records.
  int retry_after_s = 1;                 // For 429/503; 0 omits the header and the body field.
  int rate_limit_per_min = 0;            // 0 = unlimited.
  std::chrono::milliseconds latency{0};  // Added before every ingest answer.
  // Ingest requests served at once; one more is answered 503 at once, like
  // an API at its limit. 0 = unlimited.
  int capacity = 0;
  // --capacity-schedule: from each time after start on, this capacity
  // replaces --capacity (an API scaled down or up during a test). Sorted.
  std::vector<std::pair<std::chrono::milliseconds, int>> capacity_schedule;
  // The capacity `since_start` after start.
  int CapacityAt(std::chrono::steady_clock::duration since_start) const {
    int c = capacity;
    for (const auto& [at, n] : capacity_schedule) {
      if (since_start >= at) c = n;
    }
    return c;
  }
  // The largest capacity it will ever have (threads are sized by it).
  int MaxCapacity() const {
    int c = capacity;
    for (const auto& entry : capacity_schedule) c = std::max(c, entry.second);
    return c;
  }
};

// What the fault injector wants done with one authorized ingest request.
struct FaultAction {
  enum class Kind {
    kNone,    // Process normally (possibly after extra_delay).
    kAnswer,  // Answer `status` with the contract's body for it.
    kClose,   // Close the connection without answering.
  };
  Kind kind = Kind::kNone;
  int status = 0;
  std::chrono::milliseconds extra_delay{0};

  bool operator==(const FaultAction&) const = default;
};

// The parts of an HTTP request the decision needs.
struct IngestRequest {
  std::string_view authorization;     // Authorization header value.
  std::string_view content_encoding;  // Content-Encoding as sent by the client.
  std::string_view body;              // Bytes as received on the wire.
  // Declared size on the wire, for when the transport refused to read an oversized body (then
  // `body` is empty and the answer is a 413 or a fault). The larger of this and body.size()
  // is the size that counts.
  uint64_t wire_size = 0;
  std::string_view batch_records;  // X-Batch-Records header (used by --discard).
};

struct IngestAnswer {
  int status = 0;  // 0 = close the connection without answering.
  std::string body;
  int retry_after_s = 0;  // > 0: send a Retry-After header.
  std::chrono::milliseconds delay{0};
  uint64_t records_processed = 0;
  // Compact JSON of each accepted record, filled only when the caller asked for them.
  std::vector<std::string> record_lines;
};

// Strips spaces, tabs, CR and LF from both ends.
std::string_view TrimBlanks(std::string_view s);

// True when `authorization` is "Bearer <key>" (scheme case-insensitive).
bool IsAuthorized(std::string_view authorization, std::string_view key);

// Decides the answer to one POST /v1/ingest. `draw_fault` is consulted exactly once, and only
// for authorized requests, so that script tokens and rate-limit budget are spent on requests
// that would otherwise reach the API's logic.
IngestAnswer DecideIngest(const IngestRequest& request, std::string_view key,
                          const IngestSettings& settings,
                          const std::function<FaultAction()>& draw_fault, bool capture_records);

// The contract's answer for an injected status (used for script, --fail-status, rate limit).
IngestAnswer FaultAnswer(int status, const IngestSettings& settings, uint64_t body_size);

// Individual answers, shared with the HTTP layer.
std::string UnauthorizedBody();
std::string BatchTooLargeBody(uint64_t limit_bytes, uint64_t size_bytes);
std::string ErrorBody(std::string_view error);

enum class GunzipStatus { kOk, kCorrupt, kTooLarge };
// Inflates a gzip stream (several concatenated members allowed, as `gzip` itself does) into
// `out`, refusing to produce more than `max_out` bytes.
GunzipStatus Gunzip(std::string_view in, uint64_t max_out, std::string& out);

enum class BatchStatus { kOk, kInvalidJson, kBadShape, kTooManyRecords };
struct BatchCheck {
  BatchStatus status = BatchStatus::kOk;
  uint64_t record_count = 0;
  std::vector<std::string> record_lines;  // Only when capture_records and status is kOk.
};
// Parses `json` and checks it is {"records":[{...},...], "collector_id":"...",
// "format":"flows.v1"} (the last two optional) with at most `max_records` records.
BatchCheck CheckBatch(std::string_view json, uint64_t max_records, bool capture_records);

}  // namespace ingest_sink

#endif  // NF2INGEST_TOOLS_INGEST_SINK_SINK_LOGIC_H_
