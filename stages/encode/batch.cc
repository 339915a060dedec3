#include "stages/encode/batch.h"

#include <algorithm>
#include <cstdio>

#include "pipeline/log.h"

namespace nf2 {

BatchEncoder::BatchEncoder(BatchLimits limits, std::string_view collector_id,
                           std::unique_ptr<GzipCompressor> compressor,
                           std::atomic<uint64_t>* next_id)
    : limits_(limits),
      prefix_("{\"records\":["),
      suffix_(R"(],"collector_id":")" + JsonEscape(collector_id) + R"(","format":"flows.v1"})"),
      compressor_(std::move(compressor)),
      next_id_(next_id) {
  // Without gzip the body is what goes on the wire, so it is capped by the
  // wire limit. With gzip, flows.v1 shrinks 5-10x: allow a larger body and let
  // Seal split the rare batch that still does not fit.
  const bool gzip_possible = limits_.gzip_threshold < limits_.max_wire_bytes;
  raw_cap_ = gzip_possible ? limits_.max_wire_bytes * 4 : limits_.max_wire_bytes;
}

std::unique_ptr<Batch> BatchEncoder::Begin() const {
  auto b = std::make_unique<Batch>();
  b->id = next_id_->fetch_add(1);
  // Room for a full batch of typical (~200-byte) records up front, so the
  // body is not reallocated and copied as it grows.
  b->body.reserve(std::min(raw_cap_, limits_.max_records * 210 + 256));
  b->body = prefix_;
  b->record_ends.reserve(std::min<size_t>(limits_.max_records, 16384));
  return b;
}

bool BatchEncoder::Fits(const Batch& batch, size_t fragment_size) const {
  if (batch.records() >= limits_.max_records) return false;
  const size_t comma = batch.records() > 0 ? 1 : 0;
  return batch.body.size() + comma + fragment_size + suffix_.size() <= raw_cap_ ||
         batch.records() == 0;
}

void BatchEncoder::Append(Batch* batch, std::string_view fragment) const {
  if (batch->records() > 0) batch->body.push_back(',');
  batch->body.append(fragment);
  batch->record_ends.push_back(static_cast<uint32_t>(batch->body.size()));
}

void BatchEncoder::Encode(Batch* batch) {
  batch->gzipped = false;
  batch->gzip_body.clear();
  if (batch->body.size() <= limits_.gzip_threshold) return;
  absl::Status st = compressor_->Compress(batch->body, &batch->gzip_body);
  if (!st.ok()) {
    LogError("gzip failed, sending uncompressed: " + std::string(st.message()));
    return;
  }
  batch->gzipped = true;
}

void BatchEncoder::Seal(std::unique_ptr<Batch> batch, std::vector<std::unique_ptr<Batch>>* out) {
  batch->body.append(suffix_);
  Encode(batch.get());
  if (batch->wire_size() <= limits_.max_wire_bytes) {
    out->push_back(std::move(batch));
    return;
  }
  if (batch->records() >= 2) {
    Split(*batch, out);
    return;
  }
  // One record: configuration guarantees its plain body fits, so if gzip made
  // it larger than the limit, send it plain.
  batch->gzipped = false;
  batch->gzip_body.clear();
  out->push_back(std::move(batch));
}

std::unique_ptr<Batch> BatchEncoder::Slice(const Batch& sealed, size_t first, size_t last) const {
  // Records [first, last) of a sealed batch, as a new unsealed batch.
  const size_t begin = first == 0 ? prefix_.size() : sealed.record_ends[first - 1] + 1;
  const size_t end = sealed.record_ends[last - 1];
  auto b = std::make_unique<Batch>();
  b->id = next_id_->fetch_add(1);
  b->acks = sealed.acks.Slice(first, last);
  b->body.reserve(prefix_.size() + (end - begin) + suffix_.size());
  b->body = prefix_;
  b->body.append(sealed.body, begin, end - begin);
  b->record_ends.reserve(last - first);
  const int64_t shift = static_cast<int64_t>(prefix_.size()) - static_cast<int64_t>(begin);
  for (size_t i = first; i < last; ++i) {
    b->record_ends.push_back(static_cast<uint32_t>(sealed.record_ends[i] + shift));
  }
  return b;
}

void BatchEncoder::Split(const Batch& batch, std::vector<std::unique_ptr<Batch>>* out) {
  const size_t n = batch.records();
  if (n < 2) return;  // callers check; a single record cannot be split
  const size_t half = n / 2;
  Seal(Slice(batch, 0, half), out);
  Seal(Slice(batch, half, n), out);
}

}  // namespace nf2
