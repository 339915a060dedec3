#include "stages/sources/kafka/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pipeline/ack_tracker.h"
#include "pipeline/log.h"
#include "stages/sources/kafka/kafka_chunks.h"
#include "stages/sources/kafka/kafka_conf.h"

namespace nf2 {
namespace {

using Clock = std::chrono::steady_clock;

// How soon an acknowledged watermark is committed (a member that is killed
// re-delivers what was not), and how long an open chunk waits for more
// messages of its partition.
constexpr auto kCommitInterval = std::chrono::milliseconds(50);
constexpr auto kCommitRetry = std::chrono::seconds(1);
constexpr auto kLinger = std::chrono::milliseconds(20);
constexpr auto kLagInterval = std::chrono::seconds(1);
// Chunks sealed but not yet in the pipeline before the source stops
// fetching and waits for room (up to kRoomWait at a time, then it looks at
// its commits again). Only a pipeline full for kPauseAfter pauses the
// partitions: a pause drops what librdkafka prefetched, so pausing on every
// short wait would fetch everything twice.
constexpr size_t kMaxReadyChunks = 2;
constexpr auto kRoomWait = std::chrono::milliseconds(20);
constexpr auto kPauseAfter = std::chrono::seconds(1);
// The longest a final or revoke commit waits for the coordinator's answer.
constexpr auto kCommitWait = std::chrono::seconds(5);

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

struct PartitionState {
  int32_t partition = 0;
  bool tracked = false;  // a tracker input exists (from the first message on)
  pipeline::AckTracker::InputId id = 0;
  OpenChunk open;
  Clock::time_point open_since;
  int64_t pushed_end = -1;      // after the last message pushed into the pipeline
  int64_t registered_end = -1;  // after the last message registered (pushed or next)
  int64_t base = -1;            // committed offset, or where this assignment began
  int64_t committed = -1;       // confirmed by the group coordinator
  int64_t commit_sent = -1;     // the last offset asked to be committed
  pipeline::Gauge* lag = nullptr;
  pipeline::Gauge* committed_gauge = nullptr;
};

struct ReadyChunk {
  int32_t partition = 0;
  OpenChunk chunk;
  bool registered = false;  // with the tracker (once, even if pushing waits)
};

std::string PartitionList(const rd_kafka_topic_partition_list_t* parts) {
  std::string out;
  for (int i = 0; i < parts->cnt; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", parts->elems[i].partition);
  }
  return out;
}

}  // namespace

struct KafkaSource::Parts {
  KafkaSourceOptions options;
  pipeline::BoundedQueue<LineChunk>* out = nullptr;
  pipeline::Shutdown* shutdown = nullptr;
  pipeline::Recycler<LineChunk>* recycler = nullptr;
  pipeline::MetricsRegistry* metrics = nullptr;

  kafka_internal::HandlePtr rk;
  // Declared before the partitions: refs into it travel with the chunks, and
  // the source outlives the pipeline's workers.
  pipeline::AckTracker tracker;
  std::map<int32_t, PartitionState> partitions;
  std::deque<ReadyChunk> ready;
  bool paused = false;
  Clock::time_point full_since;  // ready chunks waiting for room since (zero: not full)
  bool finishing = false;        // the pipeline has drained: nothing more will be acknowledged
  bool cooperative = false;      // the group's rebalance protocol, as last reported
  uint64_t seen_version = 0;
  Clock::time_point last_commit;
  Clock::time_point last_lag;
  std::map<int32_t, int64_t> committed_ever;  // for the [KAFKA] line
  uint64_t assigns = 0;
  uint64_t revokes = 0;
  uint64_t commit_answers = 0;  // bounded waits count the answers they get
  pipeline::Counter* assign_counter = nullptr;
  pipeline::Counter* revoke_counter = nullptr;
  pipeline::Gauge* paused_gauge = nullptr;
  LogThrottle error_log{5, 10.0};

