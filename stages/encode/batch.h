// A request's worth of flows.v1 records, and the encoder that keeps every
// request within the API's limits (records per request, bytes on the wire).
#ifndef NF2INGEST_STAGES_ENCODE_BATCH_H_
#define NF2INGEST_STAGES_ENCODE_BATCH_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/ack_tracker.h"
#include "pipeline/json_escape.h"
#include "stages/encode/gzip.h"

namespace nf2 {

struct Batch {
  uint64_t id = 0;  // stable across retries; new for each half of a split
  // The JSON body: {"records":[r0,r1,...],"collector_id":"..","format":"flows.v1"}
  std::string body;
  // End offset in `body` of each record.
  std::vector<uint32_t> record_ends;
  bool gzipped = false;
  std::string gzip_body;  // the wire bytes when gzipped

  // The sender's bookkeeping (not persisted).
  int attempts = 0;                                       // sends so far
  std::chrono::steady_clock::time_point first_failure{};  // epoch = none yet
  uint64_t store_id = 0;                                  // its file in the spool, 0 = not on disk
  bool earlier_run = false;    // replayed from a spool written before this run
  bool unspoolable = false;    // the spool refused it for good (too large)
  uint64_t replay_origin = 0;  // replay: the spool entry this part of a split came from
  // The source chunks of its records, acknowledged at its final outcome.
  pipeline::AckSpans acks;

  size_t records() const { return record_ends.size(); }
  std::string_view wire() const { return gzipped ? std::string_view(gzip_body) : body; }
  size_t wire_size() const { return wire().size(); }
};

struct BatchLimits {
  size_t max_records = 10000;       // MAX_RECORDS_PER_BATCH
  size_t max_wire_bytes = 5242880;  // MAX_PAYLOAD_SIZE
  size_t gzip_threshold = 51200;    // GZIP_THRESHOLD (gzip when body is larger)
};

// Builds, seals and splits batches. Thread-compatible: one per assembler
// thread (it owns a compressor); ids come from a shared counter.
class BatchEncoder {
 public:
  BatchEncoder(BatchLimits limits, std::string_view collector_id,
               std::unique_ptr<GzipCompressor> compressor, std::atomic<uint64_t>* next_id);

  // Bytes of the envelope around the records: `{"records":[` and the tail.
  size_t EnvelopeSize() const { return prefix_.size() + suffix_.size(); }

  // Starts an empty batch.
  std::unique_ptr<Batch> Begin() const;
  // Whether one more record of `fragment_size` bytes may join `batch` before
  // sealing (record count, and a cap on the uncompressed size).
  bool Fits(const Batch& batch, size_t fragment_size) const;
  void Append(Batch* batch, std::string_view fragment) const;

  // Closes the body, gzips it above the threshold, and splits it in halves
  // until each part fits on the wire. Ready batches are appended to `out`.
  void Seal(std::unique_ptr<Batch> batch, std::vector<std::unique_ptr<Batch>>* out);

  // Splits a sealed batch of two or more records into two sealed halves
  // (each possibly split further), with new ids. For 413 answers.
  void Split(const Batch& batch, std::vector<std::unique_ptr<Batch>>* out);

  const BatchLimits& limits() const { return limits_; }

 private:
  std::unique_ptr<Batch> Slice(const Batch& sealed, size_t first, size_t last) const;
  void Encode(Batch* batch);

  BatchLimits limits_;
  std::string prefix_;
  std::string suffix_;
  size_t raw_cap_;
  std::unique_ptr<GzipCompressor> compressor_;
  std::atomic<uint64_t>* next_id_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_ENCODE_BATCH_H_
