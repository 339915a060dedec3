// nf2ingest: goflow2 JSON lines in, flows.v1 batches out to {API}/v1/ingest.
#include <curl/curl.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/ingest_pipeline.h"
#include "stages/log.h"
#include "stages/spool.h"
#include "tools/nf2ingest/config.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInputError = 1;
constexpr int kExitBadConfig = 2;
constexpr int kExitNotDelivered = 3;
constexpr int kExitKeyRefused = 4;

// Signals are taken by one thread with sigwait, so no handler runs inside a
// worker: the first SIGINT/SIGTERM drains, the second stops at once. SIGUSR1
// is our own "pipeline finished" note to end the watcher.
class SignalWatcher {
 public:
  explicit SignalWatcher(nf2::pipeline::Shutdown* shutdown) : shutdown_(shutdown) {
    thread_ = std::thread([this] { Watch(); });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

  static void BlockSignals() {
    sigset_t set = Set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
  }

 private:
  static sigset_t Set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    return set;
  }

  void Watch() {
    sigset_t set = Set();
    int count = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) return;
      ++count;
      const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (count == 1) {
        nf2::LogWarn(absl::StrCat("received ", name,
                                  ": stopping input and draining (send again to stop at once)"));
      } else {
        nf2::LogWarn(absl::StrCat("received ", name, " again: stopping now"));
      }
      shutdown_->RequestStop();
    }
  }

  nf2::pipeline::Shutdown* shutdown_;
  std::thread thread_;
};

std::string RunId() {
  std::random_device rd;
  return absl::StrCat(absl::Hex((static_cast<uint64_t>(rd()) << 32) | rd(), absl::kZeroPad16));
}

}  // namespace

int main(int argc, char** argv) {
  SignalWatcher::BlockSignals();  // before any thread starts, so all inherit it
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cfg_or = nf2::LoadConfig(args, [](const char* name) { return std::getenv(name); });
  if (!cfg_or.ok()) {
    std::fprintf(stderr, "nf2ingest: %s\n", std::string(cfg_or.status().message()).c_str());
    return kExitBadConfig;
  }
  nf2::Config cfg = std::move(*cfg_or);
  if (cfg.help) {
    std::fputs(nf2::HelpText().c_str(), stdout);
    return kExitOk;
  }
  nf2::SetLogLevel(cfg.log_level);
  for (const auto& w : cfg.warnings) nf2::LogWarn(w);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  nf2::PipelineOptions& p = cfg.pipeline;
  p.sender.run_id = RunId();
  nf2::LogInfo(absl::StrCat(
      "Starting NetFlow mapper: api=", cfg.api, " collector_id=", p.collector_id,
      " batch_size=", p.batch_size, " flush_interval=", absl::FormatDuration(p.flush_interval),
      " max_records_per_batch=", p.limits.max_records,
      " max_payload_size=", p.limits.max_wire_bytes, " gzip_threshold=", p.limits.gzip_threshold,
      " max_in_flight=", p.sender.max_in_flight, " threads=", p.parser_threads, "/",
      p.mapper_threads, "/", p.assembler_threads, " inputs=", absl::StrJoin(p.source.inputs, ",")));

  // Stores first: a directory we cannot use is a configuration error.
  std::unique_ptr<nf2::BatchStore> spool, dead_letters;
  const std::string spool_dir = cfg.replay_dir.empty() ? cfg.spool_dir : cfg.replay_dir;
  if (!spool_dir.empty()) {
    auto store = nf2::BatchStore::Open(spool_dir, cfg.replay_dir.empty() ? cfg.spool_max_bytes : 0);
    if (!store.ok()) {
      std::fprintf(stderr, "nf2ingest: invalid setting %s='%s': %s\n",
                   cfg.replay_dir.empty() ? "--spool-dir / SPOOL_DIR" : "--replay / REPLAY",
                   spool_dir.c_str(), std::string(store.status().message()).c_str());
      return kExitBadConfig;
    }
    spool = std::move(*store);
    p.sender.spool = spool.get();
    if (spool->count() > 0) {
      nf2::LogInfo(absl::StrCat("[SPOOL] ", spool->count(), " batches (", spool->bytes(),
                                " bytes) in ", spool_dir, " will be sent first"));
    }
  }
  if (!cfg.dead_letter_dir.empty()) {
    auto store = nf2::BatchStore::Open(cfg.dead_letter_dir, 0);
    if (!store.ok()) {
      std::fprintf(stderr, "nf2ingest: invalid setting --dead-letter-dir / DEAD_LETTER_DIR='%s': %s\n",
                   cfg.dead_letter_dir.c_str(), std::string(store.status().message()).c_str());
      return kExitBadConfig;
    }
    dead_letters = std::move(*store);
    p.sender.dead_letters = dead_letters.get();
  }

  // One look at the API before reading anything: a refused key ends the run
  // now rather than after the input has been consumed.
  if (absl::Status health = nf2::CheckApiHealth(cfg.api, p.sender.key, p.sender.connect_timeout +
                                                                           p.sender.timeout / 6);
      !health.ok()) {
    if (absl::IsPermissionDenied(health)) {
      nf2::LogError(std::string(health.message()));
      curl_global_cleanup();
      return kExitKeyRefused;
    }
    nf2::LogWarn(absl::StrCat("API health check failed (carrying on; it may come up later): ",
                              health.message()));
  }

  nf2::pipeline::Outcomes outcomes;
  nf2::pipeline::Shutdown shutdown(absl::ToChronoNanoseconds(cfg.drain_timeout));
  absl::Status run_status;
  nf2::PipelineStats stats;
  {
    SignalWatcher watcher(&shutdown);
    nf2::IngestPipeline pipeline(p, &outcomes, &shutdown);
    run_status = pipeline.Run();
    stats = pipeline.stats();
  }
  curl_global_cleanup();

  std::string requests;
  for (const auto& [status, n] : stats.sender.by_status) {
    absl::StrAppend(&requests, requests.empty() ? "" : ",", status == 0 ? "none" : absl::StrCat(status), ":", n);
  }
  nf2::LogInfo(absl::StrCat("[STATS] requests=", stats.sender.requests, " by_status={", requests,
                            "} retries=", stats.sender.retries, " splits=", stats.sender.splits,
                            " dead_lettered_batches=", stats.sender.dead_lettered,
                            " unknown_proto=", stats.parse.unknown_proto));
  if (spool) {
    nf2::LogAlways(absl::StrCat("[REPLAY] records from earlier runs: delivered=",
                                stats.sender.replayed_delivered,
                                " rejected=", stats.sender.replayed_rejected,
                                " still_in_spool_batches=", spool->count()));
  }
  const nf2::pipeline::OutcomeSnapshot s = outcomes.Snapshot();
  nf2::LogAlways("[SUMMARY] " + s.ToString());
  if (!s.Balanced()) {
    nf2::LogError(absl::StrCat("accounting error: ", s.Accounted(), " outcomes for ", s.lines_read,
                               " lines (please report this)"));
    return kExitNotDelivered;
  }
  if (s.rejected + s.spooled + s.undelivered > 0) return kExitNotDelivered;
  if (!cfg.replay_dir.empty() && spool->count() > 0) return kExitNotDelivered;  // not all re-sent
  if (!run_status.ok()) {
    nf2::LogError(std::string(run_status.message()));
    return kExitInputError;
  }
  return kExitOk;
}