  absl::Status Start();
  void Step();
  void PollOnce();
  void HandleMessage(const rd_kafka_message_t& m);
  void Track(PartitionState& p, int64_t offset);
  void SealOpen(PartitionState& p);
  void SealStale(Clock::time_point now);
  uint64_t Uncommitted() const;
  bool PushReady(std::chrono::microseconds wait);
  enum class Push { kPushed, kNoRoom, kOverBound };
  Push PushFront(std::chrono::microseconds wait);
  void Register(ReadyChunk& r, PartitionState& p);
  void UpdatePause(Clock::time_point now);
  void ResumeAfterAssign(rd_kafka_topic_partition_list_t* assigned);
  void CommitIfMoved();
  bool ForgetUnanswered();
  ListPtr MovedWatermarks(const std::function<bool(int32_t)>& which);
  void CommitBounded(const std::function<bool(int32_t)>& which, Clock::duration wait);
  void OnCommitted(rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t* offsets);
  void OnAssign(rd_kafka_topic_partition_list_t* parts);
  void OnRevoke(rd_kafka_topic_partition_list_t* parts);
  void DropUnpushed(int32_t partition);
  bool WaitForAcks(const rd_kafka_topic_partition_list_t* parts, Clock::time_point deadline);
  void UpdateLag();
  void Warn(const std::string& what);
  PartitionState* Find(int32_t partition);
  bool Cooperative();
};

namespace {

void RebalanceCb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                 void* opaque) {
  auto* self = static_cast<KafkaSource::Parts*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->OnAssign(parts);
  } else {
    self->OnRevoke(parts);
  }
}

void CommitCb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
              void* opaque) {
  static_cast<KafkaSource::Parts*>(opaque)->OnCommitted(err, offsets);
}

// Broker trouble (all brokers down, a timeout) is worth a line, not an exit:
// librdkafka keeps reconnecting.
void ErrorCb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<KafkaSource::Parts*>(opaque)->Warn(absl::StrCat(
      "consumer error: ", rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)), ": ", reason));
}

// librdkafka's own warnings, through our log and its rate limit.
void LogCb(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  if (level > 4) return;  // notices and debug stay quiet
  auto* self = static_cast<KafkaSource::Parts*>(rd_kafka_opaque(rk));
  if (self) self->Warn(absl::StrCat("librdkafka ", facility, ": ", message));
}

}  // namespace

void KafkaSource::Parts::Warn(const std::string& what) {
  LogThrottled(error_log, LogLevel::kWarn, [&] { return absl::StrCat("[KAFKA] ", what); });
}

PartitionState* KafkaSource::Parts::Find(int32_t partition) {
  auto it = partitions.find(partition);
  return it == partitions.end() ? nullptr : &it->second;
}

// librdkafka answers NULL instead of the protocol once the consumer is
// closing, which is exactly when the last revoke comes: the protocol seen
// before then is kept (it cannot change without a restart).
bool KafkaSource::Parts::Cooperative() {
  const char* protocol = rd_kafka_rebalance_protocol(rk.get());
  if (protocol != nullptr && std::strcmp(protocol, "NONE") != 0) {
    cooperative = std::strcmp(protocol, "COOPERATIVE") == 0;
  }
  return cooperative;
}

absl::Status KafkaSource::Parts::Start() {
  auto conf = kafka_internal::MakeConsumerConf(options);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), this);
  rd_kafka_conf_set_rebalance_cb(conf->get(), RebalanceCb);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), CommitCb);
  rd_kafka_conf_set_error_cb(conf->get(), ErrorCb);
  rd_kafka_conf_set_log_cb(conf->get(), LogCb);
  auto consumer = kafka_internal::MakeConsumer(*std::move(conf));
  if (!consumer.ok()) return consumer.status();
  rk = *std::move(consumer);
  rd_kafka_poll_set_consumer(rk.get());
  ListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(rk.get(), topics.get()); err != 0) {
    return absl::UnavailableError(
        absl::StrCat("kafka: cannot subscribe to ", options.topic, ": ", rd_kafka_err2str(err)));
  }
  LogInfo(absl::StrCat("[KAFKA] joining group ", options.group, " on topic ", options.topic, " at ",
                       options.brokers));
  return absl::OkStatus();
}

// One turn of the loop: hand on what is ready, take what Kafka has, commit
// what the pipeline acknowledged.
void KafkaSource::Parts::Step() {
  const bool full = ready.size() >= kMaxReadyChunks;
  const bool no_room = !PushReady(full && !paused ? kRoomWait : std::chrono::microseconds(0));
  UpdatePause(Clock::now());
  if (no_room && !paused && ready.size() >= kMaxReadyChunks) {
    CommitIfMoved();  // the pipeline is busy: fetch nothing more yet
    return;
  }
  PollOnce();
  const auto now = Clock::now();
  SealStale(now);
  CommitIfMoved();
  if (now - last_lag >= kLagInterval) UpdateLag();
}

