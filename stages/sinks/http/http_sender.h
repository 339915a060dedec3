// The one thread that talks to the API: keeps up to `max_in_flight` POSTs
// going at once (HttpTransport; with adaptive_in_flight, up to the limit a
// ConcurrencyLimit finds from the answers), retries what can be retried,
// splits on 413, and records every record's fate in Outcomes.
//
// It holds at most `max_held` batches in memory (sending, waiting to retry,
// or halves of a split) and takes no new batch from its queue while full, so
// an API that is down or slow holds the input back instead of growing
// memory. A batch waiting for its retry holds memory but no request slot, so
// batches the API told to come back later do not stop the others. With a
// spool (a BatchStore), batches that cannot be delivered go to disk: while
// the API has been failing for longer than `retry_max_duration`, and at the
// drain deadline; they are replayed, oldest first, as soon as the API answers
// again (and at the next start).
//
// Every count it keeps (requests, retries, splits, dead letters, replays,
// spool write errors) lives in the metrics registry and nowhere else;
// SenderStats is a view computed from it.
#ifndef NF2INGEST_STAGES_SINKS_HTTP_HTTP_SENDER_H_
#define NF2INGEST_STAGES_SINKS_HTTP_HTTP_SENDER_H_

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/log.h"
#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/encode/batch.h"
#include "stages/sinks/http/concurrency_limit.h"
#include "stages/sinks/http/http_transport.h"
#include "stages/sinks/http/retry_policy.h"
#include "stages/sinks/http/spool.h"

namespace nf2 {

struct SenderOptions {
  std::string ingest_url;  // API + "/v1/ingest"
  std::string key;         // Bearer token; never logged
  std::string run_id;      // prefix of X-Batch-Id
  // With adaptive_in_flight, the upper bound of the adaptive limit.
  int max_in_flight = 4;
  // MAX_IN_FLIGHT=auto: the limit follows the API's capacity (ConcurrencyLimit).
  bool adaptive_in_flight = false;
  HttpConnectionOptions connection;  // TLS, proxy, HTTP version
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration retry_initial = absl::Milliseconds(500);
  absl::Duration retry_max = absl::Seconds(30);
  // The longest wait a Retry-After answer is obeyed for; unset = retry_max.
  std::optional<absl::Duration> retry_after_max;
  // Batches held in memory at once (in flight, waiting to retry, halves);
  // 0 = twice max_in_flight.
  int max_held = 0;
  RetryOn retry_on;
  // Optional stores (not owned). Without a spool nothing goes to disk and
  // what is unsent at the drain deadline is undelivered.
  BatchStore* spool = nullptr;
  BatchStore* dead_letters = nullptr;
  // Write every batch to the spool before its first send; remove it on 2xx.
  bool durable = false;
  // With a spool: once no request has succeeded for this long, new batches
  // go straight to the spool (one request keeps probing the API).
  absl::Duration retry_max_duration = absl::Seconds(60);
  // Replaying a dead-letter or spool directory (`spool`): rejected batches
  // stay where they are instead of moving to the dead-letter store.
  bool replay_only = false;
  // Benchmarks only: every batch counts as delivered without any I/O, so the
  // rest of the pipeline can be measured alone.
  bool discard_transport = false;
  // The registry that holds the sender's counts (not owned); null: the
  // sender keeps its own (stats() still works, nothing is exported).
  pipeline::MetricsRegistry* metrics = nullptr;
};

// The names of the sender's series in the registry, for readers elsewhere
// (the /healthz handler, the live view).
inline constexpr char kSpoolWriteErrorsMetric[] = "nf2ingest_spool_write_errors_total";
// 1 while writing to the spool fails for a reason other than its own size
// limit (a full disk, I/O errors), 0 once a write succeeds again.
inline constexpr char kSpoolWriteFailingMetric[] = "nf2ingest_spool_write_failing";
// The number of requests the sender may have in flight now (fixed, or
// adaptive with MAX_IN_FLIGHT=auto).
inline constexpr char kConcurrencyLimitMetric[] = "nf2ingest_concurrency_limit";

// The [STATS] view of the sender's series in a registry.
struct SenderStats {
  uint64_t requests = 0;
  uint64_t retries = 0;
  uint64_t splits = 0;
  uint64_t replayed_delivered = 0;  // records from an earlier run's spool
  uint64_t replayed_rejected = 0;
  uint64_t dead_lettered = 0;          // batches written to the dead-letter store
  uint64_t spool_write_errors = 0;     // batches the spool could not take (not full)
  std::map<long, uint64_t> by_status;  // 0 = no answer
};
SenderStats SenderStatsFrom(const pipeline::MetricsRegistry& registry);

class HttpSender {
 public:
  using BatchQueue = pipeline::BoundedQueue<Batch>;

  // `splitter` re-encodes the halves of a batch refused with 413.
  HttpSender(SenderOptions options, BatchQueue* in, BatchEncoder* splitter,
             pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown);
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // Runs until the queue is closed and every batch has an outcome (and the
  // spool has been replayed), or the drain ends the wait: after a stop
  // request at the drain deadline (or a second request), after the end of
  // the input once no request has succeeded for the drain timeout.
  void Run();

