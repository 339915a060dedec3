#include "stages/sinks/http/http_sender.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"
#include "pipeline/log.h"

namespace nf2 {
namespace {

constexpr size_t kMaxAnswerBytes = 4096;  // of an error answer, kept for the log

size_t CollectBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * nmemb;
  if (body->size() < kMaxAnswerBytes)
    body->append(data, std::min(n, kMaxAnswerBytes - body->size()));
  return n;
}

size_t CollectHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* retry_after = static_cast<std::string*>(user);
  absl::string_view line(data, size * nmemb);
  if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
    *retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  return size * nmemb;
}

// An answer body made safe for one log line.
std::string Snippet(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 300)) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return out;
}

std::string Secs(absl::Duration d) { return absl::StrCat(absl::ToDoubleSeconds(d)); }

}  // namespace

struct HttpSender::Request {
  std::unique_ptr<Batch> batch;
  curl_slist* headers = nullptr;
  std::string answer;
  std::string retry_after;
  Clock::time_point started;
};

HttpSender::HttpSender(SenderOptions options, BatchQueue* in, BatchEncoder* splitter,
                       pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown)
    : options_(std::move(options)),
      in_(in),
      splitter_(splitter),
      outcomes_(outcomes),
      shutdown_(shutdown),
      retry_policy_(options_.retry_initial, options_.retry_max, std::random_device{}()),
      multi_(curl_multi_init()),
      auth_header_("Authorization: Bearer " + options_.key) {
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_in_flight));
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
  if (pipeline::MetricsRegistry* m = options_.metrics) {
    request_us_ = m->GetHistogram(
        "nf2ingest_request_duration_seconds", "Time from sending a POST to its answer.", {}, 1e-6,
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
    in_flight_ = m->GetGauge("nf2ingest_in_flight_requests", "POST requests awaiting an answer.");
    held_ = m->GetGauge("nf2ingest_sender_batches_held",
                        "Batches the sender holds: in flight, waiting to retry or ready.");
    last_success_gauge_ = m->GetGauge("nf2ingest_last_success_timestamp_seconds",
                                      "Unix time of the last 2xx answer (0 = none yet).");
    splits_ = m->GetCounter("nf2ingest_batch_splits_total", "Batches split in two after a 413.");
  }
}