void KafkaSource::Parts::PollOnce() {
  bool open = false;
  for (const auto& [_, p] : partitions) open = open || (p.open.chunk && !p.open.empty());
  const int timeout_ms = !ready.empty() ? 5 : open ? 0 : 100;
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), timeout_ms);
  if (m == nullptr) {
    // Nothing more right now: what is open goes out rather than waiting.
    for (auto& [_, p] : partitions) SealOpen(p);
    return;
  }
  HandleMessage(*m);
  rd_kafka_message_destroy(m);
}

void KafkaSource::Parts::HandleMessage(const rd_kafka_message_t& m) {
  if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
  if (m.err != 0) {
    Warn(absl::StrCat("consumer error: ", rd_kafka_message_errstr(&m)));
    return;
  }
  PartitionState* p = Find(m.partition);
  if (p == nullptr) return;  // revoked since it was fetched: its next owner reads it
  if (!p->tracked) Track(*p, m.offset);
  const std::string_view value(static_cast<const char*>(m.payload), m.len);
  if (!p->open.chunk) {
    StartChunk(&p->open, recycler->Take(), options.format);
    p->open_since = Clock::now();
  }
  if (!AddMessage(&p->open, m.offset, value)) {
    SealOpen(*p);
    StartChunk(&p->open, recycler->Take(), options.format);
    p->open_since = Clock::now();
    AddMessage(&p->open, m.offset, value);
  }
  if (p->open.chunk->size >= options.chunk_bytes || p->open.messages >= options.max_uncommitted) {
    SealOpen(*p);
  }
}

void KafkaSource::Parts::Track(PartitionState& p, int64_t offset) {
  p.id = tracker.AddInput(static_cast<uint64_t>(offset));
  p.tracked = true;
  if (p.base < 0) p.base = offset;
  p.pushed_end = std::max(p.pushed_end, offset);
}

void KafkaSource::Parts::SealOpen(PartitionState& p) {
  if (!p.open.chunk) return;
  if (p.open.empty()) return;
  SealChunk(&p.open);
  ready.push_back({p.partition, std::move(p.open)});
  p.open = OpenChunk();
}

void KafkaSource::Parts::SealStale(Clock::time_point now) {
  for (auto& [_, p] : partitions) {
    if (p.open.chunk && now - p.open_since >= kLinger) SealOpen(p);
  }
}

// Messages pushed past the committed offsets: what a crash now would make
// the partitions' next owners deliver again.
uint64_t KafkaSource::Parts::Uncommitted() const {
  uint64_t n = 0;
  for (const auto& [_, p] : partitions) {
    const int64_t end = std::max(p.pushed_end, p.registered_end);
    if (end > p.base) n += static_cast<uint64_t>(end - p.base);
  }
  return n;
}

// Hands on ready chunks, waiting up to `wait` for room for the first one.
// False when the pipeline had no room (not when the bound held one back).
bool KafkaSource::Parts::PushReady(std::chrono::microseconds wait) {
  while (!ready.empty()) {
    const Push result = PushFront(wait);
    if (result == Push::kNoRoom) return false;
    if (result == Push::kOverBound) return true;
    wait = std::chrono::microseconds(0);
  }
  return true;
}

KafkaSource::Parts::Push KafkaSource::Parts::PushFront(std::chrono::microseconds wait) {
  ReadyChunk& r = ready.front();
  PartitionState* p = Find(r.partition);
  if (p == nullptr) {
    recycler->Give(std::move(r.chunk.chunk));
    ready.pop_front();
    return Push::kPushed;
  }
  if (!r.registered) {
    const uint64_t span = static_cast<uint64_t>(r.chunk.end - r.chunk.begin);
    const uint64_t uncommitted = Uncommitted();
    if (uncommitted > 0 && uncommitted + span > options.max_uncommitted) return Push::kOverBound;
    Register(r, *p);
  }
  if (!out->PushWait(r.chunk.chunk, wait)) return Push::kNoRoom;
  p->pushed_end = r.chunk.end;
  ready.pop_front();
  return Push::kPushed;
}

