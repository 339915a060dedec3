#include "pipeline/ack_tracker.h"

#include <algorithm>
#include <cassert>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nf2::pipeline {
namespace ack_internal {

// One input's chunks not yet behind its watermark, oldest first. A deque
// keeps every record at its address while others are added and removed, so a
// ChunkRef stays valid without a lock.
struct Input {
  Input(AckTracker* t, uint64_t start) : tracker(t), watermark(start), registered_end(start) {}
  AckTracker* tracker;
  std::deque<ChunkRecord> chunks;
  uint64_t watermark;
  uint64_t registered_end;
};

}  // namespace ack_internal

using ack_internal::ChunkRecord;
using ack_internal::Input;

AckTracker::AckTracker() = default;
AckTracker::~AckTracker() = default;

AckTracker::InputId AckTracker::AddInput(uint64_t start_offset) {
  std::lock_guard<std::mutex> lock(mu_);
  inputs_.push_back(std::make_unique<Input>(this, start_offset));
  return static_cast<InputId>(inputs_.size() - 1);
}

absl::StatusOr<ChunkRef> AckTracker::Register(InputId id, uint64_t begin, uint64_t end,
                                              uint64_t units) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id >= inputs_.size()) return absl::InvalidArgumentError(absl::StrCat("no input ", id));
  Input* input = inputs_[id].get();
  if (begin < input->registered_end || end < begin) {
    return absl::InvalidArgumentError(absl::StrCat("chunk [", begin, ", ", end, ") of input ", id,
                                                   " is not after byte ", input->registered_end));
  }
  input->registered_end = end;
  ChunkRecord& record = input->chunks.emplace_back(input, end, units);
  if (units == 0 && AdvanceLocked(input)) {
    ++version_;
    changed_.notify_all();
  }
  return ChunkRef(&record);
}

void AckTracker::AddUnits(ChunkRef ref, uint64_t n) {
  if (!ref.tracked() || n == 0) return;
  // The caller still holds a unit, so the count cannot reach zero meanwhile.
  ref.record_->remaining.fetch_add(n, std::memory_order_relaxed);
}

void AckTracker::Ack(ChunkRef ref, uint64_t n) {
  if (!ref.tracked() || n == 0) return;
  // Read before the subtraction: once the count is zero another thread may
  // move the watermark past this record and free it.
  Input* input = ref.record_->input;
  const uint64_t before = ref.record_->remaining.fetch_sub(n, std::memory_order_acq_rel);
  assert(before >= n && "acknowledged more units than the chunk holds");
  if (before == n) input->tracker->Complete(input);
}

void AckTracker::Complete(Input* input) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdvanceLocked(input)) return;  // an earlier chunk is still in flight
  ++version_;
  changed_.notify_all();
}

bool AckTracker::AdvanceLocked(Input* input) {
  bool moved = false;
  while (!input->chunks.empty() &&
         input->chunks.front().remaining.load(std::memory_order_acquire) == 0) {
    input->watermark = input->chunks.front().end;
    input->chunks.pop_front();
    moved = true;
  }
  return moved;
}

const Input& AckTracker::InputAt(InputId id) const {
  assert(id < inputs_.size());
  return *inputs_[id];
}

uint64_t AckTracker::Watermark(InputId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return InputAt(id).watermark;
}

uint64_t AckTracker::UnackedBytes(InputId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Input& input = InputAt(id);
  return input.registered_end - input.watermark;
}

size_t AckTracker::PendingChunks(InputId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return InputAt(id).chunks.size();
}

std::vector<uint64_t> AckTracker::Watermarks() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out;
  out.reserve(inputs_.size());
  for (const auto& input : inputs_) out.push_back(input->watermark);
  return out;
}

uint64_t AckTracker::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

uint64_t AckTracker::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return version_ != seen || stop_waiting_; });
  return version_;
}

void AckTracker::StopWaiting() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_waiting_ = true;
  changed_.notify_all();
}

void AckSpans::Append(ChunkRef ref, uint64_t units) {
  if (units == 0) return;
  if (!spans_.empty() && spans_.back().ref == ref) {
    spans_.back().units += units;
  } else {
    spans_.push_back({ref, units});
  }
}

AckSpans AckSpans::Slice(uint64_t first, uint64_t last) const {
  AckSpans out;
  uint64_t at = 0;  // record index where the current run starts
  for (const Span& span : spans_) {
    const uint64_t lo = std::max(first, at);
    const uint64_t hi = std::min(last, at + span.units);
    if (lo < hi) out.Append(span.ref, hi - lo);
    at += span.units;
    if (at >= last) break;
  }
  return out;
}

void AckSpans::AckAll() {
  for (const Span& span : spans_) AckTracker::Ack(span.ref, span.units);
  spans_.clear();
}

uint64_t AckSpans::units() const {
  uint64_t n = 0;
  for (const Span& span : spans_) n += span.units;
  return n;
}

}  // namespace nf2::pipeline