void HttpSender::CountRequest(long status, Clock::duration took) {
  if (!options_.metrics) return;
  in_flight_->Set(static_cast<double>(active_.size()));
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  request_us_->Record(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
  // A lookup per request (not per record): the set of codes is open-ended.
  options_.metrics
      ->GetCounter("nf2ingest_requests_total", "POST requests by HTTP status (none = no answer).",
                   {{"code", status == 0 ? "none" : absl::StrCat(status)}})
      ->Add();
}

void HttpSender::CountRetry(long status, bool auth) {
  if (!options_.metrics) return;
  const std::string reason = status == 0 ? "network"
                             : auth      ? "auth"
                                         : absl::StrCat("http_", status);
  options_.metrics
      ->GetCounter("nf2ingest_retries_total", "Requests scheduled again, by the failure's kind.",
                   {{"reason", reason}})
      ->Add();
}

HttpSender::~HttpSender() {
  for (auto& [easy, req] : active_) {
    curl_multi_remove_handle(multi_, easy);
    curl_slist_free_all(req->headers);
    curl_easy_cleanup(easy);
  }
  for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  // The key is a secret: do not leave it in freed memory longer than needed.
  std::fill(auth_header_.begin(), auth_header_.end(), '\0');
}

void HttpSender::Wake() { curl_multi_wakeup(multi_); }

SenderStats HttpSender::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void HttpSender::StartRequest(std::unique_ptr<Batch> batch) {
  if (options_.discard_transport) {
    ++batch->attempts;
    Resolve(std::move(batch), 202, "", "");
    return;
  }
  CURL* easy;
  if (!idle_handles_.empty()) {
    easy = idle_handles_.back();
    idle_handles_.pop_back();
    curl_easy_reset(easy);
  } else {
    easy = curl_easy_init();
  }
  auto req = std::make_unique<Request>();
  req->batch = std::move(batch);
  req->started = Clock::now();
  Batch& b = *req->batch;
  ++b.attempts;
  req->headers = curl_slist_append(req->headers, auth_header_.c_str());
  req->headers = curl_slist_append(req->headers, "Content-Type: application/json");
  if (b.gzipped) req->headers = curl_slist_append(req->headers, "Content-Encoding: gzip");
  req->headers = curl_slist_append(
      req->headers, absl::StrCat("X-Batch-Id: ", options_.run_id, "-", b.id).c_str());
  req->headers =
      curl_slist_append(req->headers, absl::StrCat("X-Batch-Records: ", b.records()).c_str());
  req->headers = curl_slist_append(req->headers, "Expect:");  // no 100-continue round trip

  const std::string_view wire = b.wire();
  curl_easy_setopt(easy, CURLOPT_URL, options_.ingest_url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, wire.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(wire.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &req->answer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &req->retry_after);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_multi_add_handle(multi_, easy);
  active_.emplace(easy, std::move(req));
  if (in_flight_) in_flight_->Set(static_cast<double>(active_.size()));
}

void HttpSender::ScheduleRetry(std::unique_ptr<Batch> batch, absl::Duration delay) {
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.retries;
  }
  auto due = Clock::now() + absl::ToChronoMilliseconds(delay);
  waiting_.emplace(due, std::move(batch));
}

void HttpSender::Forget(const Batch& batch) {
  if (batch.store_id != 0) in_memory_.erase(batch.store_id);
}

bool HttpSender::InOutage(Clock::time_point now) const {
  return options_.spool != nullptr && !options_.replay_only && failing_ &&
         now - last_success_ > absl::ToChronoNanoseconds(options_.retry_max_duration);
}

bool HttpSender::Evict(std::unique_ptr<Batch>& batch, std::string_view why) {
  if (batch->unspoolable) return false;
  if (batch->store_id == 0) {
    auto id = options_.spool->Put(*batch);
    if (!id.ok()) {
      if (!absl::IsResourceExhausted(id.status())) {
        // Waiting cannot help (too large, or I/O trouble): keep it in
        // memory, retrying, and say so once.
        batch->unspoolable = true;
        LogError(absl::StrCat("[SPOOL] cannot write batch ", batch->id,
                              " (kept in memory): ", id.status().message()));
      }
      return false;  // keep it in memory: backpressure
    }
    batch->store_id = *id;
  }
  if (!batch->earlier_run) spooled_here_[batch->store_id] = batch->records();
  LogWarn(absl::StrCat("[SPOOL] ", Av(why), ": batch ", batch->id, " (", batch->records(),
                       " records) kept in ", options_.spool->dir()));
  Forget(*batch);
  batch.reset();
  return true;
}

bool HttpSender::Admit(std::unique_ptr<Batch>& batch) {
  if (options_.spool && options_.durable && batch->store_id == 0) {
    auto id = options_.spool->Put(*batch);
    if (!id.ok()) {
      if (absl::IsResourceExhausted(id.status())) return false;  // wait for space
      LogError(
          absl::StrCat("[SPOOL] cannot write batch ", batch->id,
                       " before sending (sent without a copy on disk): ", id.status().message()));
    } else {
      batch->store_id = *id;
      in_memory_.insert(*id);
    }
  }
  return true;
}

bool HttpSender::SpoolHasWork() const {
  if (!options_.spool) return false;
  for (uint64_t id : options_.spool->Ids()) {
    if (!in_memory_.count(id) && !tried_.count(id)) return true;
  }
  return false;
}

std::unique_ptr<Batch> HttpSender::NextFromSpool() {
  for (uint64_t id : options_.spool->Ids()) {
    if (in_memory_.count(id) || tried_.count(id)) continue;
    auto stored = options_.spool->Read(id);
    if (!stored.ok()) {
      tried_.insert(id);  // moved aside or vanished; the store logged why
      continue;
    }
    auto batch = std::make_unique<Batch>(std::move(stored->batch));
    batch->store_id = id;
    auto mine = spooled_here_.find(id);
    batch->earlier_run = mine == spooled_here_.end();
    if (!batch->earlier_run) spooled_here_.erase(mine);
    in_memory_.insert(id);
    if (options_.replay_only) tried_.insert(id);
    return batch;
  }
  return nullptr;
}

void HttpSender::Finish(CURL* easy, CURLcode result) {
  auto it = active_.find(easy);
  if (it == active_.end()) return;
  std::unique_ptr<Request> req = std::move(it->second);
  active_.erase(it);
  curl_multi_remove_handle(multi_, easy);
  curl_slist_free_all(req->headers);
  idle_handles_.push_back(easy);

  long status = 0;
  if (result == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.requests;
    ++stats_.by_status[status];
  }
  CountRequest(status, Clock::now() - req->started);
  if (status == 0) {
    req->answer = curl_easy_strerror(result);
  }
  Resolve(std::move(req->batch), status, req->answer, req->retry_after);
}

void HttpSender::Reject(std::unique_ptr<Batch> batch, long status, const std::string& answer) {
  const size_t n = batch->records();
  std::string where = "not kept (no --dead-letter-dir)";
  if (options_.replay_only) {
    where = "left in " + options_.spool->dir();
  } else {
    if (options_.dead_letters) {
      auto id = options_.dead_letters->Put(
          *batch,
          absl::StrCat("HTTP ", status, " at ", absl::FormatTime(absl::Now()), "\n", answer));
      if (id.ok()) {
        where = options_.dead_letters->PathOf(*id);
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.dead_lettered;
      } else {
        where = absl::StrCat("NOT kept: ", id.status().message());
      }
    }
    if (batch->store_id != 0) options_.spool->Remove(batch->store_id).IgnoreError();
  }
  Forget(*batch);
  if (batch->earlier_run) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.replayed_rejected += n;
  } else {
    outcomes_->AddRejected(n);
  }
  LogError(absl::StrCat("[INGEST][ERR] HTTP ", status, " for batch ", options_.run_id, "-",
                        batch->id, " (", n, " records): rejected, not retried: ", Snippet(answer),
                        " -> ", where));
}

