#include "stages/sinks/http/http_sender.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"

namespace nf2 {
namespace {

constexpr size_t kMaxAnswerBytes = 4096;  // of an error answer, kept for the log
constexpr size_t kMaxSnippetBytes = 300;  // of an answer, in one log line
constexpr std::string_view kOutage = "API failing for longer than --retry-max-duration";

constexpr char kRequests[] = "nf2ingest_requests_total";
constexpr char kRetries[] = "nf2ingest_retries_total";
constexpr char kSplits[] = "nf2ingest_batch_splits_total";
constexpr char kDeadLetters[] = "nf2ingest_dead_letter_batches_total";
constexpr char kReplayed[] = "nf2ingest_replayed_records_total";

std::string Secs(absl::Duration d) { return absl::StrCat(absl::ToDoubleSeconds(d)); }

uint64_t Count(double v) { return static_cast<uint64_t>(v); }

// The HTTP status a `code` label stands for (0 = no answer).
long StatusOfLabels(const pipeline::Labels& labels) {
  long status = 0;
  for (const auto& [k, v] : labels) {
    // A label that is not a number leaves 0 (no answer).
    if (k == "code" && v != "none" && !absl::SimpleAtoi(v, &status)) status = 0;
  }
  return status;
}

std::chrono::milliseconds Until(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t -
                                                               std::chrono::steady_clock::now()) +
         std::chrono::milliseconds(1);
}

}  // namespace