// A registered chunk counts towards the bound at once (it goes out next),
// even while it waits for room.
void KafkaSource::Parts::Register(ReadyChunk& r, PartitionState& p) {
  const auto begin = static_cast<uint64_t>(r.chunk.begin);
  const auto end = static_cast<uint64_t>(r.chunk.end);
  auto ref = tracker.Register(p.id, begin, end, 1);
  if (!ref.ok()) {
    // The partition went back (an offset reset): track it afresh from here.
    p.id = tracker.AddInput(begin);
    ref = tracker.Register(p.id, begin, end, 1);
  }
  r.chunk.chunk->ref = ref.value_or(pipeline::ChunkRef());
  r.registered = true;
  p.registered_end = r.chunk.end;
}

// A pipeline full for kPauseAfter (the API down, say) pauses fetching;
// polling goes on, so the group keeps us and rebalances are served. It
// resumes where it stopped once there is room.
void KafkaSource::Parts::UpdatePause(Clock::time_point now) {
  const bool full = ready.size() >= kMaxReadyChunks;
  if (!full) {
    full_since = Clock::time_point();
  } else if (full_since == Clock::time_point()) {
    full_since = now;
  }
  const bool want = full && now - full_since >= kPauseAfter;
  if (want == paused) return;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk.get(), &assigned) != 0 || assigned == nullptr) return;
  ListPtr list(assigned);
  if (want) {
    rd_kafka_pause_partitions(rk.get(), list.get());
  } else {
    rd_kafka_resume_partitions(rk.get(), list.get());
  }
  paused = want;
  if (paused_gauge) paused_gauge->Set(paused ? 1 : 0);
}

// librdkafka keeps a partition's pause across a revoke and a re-assignment
// (its pause lives on the partition, not the assignment): a member paused
// when the group rebalanced would never fetch its partitions again. An
// assignment therefore starts unpaused, all of it (an incremental one keeps
// earlier partitions that may be paused too).
void KafkaSource::Parts::ResumeAfterAssign(rd_kafka_topic_partition_list_t* assigned) {
  rd_kafka_resume_partitions(rk.get(), assigned);
  rd_kafka_topic_partition_list_t* all = nullptr;
  if (rd_kafka_assignment(rk.get(), &all) == 0 && all != nullptr) {
    ListPtr list(all);
    rd_kafka_resume_partitions(rk.get(), list.get());
  }
  paused = false;
  full_since = Clock::time_point();
  if (paused_gauge) paused_gauge->Set(0);
}

// The watermarks of the partitions `which` selects that moved past what was
// committed or asked for; null when none did.
ListPtr KafkaSource::Parts::MovedWatermarks(const std::function<bool(int32_t)>& which) {
  ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (auto& [partition, p] : partitions) {
    if (!p.tracked || !which(partition)) continue;
    const auto wm = static_cast<int64_t>(tracker.Watermark(p.id));
    if (wm <= p.committed || wm <= p.commit_sent) continue;
    rd_kafka_topic_partition_list_add(list.get(), options.topic.c_str(), partition)->offset = wm;
    p.commit_sent = wm;
  }
  if (list->cnt == 0) return nullptr;
  return list;
}

// Commits the watermarks that moved, at most every kCommitInterval. A
// commit without an answer after kCommitRetry is asked again: librdkafka may
// drop one around a rebalance, and the bound on uncommitted messages would
// otherwise hold the partition still for good.
void KafkaSource::Parts::CommitIfMoved() {
  const auto now = Clock::now();
  if (now - last_commit < kCommitInterval) return;
  const bool moved = tracker.version() != seen_version;
  if (!moved && !(now - last_commit >= kCommitRetry && ForgetUnanswered())) return;
  seen_version = tracker.version();
  last_commit = now;
  ListPtr list = MovedWatermarks([](int32_t) { return true; });
  if (list && rd_kafka_commit(rk.get(), list.get(), /*async=*/1) != 0) ForgetUnanswered();
}

// Commits asked for but not confirmed are forgotten, so the next turn asks
// again; true when there was one.
bool KafkaSource::Parts::ForgetUnanswered() {
  bool any = false;
  for (auto& [_, p] : partitions) {
    any = any || p.commit_sent > p.committed;
    p.commit_sent = p.committed;
  }
  return any;
}