void HttpSender::Resolve(std::unique_ptr<Batch> batch, long status, const std::string& answer,
                         const std::string& retry_after) {
  const size_t n = batch->records();
  const auto now = Clock::now();
  const std::string what = absl::StrCat("batch ", options_.run_id, "-", batch->id, " (", n,
                                        " records, attempt ", batch->attempts, ")");
  const Disposition d = ClassifyAnswer(status, options_.retry_on);
  if (d == Disposition::kDelivered || d == Disposition::kSplit || d == Disposition::kReject) {
    failing_ = false;  // the API answered on purpose
    last_success_ = now;
  } else {
    failing_ = true;
  }
  switch (d) {
    case Disposition::kDelivered:
      if (batch->store_id != 0) options_.spool->Remove(batch->store_id).IgnoreError();
      Forget(*batch);
      if (batch->earlier_run) {
        std::lock_guard<std::mutex> lock(stats_mu_);
        stats_.replayed_delivered += n;
      } else {
        outcomes_->AddDelivered(n);
      }
      if (last_success_gauge_) {
        last_success_gauge_->Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
      }
      LogInfo(absl::StrCat("[INGEST] sent ", n, " status=", status));
      return;
    case Disposition::kSplit: {
      if (n < 2) {
        Reject(std::move(batch), status, answer);
        return;
      }
      {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.splits;
      }
      if (splits_) splits_->Add();
      LogWarn(absl::StrCat("[INGEST][ERR] HTTP 413 for ", what, ": ", Snippet(answer),
                           "; splitting in two"));
      std::vector<std::unique_ptr<Batch>> halves;
      splitter_->Split(*batch, &halves);
      for (auto& h : halves) {
        h->earlier_run = batch->earlier_run;
        // A durable batch stays durable: its halves go to disk before the
        // whole is removed.
        if (batch->store_id != 0 && !options_.replay_only) {
          auto id = options_.spool->Put(*h);
          if (id.ok()) {
            h->store_id = *id;
            in_memory_.insert(*id);
          }
        }
        ready_.push_back(std::move(h));
      }
      if (batch->store_id != 0 && !options_.replay_only) {
        options_.spool->Remove(batch->store_id).IgnoreError();
      }
      Forget(*batch);
      return;
    }
    case Disposition::kRetry:
    case Disposition::kAuthRetry: {
      if (batch->first_failure == Clock::time_point()) batch->first_failure = now;
      absl::Duration delay = retry_policy_.Backoff(batch->attempts);
      if (d == Disposition::kAuthRetry) delay = retry_policy_.max();
      if (auto ra = ParseRetryAfter(retry_after, absl::Now())) delay = *ra;
      if (d == Disposition::kAuthRetry) {
        LogError(absl::StrCat("[INGEST][ERR] HTTP ", status,
                              ": the API refused the key (check KEY / --key-file); keeping ", what,
                              ", retry in ", Secs(delay), "s"));
      } else if (status == 0) {
        LogWarn(absl::StrCat("[INGEST][ERR] Request failed: ", answer, " for ", what, "; retry in ",
                             Secs(delay), "s"));
      } else {
        LogWarn(absl::StrCat("[INGEST][ERR] HTTP ", status, " for ", what, ": ", Snippet(answer),
                             "; retry in ", Secs(delay), "s"));
      }
      // During an outage, keep one batch probing and the rest on disk.
      if (InOutage(now) && Holding() > 0 &&
          Evict(batch, "API failing for longer than --retry-max-duration")) {
        return;
      }
      CountRetry(status, d == Disposition::kAuthRetry);
      ScheduleRetry(std::move(batch), delay);
      return;
    }
    case Disposition::kReject:
      Reject(std::move(batch), status, answer);
      return;
  }
}