// Instruments resolved once; per-status and per-reason counters are looked
// up per request (the set of codes is open-ended), never per record.
struct HttpSender::Instruments {
  explicit Instruments(pipeline::MetricsRegistry* m)
      : registry(m),
        request_us(m->GetHistogram(
            "nf2ingest_request_duration_seconds", "Time from sending a POST to its answer.", {},
            1e-6, {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
        in_flight(m->GetGauge("nf2ingest_in_flight_requests", "POST requests awaiting an answer.")),
        held(m->GetGauge("nf2ingest_sender_batches_held",
                         "Batches the sender holds: in flight, waiting to retry or ready.")),
        last_success(m->GetGauge("nf2ingest_last_success_timestamp_seconds",
                                 "Unix time of the last 2xx answer (0 = none yet).")),
        splits(m->GetCounter(kSplits, "Batches split in two after a 413.")),
        dead_letters(m->GetCounter(kDeadLetters, "Batches written to the dead-letter store.")),
        replayed_delivered(m->GetCounter(kReplayed, "Records from an earlier run's spool, by fate.",
                                         {{"outcome", "delivered"}})),
        replayed_rejected(m->GetCounter(kReplayed, "Records from an earlier run's spool, by fate.",
                                        {{"outcome", "rejected"}})),
        spool_write_errors(m->GetCounter(
            kSpoolWriteErrorsMetric,
            "Batches the spool could not take although under its limit (disk full, I/O).")),
        spool_write_failing(m->GetGauge(kSpoolWriteFailingMetric,
                                        "1 while the last write to the spool failed (not full).")),
        concurrency_limit(
            m->GetGauge(kConcurrencyLimitMetric, "Requests the sender may have in flight now.")) {}

  void Request(long status, std::chrono::steady_clock::duration took) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    request_us->Record(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
    registry
        ->GetCounter(kRequests, "POST requests by HTTP status (none = no answer).",
                     {{"code", status == 0 ? "none" : absl::StrCat(status)}})
        ->Add();
  }

  void Retry(long status, bool auth) {
    const std::string reason = status == 0 ? "network"
                               : auth      ? "auth"
                                           : absl::StrCat("http_", status);
    registry
        ->GetCounter(kRetries, "Requests scheduled again, by the failure's kind.",
                     {{"reason", reason}})
        ->Add();
  }

  pipeline::MetricsRegistry* registry;
  pipeline::LogLinearHistogram* request_us;
  pipeline::Gauge* in_flight;
  pipeline::Gauge* held;
  pipeline::Gauge* last_success;
  pipeline::Counter* splits;
  pipeline::Counter* dead_letters;
  pipeline::Counter* replayed_delivered;
  pipeline::Counter* replayed_rejected;
  pipeline::Counter* spool_write_errors;
  pipeline::Gauge* spool_write_failing;
  pipeline::Gauge* concurrency_limit;
};

SenderStats SenderStatsFrom(const pipeline::MetricsRegistry& registry) {
  SenderStats s;
  for (const auto& [labels, v] : registry.Values(kRequests)) {
    s.by_status[StatusOfLabels(labels)] += Count(v);
    s.requests += Count(v);
  }
  for (const auto& [labels, v] : registry.Values(kRetries)) s.retries += Count(v);
  s.splits = Count(registry.Value(kSplits));
  s.dead_lettered = Count(registry.Value(kDeadLetters));
  s.replayed_delivered = Count(registry.Value(kReplayed, {{"outcome", "delivered"}}));
  s.replayed_rejected = Count(registry.Value(kReplayed, {{"outcome", "rejected"}}));
  s.spool_write_errors = Count(registry.Value(kSpoolWriteErrorsMetric));
  return s;
}

namespace {

HttpTransportOptions TransportOptions(const SenderOptions& o) {
  HttpTransportOptions t;
  t.url = o.ingest_url;
  t.connection = o.connection;
  t.key = o.key;
  t.max_connections = o.max_in_flight;
  t.timeout = o.timeout;
  t.connect_timeout = o.connect_timeout;
  // Room for a key cut at the end, so it is masked whole before the cut.
  t.max_answer_bytes = kMaxAnswerBytes + o.key.size();
  return t;
}

// A fixed limit is an adaptive one with equal bounds.
ConcurrencyLimitOptions LimitOptions(const SenderOptions& o) {
  ConcurrencyLimitOptions c;
  c.max = std::max(o.max_in_flight, 1);
  c.initial = o.adaptive_in_flight ? 1 : c.max;
  c.min = o.adaptive_in_flight ? 1 : c.max;
  return c;
}

// Answers that say the API (or the path to it) is overloaded.
bool IsBackpressure(const HttpAnswer& a) {
  return (a.status == 0 && !a.tls_problem) || a.status == 429 || a.status == 502 ||
         a.status == 503 || a.status == 504;
}

}  // namespace

HttpSender::HttpSender(SenderOptions options, BatchQueue* in, BatchEncoder* splitter,
                       pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown)
    : options_(std::move(options)),
      in_(in),
      splitter_(splitter),
      outcomes_(outcomes),
      shutdown_(shutdown),
      retry_policy_(options_.retry_initial, options_.retry_max, std::random_device{}()),
      max_held_(static_cast<size_t>(options_.max_held > 0 ? options_.max_held
                                                          : 2 * options_.max_in_flight)),
      own_metrics_(options_.metrics ? nullptr : std::make_unique<pipeline::MetricsRegistry>()),
      metrics_(options_.metrics ? options_.metrics : own_metrics_.get()),
      m_(std::make_unique<Instruments>(metrics_)),
      transport_(TransportOptions(options_)),
      limit_(LimitOptions(options_)) {
  max_held_ = std::max(max_held_, static_cast<size_t>(options_.max_in_flight));
  m_->concurrency_limit->Set(limit_.limit());
}

HttpSender::~HttpSender() {
  // The key is a secret: do not leave it in freed memory longer than needed.
  std::fill(options_.key.begin(), options_.key.end(), '\0');
}

void HttpSender::Wake() { transport_.Wake(); }

SenderStats HttpSender::stats() const { return SenderStatsFrom(*metrics_); }

std::string HttpSender::Snippet(std::string_view answer) const {
  std::string out = MaskedPrefix(answer, options_.key, kMaxSnippetBytes);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string HttpSender::Describe(const Batch& batch) const {
  return absl::StrCat("batch ", options_.run_id, "-", batch.id, " (", batch.records(),
                      " records, attempt ", batch.attempts, ")");
}

void HttpSender::StartRequest(std::unique_ptr<Batch> batch) {
  ++batch->attempts;
  if (options_.discard_transport) {
    HttpAnswer accepted;
    accepted.status = 202;
    Resolve(std::move(batch), accepted);
    return;
  }
  std::vector<std::string> headers;
  if (batch->gzipped) headers.emplace_back("Content-Encoding: gzip");
  headers.push_back(absl::StrCat("X-Batch-Id: ", options_.run_id, "-", batch->id));
  headers.push_back(absl::StrCat("X-Batch-Records: ", batch->records()));
  const uint64_t tag = next_tag_++;
  transport_.Post(tag, batch->wire(), headers);
  active_.emplace(tag, std::move(batch));
  m_->in_flight->Set(static_cast<double>(active_.size()));
}

void HttpSender::OnAnswer(HttpAnswer answer) {
  auto it = active_.find(answer.tag);
  if (it == active_.end()) return;
  std::unique_ptr<Batch> batch = std::move(it->second);
  AdaptLimit(answer, active_.size());
  active_.erase(it);
  m_->in_flight->Set(static_cast<double>(active_.size()));
  m_->Request(answer.status, answer.took);
  // Everything after this (logs, dead letters) sees the answer masked.
  answer.body = MaskedPrefix(answer.body, options_.key, kMaxAnswerBytes);
  Resolve(std::move(batch), answer);
}

void HttpSender::AdaptLimit(const HttpAnswer& answer, size_t in_flight) {
  if (!options_.adaptive_in_flight) return;
  if (IsBackpressure(answer)) {
    limit_.OnBackpressure();
  } else if (answer.status != 0) {
    limit_.OnSuccess(answer.took, static_cast<int>(in_flight));
  }
  m_->concurrency_limit->Set(limit_.limit());
}

void HttpSender::ScheduleRetry(std::unique_ptr<Batch> batch, absl::Duration delay) {
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

void HttpSender::NoteSpoolWriteError(const Batch& batch, const absl::Status& status,
                                     std::string_view then) {
  m_->spool_write_errors->Add();
  m_->spool_write_failing->Set(1);
  // A full disk fails every batch.
  LogThrottled(spool_error_log_, LogLevel::kError, [&] {
    return absl::StrCat("[SPOOL] cannot write batch ", batch.id, " to ", options_.spool->dir(),
                        " (", options_.spool->FreeDiskBytes(),
                        " bytes free on its disk): ", status.message(), "; ", Av(then));
  });
}

void HttpSender::NoteSpoolWriteOk() { m_->spool_write_failing->Set(0); }

bool HttpSender::Evict(std::unique_ptr<Batch>& batch, std::string_view why) {
  if (batch->unspoolable) return false;
  if (batch->store_id == 0) {
    auto id = options_.spool->Put(*batch);
    if (!id.ok()) {
      if (IsDiskFull(id.status())) {
        // Waiting can help (space may free up): hold the input back, and say why.
        NoteSpoolWriteError(*batch, id.status(), "input held back until space frees up");
      } else if (!absl::IsResourceExhausted(id.status())) {
        // Waiting cannot help (too large, or I/O trouble): keep it in
        // memory, retrying, and say so once.
        batch->unspoolable = true;
        NoteSpoolWriteError(*batch, id.status(), "kept in memory");
      }
      return false;  // keep it in memory: backpressure
    }
    NoteSpoolWriteOk();
    batch->store_id = *id;
  }
  batch->acks.AckAll();  // on disk: the next run replays it
  if (!batch->earlier_run) spooled_here_[batch->store_id] = batch->records();
  LogWarn(absl::StrCat("[SPOOL] ", Av(why), ": batch ", batch->id, " (", batch->records(),
                       " records) kept in ", options_.spool->dir()));
  Forget(*batch);
  batch.reset();
  return true;
}

bool HttpSender::Admit(std::unique_ptr<Batch>& batch) {
  if (!options_.spool || !options_.durable || batch->store_id != 0) return true;
  auto id = options_.spool->Put(*batch);
  if (id.ok()) {
    NoteSpoolWriteOk();
    batch->store_id = *id;
    batch->acks.AckAll();  // durable from here on
    in_memory_.insert(*id);
    return true;
  }
  if (absl::IsResourceExhausted(id.status())) return false;  // the spool's limit: wait
  // A full disk or I/O trouble: the API is what matters, so send anyway.
  NoteSpoolWriteError(*batch, id.status(), "sent without a copy on disk");
  return true;
}

bool HttpSender::SpoolHasWork() const {
  if (!options_.spool) return false;
  return std::ranges::any_of(options_.spool->Ids(), [this](uint64_t id) {
    return !in_memory_.count(id) && !tried_.count(id);
  });
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

std::string HttpSender::DeadLetter(const Batch& batch, long status, const std::string& answer) {
  if (!options_.dead_letters) return "not kept (no --dead-letter-dir)";
  // `answer` is already masked: the store keeps what the log may show.
  auto id = options_.dead_letters->Put(
      batch, absl::StrCat("HTTP ", status, " at ", absl::FormatTime(absl::Now()), "\n", answer));
  if (!id.ok()) return absl::StrCat("NOT kept: ", id.status().message());
  m_->dead_letters->Add();
  return options_.dead_letters->PathOf(*id);
}

void HttpSender::Reject(std::unique_ptr<Batch> batch, long status, const std::string& answer) {
  const size_t n = batch->records();
  batch->acks.AckAll();
  std::string where;
  if (options_.replay_only) {
    where = "left in " + options_.spool->dir();
  } else {
    where = DeadLetter(*batch, status, answer);
    if (batch->store_id != 0) options_.spool->Remove(batch->store_id).IgnoreError();
  }
  Forget(*batch);
  if (batch->earlier_run) {
    m_->replayed_rejected->Add(n);
  } else {
    outcomes_->AddRejected(n);
  }
  LogError(absl::StrCat("[INGEST][ERR] HTTP ", status, " for batch ", options_.run_id, "-",
                        batch->id, " (", n, " records): rejected, not retried: ", Snippet(answer),
                        " -> ", where));
}

void HttpSender::NoteApiState(Disposition d, Clock::time_point now) {
  if (d == Disposition::kDelivered || d == Disposition::kSplit || d == Disposition::kReject) {
    failing_ = false;  // the API answered on purpose
    last_success_ = now;
  } else {
    failing_ = true;
  }
}

void HttpSender::Resolve(std::unique_ptr<Batch> batch, const HttpAnswer& answer) {
  const Disposition d = ClassifyAnswer(answer.status, options_.retry_on);
  const auto now = Clock::now();
  NoteApiState(d, now);
  switch (d) {
    case Disposition::kDelivered:
      Deliver(std::move(batch), answer.status);
      return;
    case Disposition::kSplit:
      if (batch->records() < 2) {
        Reject(std::move(batch), answer.status, answer.body);
      } else {
        Split(std::move(batch), answer);
      }
      return;
    case Disposition::kRetry:
    case Disposition::kAuthRetry:
      Retry(std::move(batch), d, answer, now);
      return;
    case Disposition::kReject:
      Reject(std::move(batch), answer.status, answer.body);
      return;
  }
}

void HttpSender::Deliver(std::unique_ptr<Batch> batch, long status) {
  const size_t n = batch->records();
  batch->acks.AckAll();
  if (batch->store_id != 0) options_.spool->Remove(batch->store_id).IgnoreError();
  if (batch->replay_origin != 0) FinishReplayPart(*batch);
  Forget(*batch);
  if (batch->earlier_run) {
    m_->replayed_delivered->Add(n);
  } else {
    outcomes_->AddDelivered(n);
  }
  m_->last_success->Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  LogInfo(absl::StrCat("[INGEST] sent ", n, " status=", status));
}

// Replay mode: the entry a split came from is removed once its last part is
// delivered (a part refused for good leaves the whole entry for next time).
void HttpSender::FinishReplayPart(const Batch& batch) {
  auto it = parts_left_.find(batch.replay_origin);
  if (it == parts_left_.end() || --it->second > 0) return;
  parts_left_.erase(it);
  options_.spool->Remove(batch.replay_origin).IgnoreError();
}

void HttpSender::Split(std::unique_ptr<Batch> batch, const HttpAnswer& answer) {
  m_->splits->Add();
  LogWarn(absl::StrCat("[INGEST][ERR] HTTP 413 for ", Describe(*batch), ": ", Snippet(answer.body),
                       "; splitting in two"));
  std::vector<std::unique_ptr<Batch>> halves;
  splitter_->Split(*batch, &halves);
  // Replay mode leaves the spool entry in place: its parts are tracked to it.
  uint64_t origin = batch->replay_origin;
  if (options_.replay_only && origin == 0) origin = batch->store_id;
  if (origin != 0) parts_left_[origin] += halves.size() - (batch->replay_origin != 0 ? 1 : 0);
  // A durable batch stays durable: its halves go to disk before the whole
  // is removed.
  const bool durable = batch->store_id != 0 && !options_.replay_only;
  for (auto& h : halves) {
    h->earlier_run = batch->earlier_run;
    h->replay_origin = options_.replay_only ? origin : 0;
    if (durable) {
      auto id = options_.spool->Put(*h);
      if (id.ok()) {
        h->store_id = *id;
        in_memory_.insert(*id);
      }
    }
    ready_.push_back(std::move(h));
  }
  if (durable) options_.spool->Remove(batch->store_id).IgnoreError();
  Forget(*batch);
}

absl::Duration HttpSender::RetryDelay(Disposition d, const Batch& batch,
                                      const std::string& retry_after) {
  absl::Duration delay =
      d == Disposition::kAuthRetry ? retry_policy_.max() : retry_policy_.Backoff(batch.attempts);
  if (auto asked = ParseRetryAfter(retry_after, absl::Now())) {
    // Obeyed up to a limit: a server's typo must not park data for a day.
    delay = std::min(*asked, options_.retry_after_max.value_or(options_.retry_max));
  }
  return delay;
}

void HttpSender::Retry(std::unique_ptr<Batch> batch, Disposition d, const HttpAnswer& answer,
                       Clock::time_point now) {
  if (batch->first_failure == Clock::time_point()) batch->first_failure = now;
  const absl::Duration delay = RetryDelay(d, *batch, answer.retry_after);
  const std::string what = Describe(*batch);
  if (d == Disposition::kAuthRetry) {
    LogError(absl::StrCat("[INGEST][ERR] HTTP ", answer.status,
                          ": the API refused the key (check KEY / --key-file); keeping ", what,
                          ", retry in ", Secs(delay), "s"));
  } else if (answer.tls_problem) {
    LogThrottled(tls_error_log_, LogLevel::kError, [&] {
      return absl::StrCat("[INGEST][ERR] ", answer.body, " for ", what, "; retrying");
    });
  } else if (answer.status == 0) {
    LogWarn(absl::StrCat("[INGEST][ERR] Request failed: ", answer.body, " for ", what,
                         "; retry in ", Secs(delay), "s"));
  } else {
    LogWarn(absl::StrCat("[INGEST][ERR] HTTP ", answer.status, " for ", what, ": ",
                         Snippet(answer.body), "; retry in ", Secs(delay), "s"));
  }
  // During an outage, keep one batch probing and the rest on disk.
  if (InOutage(now) && Holding() > 0 && Evict(batch, kOutage)) return;
  m_->Retry(answer.status, d == Disposition::kAuthRetry);
  ScheduleRetry(std::move(batch), delay);
}

void HttpSender::Settle(std::unique_ptr<Batch> b, std::string_view why, uint64_t* spooled,
                        uint64_t* undelivered) {
  if (b->earlier_run) return;  // still in the spool it came from
  const size_t n = b->records();
  if (options_.spool && !options_.replay_only && b->store_id != 0) {
    *spooled += n;  // durable: already on disk
    Forget(*b);
  } else if (!options_.spool || options_.replay_only || !Evict(b, why)) {
    *undelivered += n;
  }  // else evicted: counted with spooled_here_
}

void HttpSender::Abandon(std::string_view why) {
  std::vector<std::unique_ptr<Batch>> left;
  for (uint64_t tag : transport_.AbortAll()) left.push_back(std::move(active_[tag]));
  active_.clear();
  for (auto& [due, b] : waiting_) left.push_back(std::move(b));
  waiting_.clear();
  for (auto& b : ready_) left.push_back(std::move(b));
  ready_.clear();
  if (blocked_) left.push_back(std::move(blocked_));
  uint64_t spooled = 0, undelivered = 0;
  for (auto& b : left) Settle(std::move(b), why, &spooled, &undelivered);
  // Everything still queued upstream ends here too, so the pipeline drains.
  while (!input_closed_) {
    std::unique_ptr<Batch> b = in_->Pop();
    if (!b) break;
    Settle(std::move(b), why, &spooled, &undelivered);
  }
  input_closed_ = true;
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

// After a stop request the drain deadline is a hard one; after the end of
// the input it moves on with every success, so a slow API that keeps
// answering is not cut short, and one that stopped answering is given up on.
std::optional<HttpSender::Clock::time_point> HttpSender::DrainDeadline() const {
  const auto deadline = shutdown_->DrainDeadline();
  if (!deadline || shutdown_->stop_requested()) return deadline;
  return std::max(*deadline, last_success_ + shutdown_->drain_timeout());
}

// Retries whose time has come go first, then split halves, then the spool
// (oldest first) while the API answers, then new work.
void HttpSender::StartWork(Clock::time_point now) {
  StartDueRetries(now);
  StartReady();
  const bool outage = InOutage(now);
  if (!outage) StartFromSpool();
  AdmitInput(outage);
}

void HttpSender::StartDueRetries(Clock::time_point now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now && active_.size() < Slots()) {
    auto node = waiting_.extract(waiting_.begin());
    StartRequest(std::move(node.mapped()));
  }
}

void HttpSender::StartReady() {
  while (!ready_.empty() && active_.size() < Slots()) {
    std::unique_ptr<Batch> b = std::move(ready_.front());
    ready_.pop_front();
    StartRequest(std::move(b));
  }
}

void HttpSender::StartFromSpool() {
  while (HasRoom() && SpoolHasWork()) {
    auto b = NextFromSpool();
    if (!b) break;
    StartRequest(std::move(b));
  }
}

void HttpSender::AdmitInput(bool outage) {
  while (!input_closed_ && HasRoom()) {
    if (!blocked_) {
      if (!in_->TryPop(blocked_)) break;
      if (!blocked_) {
        input_closed_ = true;
        break;
      }
    }
    if (outage) {
      // The API has been down for a while: new batches wait on disk.
      if (Evict(blocked_, kOutage)) continue;
      break;  // spool full: backpressure
    }
    if (!Admit(blocked_)) break;  // durable, spool full: backpressure
    StartRequest(std::move(blocked_));
  }
}

bool HttpSender::Finished() const {
  return input_closed_ && Holding() == 0 && !blocked_ && !SpoolHasWork();
}

bool HttpSender::CollectAnswers() {
  std::vector<HttpAnswer> done;
  transport_.Collect(&done);
  for (HttpAnswer& a : done) OnAnswer(std::move(a));
  return !done.empty();
}

// Sleeps until a socket is ready, a batch is queued (Wake), the next retry
// is due, or the drain deadline comes.
void HttpSender::WaitForWork(bool outage) {
  auto wait = std::chrono::milliseconds(1000);
  if (blocked_ || outage) wait = std::chrono::milliseconds(100);  // spool space may free up
  if (!waiting_.empty()) wait = std::min(wait, Until(waiting_.begin()->first));
  if (auto deadline = DrainDeadline()) wait = std::min(wait, Until(*deadline));
  if (shutdown_->stop_requested()) wait = std::min(wait, std::chrono::milliseconds(100));
  transport_.Wait(wait);
}

void HttpSender::Run() {
  last_success_ = Clock::now();
  while (true) {
    const auto now = Clock::now();
    if (shutdown_->stop_now()) {
      Abandon("stopped at once on a second signal");
      break;
    }
    if (auto deadline = DrainDeadline(); deadline && now >= *deadline) {
      Abandon(shutdown_->stop_requested() ? "drain deadline passed"
                                          : "no request succeeded for the drain timeout");
      break;
    }
    StartWork(now);
    if (Finished()) {
      Abandon("finished");  // accounts for batches this run left in the spool
      break;
    }
    m_->held->Set(static_cast<double>(Holding() + (blocked_ ? 1 : 0)));
    if (CollectAnswers()) continue;  // free slots: refill before sleeping
    WaitForWork(InOutage(now));
  }
  m_->held->Set(0);  // everything has an outcome now
  m_->in_flight->Set(0);
}

}  // namespace nf2
