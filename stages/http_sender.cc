#include "stages/http_sender.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "stages/absl_compat.h"
#include "stages/log.h"

namespace nf2 {
namespace {

constexpr size_t kMaxAnswerBytes = 4096;  // of an error answer, kept for the log

size_t CollectBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * nmemb;
  if (body->size() < kMaxAnswerBytes) body->append(data, std::min(n, kMaxAnswerBytes - body->size()));
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
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_in_flight));
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
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
}

void HttpSender::ScheduleRetry(std::unique_ptr<Batch> batch, absl::Duration delay) {
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.retries;
  }
  auto due = Clock::now() + absl::ToChronoMilliseconds(delay);
  waiting_.emplace(due, std::move(batch));
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
  std::unique_ptr<Batch> batch = std::move(req->batch);
  const size_t n = batch->records();
  const std::string what = absl::StrCat("batch ", options_.run_id, "-", batch->id, " (", n,
                                        " records, attempt ", batch->attempts, ")");
  switch (ClassifyAnswer(status)) {
    case Disposition::kDelivered:
      outcomes_->AddDelivered(n);
      LogInfo(absl::StrCat("[INGEST] sent ", n, " status=", status));
      return;
    case Disposition::kSplit:
      if (n >= 2) {
        {
          std::lock_guard<std::mutex> lock(stats_mu_);
          ++stats_.splits;
        }
        LogWarn(absl::StrCat("[INGEST][ERR] HTTP 413 for ", what, ": ", Snippet(req->answer),
                             "; splitting in two"));
        std::vector<std::unique_ptr<Batch>> halves;
        splitter_->Split(*batch, &halves);
        for (auto& h : halves) ready_.push_back(std::move(h));
      } else {
        outcomes_->AddRejected(n);
        LogError(absl::StrCat("[INGEST][ERR] HTTP 413 for ", what,
                              " holding a single record; rejected: ", Snippet(req->answer)));
      }
      return;
    case Disposition::kRetry: {
      absl::Duration delay = retry_policy_.Backoff(batch->attempts);
      if (auto ra = ParseRetryAfter(req->retry_after, absl::Now())) delay = *ra;
      if (status == 0) {
        LogWarn(absl::StrCat("[INGEST][ERR] Request failed: ", curl_easy_strerror(result), " for ",
                             what, "; retry in ", Secs(delay), "s"));
      } else {
        LogWarn(absl::StrCat("[INGEST][ERR] HTTP ", status, " for ", what, ": ",
                             Snippet(req->answer), "; retry in ", Secs(delay), "s"));
      }
      ScheduleRetry(std::move(batch), delay);
      return;
    }
    case Disposition::kAuthRetry: {
      const absl::Duration delay = retry_policy_.max();
      LogError(absl::StrCat("[INGEST][ERR] HTTP ", status,
                            ": the API refused the key (check KEY / --key-file); keeping ", what,
                            ", retry in ", Secs(delay), "s"));
      ScheduleRetry(std::move(batch), delay);
      return;
    }
    case Disposition::kReject:
      outcomes_->AddRejected(n);
      LogError(absl::StrCat("[INGEST][ERR] HTTP ", status, " for ", what,
                            ": rejected, not retried: ", Snippet(req->answer)));
      return;
  }
}

void HttpSender::Abandon(std::string_view why) {
  uint64_t records = 0;
  for (auto& [easy, req] : active_) {
    curl_multi_remove_handle(multi_, easy);
    curl_slist_free_all(req->headers);
    curl_easy_cleanup(easy);
    records += req->batch->records();
  }
  active_.clear();
  for (auto& [due, b] : waiting_) records += b->records();
  waiting_.clear();
  for (auto& b : ready_) records += b->records();
  ready_.clear();
  // Everything still queued upstream ends here too, so the pipeline drains.
  while (!input_closed_) {
    std::unique_ptr<Batch> b = in_->Pop();
    if (!b) {
      input_closed_ = true;
      break;
    }
    records += b->records();
  }
  if (records > 0) {
    outcomes_->AddUndelivered(records);
    LogError(absl::StrCat("[INGEST][ERR] ", Av(why), ": ", records, " records undelivered"));
  }
}

void HttpSender::Run() {
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
    // Retries whose time has come go first, then split halves, then new work.
    while (!waiting_.empty() && waiting_.begin()->first <= now &&
           static_cast<int>(active_.size()) < options_.max_in_flight) {
      auto node = waiting_.extract(waiting_.begin());
      StartRequest(std::move(node.mapped()));
    }
    while (!ready_.empty() && static_cast<int>(active_.size()) < options_.max_in_flight) {
      StartRequest(std::move(ready_.front()));
      ready_.pop_front();
    }
    while (!input_closed_ && static_cast<int>(Holding()) < options_.max_in_flight) {
      std::unique_ptr<Batch> b;
      if (!in_->TryPop(b)) break;
      if (!b) {
        input_closed_ = true;
        break;
      }
      StartRequest(std::move(b));
    }
    if (input_closed_ && Holding() == 0) break;

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
    if (!waiting_.empty()) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                waiting_.begin()->first - Clock::now()) +
                                std::chrono::milliseconds(1));
    }
    if (auto deadline = shutdown_->DrainDeadline()) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                *deadline - Clock::now()) +
                                std::chrono::milliseconds(1));
    }
    if (shutdown_->stop_requested()) wait = std::min(wait, std::chrono::milliseconds(100));
    if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
}

}  // namespace nf2