void HttpSender::Abandon(std::string_view why) {
  std::vector<std::unique_ptr<Batch>> left;
  for (auto& [easy, req] : active_) {
    curl_multi_remove_handle(multi_, easy);
    curl_slist_free_all(req->headers);
    curl_easy_cleanup(easy);
    left.push_back(std::move(req->batch));
  }
  active_.clear();
  for (auto& [due, b] : waiting_) left.push_back(std::move(b));
  waiting_.clear();
  for (auto& b : ready_) left.push_back(std::move(b));
  ready_.clear();
  if (blocked_) left.push_back(std::move(blocked_));
  uint64_t spooled = 0, undelivered = 0;
  auto settle = [&](std::unique_ptr<Batch> b) {
    if (b->earlier_run) return;  // still in the spool it came from
    const size_t n = b->records();
    if (options_.spool && !options_.replay_only && b->store_id != 0) {
      spooled += n;  // durable: already on disk
      Forget(*b);
    } else if (!options_.spool || options_.replay_only || !Evict(b, why)) {
      undelivered += n;
    }  // else evicted: counted with spooled_here_ below
  };
  for (auto& b : left) settle(std::move(b));
  // Everything still queued upstream ends here too, so the pipeline drains.
  while (!input_closed_) {
    std::unique_ptr<Batch> b = in_->Pop();
    if (!b) {
      input_closed_ = true;
      break;
    }
    settle(std::move(b));
  }
  // Batches this run wrote to the spool earlier are part of its outcome.
  for (const auto& [id, n] : spooled_here_) spooled += n;
  spooled_here_.clear();
  if (spooled > 0) {
    outcomes_->AddSpooled(spooled);
    LogWarn(absl::StrCat("[SPOOL] ", Av(why), ": ", spooled, " records kept in ",
                         options_.spool->dir(), " for the next run"));
  }
  if (undelivered > 0) {
    outcomes_->AddUndelivered(undelivered);
    LogError(absl::StrCat("[INGEST][ERR] ", Av(why), ": ", undelivered, " records undelivered"));
  }
}