// Commits and waits (at most `wait`) for the coordinator's answer.
void KafkaSource::Parts::CommitBounded(const std::function<bool(int32_t)>& which,
                                       Clock::duration wait) {
  ListPtr list = MovedWatermarks(which);
  if (!list) return;
  QueuePtr queue(rd_kafka_queue_new(rk.get()));
  const uint64_t answers = commit_answers;
  if (rd_kafka_commit_queue(rk.get(), list.get(), queue.get(), CommitCb, this) != 0) {
    ForgetUnanswered();
    return;
  }
  const auto deadline = Clock::now() + wait;
  while (commit_answers == answers && Clock::now() < deadline) {
    rd_kafka_queue_poll_callback(queue.get(), 100);
  }
  if (commit_answers == answers) Warn("no answer to the offset commit in time");
}

void KafkaSource::Parts::OnCommitted(rd_kafka_resp_err_t err,
                                     const rd_kafka_topic_partition_list_t* offsets) {
  ++commit_answers;
  if (err != 0 && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    // Refused (a rebalance in progress, the coordinator moving): the next
    // turn asks again.
    for (auto& [_, p] : partitions) p.commit_sent = p.committed;
    seen_version = 0;
    LogDebug(absl::StrCat("[KAFKA] offset commit refused: ", rd_kafka_err2str(err)));
    return;
  }
  for (int i = 0; offsets && i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& e = offsets->elems[i];
    PartitionState* p = Find(e.partition);
    if (e.err != 0) {
      if (p) p->commit_sent = p->committed;
      seen_version = 0;
      continue;
    }
    int64_t& ever = committed_ever[e.partition];
    ever = std::max(ever, e.offset);
    if (!p) continue;
    p->committed = std::max(p->committed, e.offset);
    p->base = std::max(p->base, p->committed);
    if (p->committed_gauge) p->committed_gauge->Set(static_cast<double>(p->committed));
  }
}

void KafkaSource::Parts::OnAssign(rd_kafka_topic_partition_list_t* parts) {
  ++assigns;
  if (assign_counter) assign_counter->Add();
  LogInfo(
      absl::StrCat("[KAFKA] assigned partitions ", PartitionList(parts), " of ", options.topic));
  for (int i = 0; i < parts->cnt; ++i) {
    const int32_t n = parts->elems[i].partition;
    PartitionState& p = partitions[n];
    p = PartitionState();
    p.partition = n;
    if (metrics) {
      const pipeline::Labels labels = {{"topic", options.topic}, {"partition", absl::StrCat(n)}};
      p.lag =
          metrics->GetGauge("nf2ingest_kafka_consumer_lag",
                            "Messages of the partition not yet committed by this group.", labels);
      p.committed_gauge =
          metrics->GetGauge("nf2ingest_kafka_committed_offset",
                            "The group's committed offset (next message to read).", labels);
    }
  }
  if (Cooperative()) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk.get(), parts)) {
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk.get(), parts);
  }
  ResumeAfterAssign(parts);
}

// What was read of `partition` but never pushed is left for its next owner.
void KafkaSource::Parts::DropUnpushed(int32_t partition) {
  PartitionState* p = Find(partition);
  if (p && p->open.chunk) {
    recycler->Give(std::move(p->open.chunk));
    p->open = OpenChunk();
  }
  std::erase_if(ready, [&](ReadyChunk& r) {
    if (r.partition != partition) return false;
    recycler->Give(std::move(r.chunk.chunk));
    return true;
  });
}

// Waits until every chunk pushed of `parts` is acknowledged; false at the
// deadline.
bool KafkaSource::Parts::WaitForAcks(const rd_kafka_topic_partition_list_t* parts,
                                     Clock::time_point deadline) {
  auto all_acked = [&] {
    for (int i = 0; i < parts->cnt; ++i) {
      const PartitionState* p = Find(parts->elems[i].partition);
      if (p && p->tracked && static_cast<int64_t>(tracker.Watermark(p->id)) < p->pushed_end) {
        return false;
      }
    }
    return true;
  };
  uint64_t version = tracker.version();
  while (!all_acked()) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    version = tracker.WaitForChange(version, std::min(left, std::chrono::milliseconds(50)));
  }
  return true;
}

