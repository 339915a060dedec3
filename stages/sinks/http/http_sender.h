// The one thread that talks to the API: drives curl multi with up to
// `max_in_flight` POSTs at once over kept-alive connections, retries what can
// be retried, splits on 413, and records every record's fate in Outcomes.
//
// It holds at most `max_in_flight` batches in memory (sending, waiting to
// retry, or halves of a split) and takes no new batch from its queue while
// full, so an API that is down or slow holds the input back instead of
// growing memory. With a spool (a BatchStore), batches that cannot be
// delivered go to disk: while the API has been failing for longer than
// `retry_max_duration`, and at the drain deadline; they are replayed, oldest
// first, as soon as the API answers again (and at the next start).
#ifndef NF2INGEST_STAGES_SINKS_HTTP_HTTP_SENDER_H_
#define NF2INGEST_STAGES_SINKS_HTTP_HTTP_SENDER_H_

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/encode/batch.h"
#include "stages/sinks/http/retry_policy.h"
#include "stages/sinks/http/spool.h"

namespace nf2 {

struct SenderOptions {
  std::string ingest_url;  // API + "/v1/ingest"
  std::string key;         // Bearer token; never logged
  std::string run_id;      // prefix of X-Batch-Id
  int max_in_flight = 4;
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration retry_initial = absl::Milliseconds(500);
  absl::Duration retry_max = absl::Seconds(30);
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
  // Where to record request metrics (not owned); null records none.
  pipeline::MetricsRegistry* metrics = nullptr;
};

struct SenderStats {
  uint64_t requests = 0;
  uint64_t retries = 0;
  uint64_t splits = 0;
  uint64_t replayed_delivered = 0;  // records from an earlier run's spool
  uint64_t replayed_rejected = 0;
  uint64_t dead_lettered = 0;          // batches written to the dead-letter store
  std::map<long, uint64_t> by_status;  // 0 = no answer
};

class HttpSender {
 public:
  using BatchQueue = pipeline::BoundedQueue<Batch>;

  // `splitter` re-encodes the halves of a batch refused with 413.
  HttpSender(SenderOptions options, BatchQueue* in, BatchEncoder* splitter,
             pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown);
  ~HttpSender();

  // Runs until the queue is closed and every batch has an outcome (and the
  // spool has been replayed), or the drain deadline (or a second stop
  // request) ends the wait.
  void Run();

  // Wakes Run() from another thread (e.g. when a batch is queued).
  void Wake();

  SenderStats stats() const;

 private:
  struct Request;
  using Clock = std::chrono::steady_clock;

  void StartRequest(std::unique_ptr<Batch> batch);
  void Finish(CURL* easy, CURLcode result);
  // Decides a batch's fate from the API's answer (`retry_after`: the
  // Retry-After header, empty when absent).
  void Resolve(std::unique_ptr<Batch> batch, long status, const std::string& answer,
               const std::string& retry_after);
  void Reject(std::unique_ptr<Batch> batch, long status, const std::string& answer);
  void ScheduleRetry(std::unique_ptr<Batch> batch, absl::Duration delay);
  // Admits a batch from the queue; false when it must wait (spool full).
  bool Admit(std::unique_ptr<Batch>& batch);
  // Puts the batch in the spool (if not there) and forgets it in memory.
  bool Evict(std::unique_ptr<Batch>& batch, std::string_view why);
  // Loads the oldest spool entry not in memory; null when there is none.
  std::unique_ptr<Batch> NextFromSpool();
  bool SpoolHasWork() const;
  bool InOutage(Clock::time_point now) const;
  void Abandon(std::string_view why);
  void Forget(const Batch& batch);
  size_t Holding() const { return active_.size() + waiting_.size() + ready_.size(); }
  // Metrics hooks: all no-ops without a registry. Per request, never per record.
  void CountRequest(long status, Clock::duration took);
  void CountRetry(long status, bool auth);

  // Instruments resolved once (null without a registry).
  pipeline::LogLinearHistogram* request_us_ = nullptr;
  pipeline::Gauge* in_flight_ = nullptr;
  pipeline::Gauge* held_ = nullptr;
  pipeline::Gauge* last_success_gauge_ = nullptr;
  pipeline::Counter* splits_ = nullptr;

  SenderOptions options_;
  BatchQueue* in_;
  BatchEncoder* splitter_;
  pipeline::Outcomes* outcomes_;
  pipeline::Shutdown* shutdown_;
  RetryPolicy retry_policy_;
  CURLM* multi_ = nullptr;
  std::string auth_header_;

  std::map<CURL*, std::unique_ptr<Request>> active_;
  std::multimap<Clock::time_point, std::unique_ptr<Batch>> waiting_;  // retries by due time
  std::deque<std::unique_ptr<Batch>> ready_;                          // split halves, replays
  std::unique_ptr<Batch> blocked_;  // admitted from the queue, waiting for spool space
  std::vector<CURL*> idle_handles_;
  bool input_closed_ = false;

  // Spool bookkeeping.
  std::set<uint64_t> in_memory_;               // store ids of batches held in memory
  std::set<uint64_t> tried_;                   // replay mode: ids already tried
  std::map<uint64_t, uint64_t> spooled_here_;  // store id -> records, written by this run
  Clock::time_point last_success_;             // or the start
  bool failing_ = false;                       // the last answer was a failure

  mutable std::mutex stats_mu_;
  SenderStats stats_;
};

// GET {api}/v1/health with the key. PermissionDenied when the API refuses
// the key (401/403), Unavailable when it cannot be reached or answers
// otherwise; the message never holds the key.
absl::Status CheckApiHealth(const std::string& api, const std::string& key, absl::Duration timeout);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SINKS_HTTP_HTTP_SENDER_H_
