// The one thread that talks to the API: drives curl multi with up to
// `max_in_flight` POSTs at once over kept-alive connections, retries what can
// be retried, splits on 413, and records every record's fate in Outcomes.
//
// It holds at most `max_in_flight` batches (sending, waiting to retry, or
// halves of a split) and takes no new batch from its queue while full, so an
// API that is down or slow holds the input back instead of growing memory.
#ifndef NF2INGEST_STAGES_HTTP_SENDER_H_
#define NF2INGEST_STAGES_HTTP_SENDER_H_

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/batch.h"
#include "stages/retry_policy.h"

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
};

struct SenderStats {
  uint64_t requests = 0;
  uint64_t retries = 0;
  uint64_t splits = 0;
  std::map<long, uint64_t> by_status;  // 0 = no answer
};

class HttpSender {
 public:
  using BatchQueue = pipeline::BoundedQueue<Batch>;

  // `splitter` re-encodes the halves of a batch refused with 413.
  HttpSender(SenderOptions options, BatchQueue* in, BatchEncoder* splitter,
             pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown);
  ~HttpSender();

  // Runs until the queue is closed and every batch has an outcome, or the
  // drain deadline (or a second stop request) ends the wait.
  void Run();

  // Wakes Run() from another thread (e.g. when a batch is queued).
  void Wake();

  SenderStats stats() const;

 private:
  struct Request;
  using Clock = std::chrono::steady_clock;

  void StartRequest(std::unique_ptr<Batch> batch);
  void Finish(CURL* easy, CURLcode result);
  void ScheduleRetry(std::unique_ptr<Batch> batch, absl::Duration delay);
  void Abandon(std::string_view why);
  size_t Holding() const { return active_.size() + waiting_.size() + ready_.size(); }

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
  std::deque<std::unique_ptr<Batch>> ready_;                           // split halves
  std::vector<CURL*> idle_handles_;
  bool input_closed_ = false;

  mutable std::mutex stats_mu_;
  SenderStats stats_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_HTTP_SENDER_H_