// A revoke: stop taking the partitions' messages, give their batches in
// flight a bounded time, commit, then let them go.
void KafkaSource::Parts::OnRevoke(rd_kafka_topic_partition_list_t* parts) {
  ++revokes;
  if (revoke_counter) revoke_counter->Add();
  for (int i = 0; i < parts->cnt; ++i) DropUnpushed(parts->elems[i].partition);
  const auto start = Clock::now();
  const auto timeout = absl::ToChronoNanoseconds(options.revoke_timeout);
  const bool acked = WaitForAcks(parts, finishing ? start : start + timeout);
  std::map<int32_t, bool> revoked;
  for (int i = 0; i < parts->cnt; ++i) revoked[parts->elems[i].partition] = true;
  CommitBounded([&](int32_t n) { return revoked.count(n) > 0; }, kCommitWait);
  LogInfo(absl::StrCat("[KAFKA] revoked partitions ", PartitionList(parts), " of ", options.topic,
                       acked ? ""
                             : " (batches still in flight after --kafka-revoke-timeout: "
                               "their records may be delivered again)"));
  for (const auto& [n, _] : revoked) partitions.erase(n);
  if (Cooperative()) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk.get(), parts)) {
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk.get(), nullptr);
  }
}

// Lag: messages of each partition past the group's committed offset (the
// high watermark is the one the last fetch reported, no broker round trip).
void KafkaSource::Parts::UpdateLag() {
  last_lag = Clock::now();
  for (auto& [n, p] : partitions) {
    int64_t low = -1;
    int64_t high = -1;
    if (!p.lag ||
        rd_kafka_get_watermark_offsets(rk.get(), options.topic.c_str(), n, &low, &high) != 0 ||
        high < 0) {
      continue;
    }
    const int64_t from = p.committed >= 0 ? p.committed : std::max<int64_t>(low, 0);
    p.lag->Set(static_cast<double>(std::max<int64_t>(high - from, 0)));
  }
}

KafkaSource::KafkaSource(KafkaSourceOptions options, pipeline::BoundedQueue<LineChunk>* out,
                         pipeline::Shutdown* shutdown, pipeline::Recycler<LineChunk>* recycler,
                         pipeline::MetricsRegistry* metrics)
    : parts_(std::make_unique<Parts>()) {
  parts_->options = std::move(options);
  parts_->out = out;
  parts_->shutdown = shutdown;
  parts_->recycler = recycler;
  parts_->metrics = metrics;
  if (metrics) {
    const char* help = "Consumer group rebalances this member took part in, by kind.";
    parts_->assign_counter =
        metrics->GetCounter("nf2ingest_kafka_rebalances_total", help, {{"kind", "assign"}});
    parts_->revoke_counter =
        metrics->GetCounter("nf2ingest_kafka_rebalances_total", help, {{"kind", "revoke"}});
    parts_->paused_gauge = metrics->GetGauge(
        "nf2ingest_kafka_fetch_paused",
        "1 while fetching is paused because the pipeline has been full for a second.", {});
  }
}

KafkaSource::~KafkaSource() = default;

absl::Status KafkaSource::Run() {
  Parts& s = *parts_;
  absl::Status st = s.Start();
  while (st.ok() && !s.shutdown->stop_requested()) s.Step();
  // Read but never pushed: not registered, so not committed either.
  for (auto& [n, _] : s.partitions) s.DropUnpushed(n);
  s.shutdown->MarkInputFinished();
  return st;
}

void KafkaSource::Finish() {
  Parts& s = *parts_;
  if (!s.rk) return;
  s.finishing = true;
  s.CommitBounded([](int32_t) { return true; }, kCommitWait);
  // Leaving the group revokes what we own (OnRevoke: nothing left in flight).
  rd_kafka_consumer_close(s.rk.get());
  s.rk.reset();
}

std::string KafkaSource::SummaryLine() const {
  const Parts& s = *parts_;
  std::string committed;
  for (const auto& [n, offset] : s.committed_ever) {
    absl::StrAppend(&committed, committed.empty() ? "" : ",", n, ":", offset);
  }
  return absl::StrCat("[KAFKA] topic=", s.options.topic, " group=", s.options.group,
                      " rebalances=assign:", s.assigns, ",revoke:", s.revokes, " committed={",
                      committed, "}");
}

}  // namespace nf2
