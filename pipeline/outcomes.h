// The ledger of what became of every input line. Each line read is counted in
// exactly one outcome, so `lines_read == delivered + filtered + invalid +
// rejected + spooled + undelivered` once the pipeline has drained.
#ifndef NF2INGEST_PIPELINE_OUTCOMES_H_
#define NF2INGEST_PIPELINE_OUTCOMES_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace nf2::pipeline {

struct OutcomeSnapshot {
  uint64_t lines_read = 0;
  uint64_t delivered = 0;
  uint64_t filtered = 0;
  uint64_t invalid = 0;
  uint64_t rejected = 0;
  uint64_t spooled = 0;
  uint64_t undelivered = 0;

  uint64_t Accounted() const {
    return delivered + filtered + invalid + rejected + spooled + undelivered;
  }
  bool Balanced() const { return Accounted() == lines_read; }
  // "lines=N delivered=N filtered=N invalid=N rejected=N spooled=N undelivered=N"
  std::string ToString() const;
};

class Outcomes {
 public:
  void AddLines(uint64_t n) { lines_read_.fetch_add(n, std::memory_order_relaxed); }
  void AddDelivered(uint64_t n) { delivered_.fetch_add(n, std::memory_order_relaxed); }
  void AddFiltered(uint64_t n) { filtered_.fetch_add(n, std::memory_order_relaxed); }
  void AddInvalid(uint64_t n) { invalid_.fetch_add(n, std::memory_order_relaxed); }
  void AddRejected(uint64_t n) { rejected_.fetch_add(n, std::memory_order_relaxed); }
  void AddSpooled(uint64_t n) { spooled_.fetch_add(n, std::memory_order_relaxed); }
  void AddUndelivered(uint64_t n) { undelivered_.fetch_add(n, std::memory_order_relaxed); }

  OutcomeSnapshot Snapshot() const;

 private:
  std::atomic<uint64_t> lines_read_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> filtered_{0};
  std::atomic<uint64_t> invalid_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> spooled_{0};
  std::atomic<uint64_t> undelivered_{0};
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_OUTCOMES_H_