  // Wakes Run() from another thread (e.g. when a batch is queued).
  void Wake();

  // Computed from the registry (the sender's own one without options.metrics).
  SenderStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Instruments;

  // One turn of Run: send what may be sent, then take the answers.
  void StartWork(Clock::time_point now);
  void StartDueRetries(Clock::time_point now);
  void StartReady();
  void StartFromSpool();
  void AdmitInput(bool outage);
  bool CollectAnswers();
  void WaitForWork(bool outage);
  std::optional<Clock::time_point> DrainDeadline() const;
  bool Finished() const;

  void StartRequest(std::unique_ptr<Batch> batch);
  void OnAnswer(HttpAnswer answer);
  // Decides a batch's fate from the API's answer.
  void Resolve(std::unique_ptr<Batch> batch, const HttpAnswer& answer);
  void NoteApiState(Disposition d, Clock::time_point now);
  void Deliver(std::unique_ptr<Batch> batch, long status);
  void FinishReplayPart(const Batch& batch);
  void Split(std::unique_ptr<Batch> batch, const HttpAnswer& answer);
  void Retry(std::unique_ptr<Batch> batch, Disposition d, const HttpAnswer& answer,
             Clock::time_point now);
  absl::Duration RetryDelay(Disposition d, const Batch& batch, const std::string& retry_after);
  void Reject(std::unique_ptr<Batch> batch, long status, const std::string& answer);
  std::string DeadLetter(const Batch& batch, long status, const std::string& answer);
  void ScheduleRetry(std::unique_ptr<Batch> batch, absl::Duration delay);
  // Admits a batch from the queue; false when it must wait (spool full).
  bool Admit(std::unique_ptr<Batch>& batch);
  // Puts the batch in the spool (if not there) and forgets it in memory.
  bool Evict(std::unique_ptr<Batch>& batch, std::string_view why);
  // Counts a spool write that failed for a reason other than the spool's own
  // limit, and reports it (the first ten, then one every ten seconds).
  void NoteSpoolWriteError(const Batch& batch, const absl::Status& status, std::string_view then);
  void NoteSpoolWriteOk();
  // Loads the oldest spool entry not in memory; null when there is none.
  std::unique_ptr<Batch> NextFromSpool();
  bool SpoolHasWork() const;
  bool InOutage(Clock::time_point now) const;
  void Abandon(std::string_view why);
  // Gives a batch left at the end its outcome (spooled or undelivered).
  void Settle(std::unique_ptr<Batch> b, std::string_view why, uint64_t* spooled,
              uint64_t* undelivered);
  void Forget(const Batch& batch);
  size_t Holding() const { return active_.size() + waiting_.size() + ready_.size(); }
  size_t Slots() const { return static_cast<size_t>(limit_.limit()); }
  // Feeds an answer to the adaptive limit (a no-op with a fixed one).
  void AdaptLimit(const HttpAnswer& answer, size_t in_flight);
  bool HasRoom() const { return active_.size() < Slots() && Holding() < max_held_; }
  // The answer with the key masked, cut for one log line.
  std::string Snippet(std::string_view answer) const;
  std::string Describe(const Batch& batch) const;

  SenderOptions options_;
  BatchQueue* in_;
  BatchEncoder* splitter_;
  pipeline::Outcomes* outcomes_;
  pipeline::Shutdown* shutdown_;
  RetryPolicy retry_policy_;
  size_t max_held_;
  // The ledger: options_.metrics, or this sender's own registry without one.
  std::unique_ptr<pipeline::MetricsRegistry> own_metrics_;
  pipeline::MetricsRegistry* metrics_;
  std::unique_ptr<Instruments> m_;
  HttpTransport transport_;

  uint64_t next_tag_ = 1;
  std::map<uint64_t, std::unique_ptr<Batch>> active_;                 // by transport tag
  std::multimap<Clock::time_point, std::unique_ptr<Batch>> waiting_;  // retries by due time
  std::deque<std::unique_ptr<Batch>> ready_;                          // split halves, replays
  std::unique_ptr<Batch> blocked_;  // admitted from the queue, waiting for spool space
  bool input_closed_ = false;

  // Spool bookkeeping.
  std::set<uint64_t> in_memory_;               // store ids of batches held in memory
  std::set<uint64_t> tried_;                   // replay mode: ids already tried
  std::map<uint64_t, uint64_t> spooled_here_;  // store id -> records, written by this run
  std::map<uint64_t, size_t> parts_left_;      // replay mode: split entry -> parts unsent
  Clock::time_point last_success_;             // or the start
  bool failing_ = false;                       // the last answer was a failure
  LogThrottle spool_error_log_{10, 10.0};
  LogThrottle tls_error_log_{1, 60.0};  // a rotated certificate fails every request
  ConcurrencyLimit limit_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SINKS_HTTP_HTTP_SENDER_H_