void HttpSender::Run() {
  last_success_ = Clock::now();
  while (true) {
    const auto now = Clock::now();
    if (shutdown_->stop_now()) {
      Abandon("stopped at once on a second signal");
      break;
    }
    if (auto deadline = shutdown_->DrainDeadline(); deadline && now >= *deadline) {
      Abandon("drain deadline passed");
      break;
    }
    const auto slots = static_cast<size_t>(options_.max_in_flight);
    // Retries whose time has come go first, then split halves, then the
    // spool (oldest first) while the API answers, then new work.
    while (!waiting_.empty() && waiting_.begin()->first <= now && active_.size() < slots) {
      auto node = waiting_.extract(waiting_.begin());
      StartRequest(std::move(node.mapped()));
    }
    while (!ready_.empty() && active_.size() < slots) {
      StartRequest(std::move(ready_.front()));
      ready_.pop_front();
    }
    const bool outage = InOutage(now);
    while (!outage && Holding() < slots && SpoolHasWork()) {
      auto b = NextFromSpool();
      if (!b) break;
      StartRequest(std::move(b));
    }
    while (!input_closed_ && Holding() < slots) {
      if (!blocked_) {
        if (!in_->TryPop(blocked_)) break;
        if (!blocked_) {
          input_closed_ = true;
          break;
        }
      }
      if (outage) {
        // The API has been down for a while: new batches wait on disk.
        if (Evict(blocked_, "API failing for longer than --retry-max-duration")) continue;
        break;  // spool full: backpressure
      }
      if (!Admit(blocked_)) break;  // durable, spool full: backpressure
      StartRequest(std::move(blocked_));
    }
    if (input_closed_ && Holding() == 0 && !blocked_ && !SpoolHasWork()) {
      Abandon("finished");  // accounts for batches this run left in the spool
      break;
    }

    if (held_) held_->Set(static_cast<double>(Holding() + (blocked_ ? 1 : 0)));
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    bool finished_any = false;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Finish(msg->easy_handle, msg->data.result);
      finished_any = true;
    }
    if (finished_any) continue;  // free slots: refill before sleeping

    // Sleep in curl until a socket is ready, a batch is queued (Wake), the
    // next retry is due, or the drain deadline comes.
    auto wait = std::chrono::milliseconds(1000);
    if (blocked_ || outage) wait = std::chrono::milliseconds(100);  // spool space may free up
    if (!waiting_.empty()) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                waiting_.begin()->first - Clock::now()) +
                                std::chrono::milliseconds(1));
    }
    if (auto deadline = shutdown_->DrainDeadline()) {
      wait = std::min(
          wait, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()) +
                    std::chrono::milliseconds(1));
    }
    if (shutdown_->stop_requested()) wait = std::min(wait, std::chrono::milliseconds(100));
    if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
  if (held_) held_->Set(0);  // everything has an outcome now
  if (in_flight_) in_flight_->Set(0);
}

namespace {
size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }
}  // namespace

absl::Status CheckApiHealth(const std::string& api, const std::string& key,
                            absl::Duration timeout) {
  CURL* easy = curl_easy_init();
  const std::string auth = "Authorization: Bearer " + key;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  const std::string url = api + "/v1/health";
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  }
  if (status == 401 || status == 403) {
    return absl::PermissionDeniedError(absl::StrCat("the API refused the key (HTTP ", status,
                                                    " from ", url, "); check KEY / --key-file"));
  }
  if (status < 200 || status >= 300) {
    return absl::UnavailableError(absl::StrCat(url, " answered HTTP ", status));
  }
  return absl::OkStatus();
}

}  // namespace nf2
