// Knows, per input, how far the input has been fully dealt with, so a restart
// can resume there instead of reading everything again or skipping lines.
//
// Each chunk of an input is registered in byte order with the units (lines)
// it holds. A unit is acknowledged once it has its final outcome; chunks
// finish out of order (batches do), so the acknowledged watermark of an input
// is the end of the longest prefix of chunks whose units are all
// acknowledged: it never passes a chunk with a unit still in flight.
//
// The cost is per chunk, never per line: a chunk record holds an atomic count
// of units still in flight, an acknowledgement is one atomic subtraction, and
// only the one that brings a chunk to zero takes the mutex to move the
// watermark. Acknowledgements come from any thread (parser pool, sender);
// registrations from the source thread.
#ifndef NF2INGEST_PIPELINE_ACK_TRACKER_H_
#define NF2INGEST_PIPELINE_ACK_TRACKER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"

namespace nf2::pipeline {

class AckTracker;

namespace ack_internal {
struct Input;
struct ChunkRecord {
  ChunkRecord(Input* in, uint64_t e, uint64_t units) : input(in), end(e), remaining(units) {}
  Input* input;
  uint64_t end;
  std::atomic<uint64_t> remaining;
};
}  // namespace ack_internal

// What travels with a chunk's lines down the pipeline. A default (null) ref
// means "not tracked" (stdin, FIFOs, no checkpoint file): acknowledging it
// does nothing, so the stages need no special case.
class ChunkRef {
 public:
  ChunkRef() = default;
  bool tracked() const { return record_ != nullptr; }
  friend bool operator==(ChunkRef a, ChunkRef b) { return a.record_ == b.record_; }

 private:
  friend class AckTracker;
  explicit ChunkRef(ack_internal::ChunkRecord* record) : record_(record) {}
  ack_internal::ChunkRecord* record_ = nullptr;
};

class AckTracker {
 public:
  using InputId = uint32_t;

  AckTracker();
  ~AckTracker();
  AckTracker(const AckTracker&) = delete;
  AckTracker& operator=(const AckTracker&) = delete;

  // A new input whose reading starts at `start_offset` (a resumed checkpoint,
  // or 0); its watermark starts there. Ids are 0, 1, 2... in call order.
  InputId AddInput(uint64_t start_offset = 0);

  // The next chunk of `input`, covering bytes [begin, end) with `units` units
  // not final yet. Chunks come in byte order (begin >= the previous end; a
  // gap is bytes that need no outcome, such as a skipped overlong line). A
  // chunk with zero units is complete at once. The ref stays valid until the
  // chunk's last unit is acknowledged; the tracker must outlive every ref
  // still travelling (destroy it after the pipeline has joined).
  absl::StatusOr<ChunkRef> Register(InputId id, uint64_t begin, uint64_t end, uint64_t units);

  // Adds units to a chunk that still has at least one unit in flight held by
  // the caller: lets the source register a chunk with a single "parse" unit
  // and the parser replace it with the records it produced
  // (AddUnits(ref, records) then Ack(ref, 1)), so nobody counts lines twice.
  static void AddUnits(ChunkRef ref, uint64_t n);

  // Marks `n` units of the chunk final. Acknowledging more units than were
  // registered or added is a caller bug (the record may already be gone).
  static void Ack(ChunkRef ref, uint64_t n);

  // End of the longest fully acknowledged prefix of the input's chunks.
  uint64_t Watermark(InputId id) const;
  // Bytes registered past the watermark: read but not yet final.
  uint64_t UnackedBytes(InputId id) const;
  // Chunks registered but not yet behind the watermark.
  size_t PendingChunks(InputId id) const;
  // The watermark of every input, indexed by id.
  std::vector<uint64_t> Watermarks() const;

  // Grows by one each time any watermark moves. A checkpoint writer waits for
  // it to differ from the last version it wrote, or for `timeout`, or for
  // StopWaiting(); returns the current version.
  uint64_t version() const;
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Makes every WaitForChange, current and later, return at once (shutdown:
  // the writer's last write must not wait out its interval).
  void StopWaiting();

 private:
  void Complete(ack_internal::Input* input);
  static bool AdvanceLocked(ack_internal::Input* input);
  const ack_internal::Input& InputAt(InputId id) const;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::deque<std::unique_ptr<ack_internal::Input>> inputs_;
  uint64_t version_ = 0;
  bool stop_waiting_ = false;
};

// The units a batch carries, per chunk, in record order: (chunk, count)
// runs. One run per chunk the batch touches, so acknowledging a batch costs
// one atomic per (batch, chunk) pair. Not thread-safe (one batch, one owner).
class AckSpans {
 public:
  struct Span {
    ChunkRef ref;
    uint64_t units = 0;
  };

  // Appends `units` records of `ref`; extends the last run when it is the
  // same chunk.
  void Append(ChunkRef ref, uint64_t units);
  // The spans of records [first, last) of this batch, e.g. one half of a
  // batch split after an HTTP 413.
  AckSpans Slice(uint64_t first, uint64_t last) const;
  // Acknowledges every run and empties the list, so a second call (a retry
  // that ends twice, a batch both spooled and later delivered) acks nothing.
  void AckAll();

  uint64_t units() const;
  const std::vector<Span>& spans() const { return spans_; }
  bool empty() const { return spans_.empty(); }

 private:
  std::vector<Span> spans_;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_ACK_TRACKER_H_
