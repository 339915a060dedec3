// nf2ingest: goflow2 JSON lines in, flows.v1 batches out to {API}/v1/ingest.
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/ingest/ingest_pipeline.h"
#include "pipeline/log.h"
#include "stages/sinks/http/spool.h"
#include "tools/nf2ingest/config.h"
#include "tools/nf2ingest/live_view.h"
#include "tools/nf2ingest/load_report.h"
#include "tools/nf2ingest/metrics_server.h"

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
  nf2::SetLogFormat(cfg.log_format);
  nf2::SetLogSecret(cfg.pipeline.sender.key);
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
      p.mapper_threads, "/", p.assembler_threads,
      p.generator ? absl::StrCat(" generate=", p.generator->rate,
                                 "/s duration=", absl::FormatDuration(p.generator->duration))
                  : absl::StrCat(" inputs=", absl::StrJoin(p.source.inputs, ","))));

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
      std::fprintf(stderr,
                   "nf2ingest: invalid setting --dead-letter-dir / DEAD_LETTER_DIR='%s': %s\n",
                   cfg.dead_letter_dir.c_str(), std::string(store.status().message()).c_str());
      return kExitBadConfig;
    }
    dead_letters = std::move(*store);
    p.sender.dead_letters = dead_letters.get();
  }

  // Metrics: always recorded (per batch and request, so cheap), served only
  // with --metrics-addr. A bind failure is bad configuration, found before
  // anything is read.
  nf2::pipeline::MetricsRegistry& registry = nf2::pipeline::MetricsRegistry::Global();
  p.metrics = &registry;
  nf2::pipeline::Outcomes outcomes;
  std::vector<nf2::pipeline::MetricsRegistry::CallbackHandle> gauges;
  {
    // The summary's own numbers, read when scraped, so the two always agree.
    const std::pair<const char*, uint64_t nf2::pipeline::OutcomeSnapshot::*> kOutcomes[] = {
        {"delivered", &nf2::pipeline::OutcomeSnapshot::delivered},
        {"filtered", &nf2::pipeline::OutcomeSnapshot::filtered},
        {"invalid", &nf2::pipeline::OutcomeSnapshot::invalid},
        {"rejected", &nf2::pipeline::OutcomeSnapshot::rejected},
        {"spooled", &nf2::pipeline::OutcomeSnapshot::spooled},
        {"undelivered", &nf2::pipeline::OutcomeSnapshot::undelivered}};
    for (const auto& [name, field] : kOutcomes) {
      gauges.push_back(registry.AddCallback(
          "nf2ingest_records_total", "Input lines by outcome (the [SUMMARY] counts).", "counter",
          {{"outcome", name}},
          [&outcomes, field = field] { return static_cast<double>(outcomes.Snapshot().*field); }));
    }
    gauges.push_back(registry.AddCallback(
        "nf2ingest_lines_read_total", "Input lines read.", "counter", {},
        [&outcomes] { return static_cast<double>(outcomes.Snapshot().lines_read); }));
    nf2::BatchStore* spool_store = spool.get();
    gauges.push_back(registry.AddCallback(
        "nf2ingest_spool_bytes", "Bytes of batches kept in the spool directory.", "gauge", {},
        [spool_store] { return spool_store ? static_cast<double>(spool_store->bytes()) : 0.0; }));
  }
  std::unique_ptr<nf2::MetricsServer> metrics_server;
  if (!cfg.metrics_host.empty()) {
    const auto started = absl::Now();
    const absl::Duration stall = cfg.health_stall;
    // Unhealthy only when data waits and nothing has gone through for the
    // stall time: an idle collector with no flows is healthy.
    auto healthy = [&registry, started, stall]() -> std::pair<bool, std::string> {
      double waiting = registry.Value("nf2ingest_sender_batches_held");
      for (const auto& [labels, v] : registry.Values("nf2ingest_queue_depth")) waiting += v;
      const double last = registry.Value("nf2ingest_last_success_timestamp_seconds");
      const absl::Time since =
          last > 0 ? std::max(started, absl::FromUnixNanos(static_cast<int64_t>(last * 1e9)))
                   : started;
      const absl::Duration quiet = absl::Now() - since;
      if (waiting > 0 && quiet > stall) {
        return {false, absl::StrCat("stalled: no request succeeded for ",
                                    absl::FormatDuration(absl::Trunc(quiet, absl::Seconds(1))),
                                    " while data waits")};
      }
      return {true, "ok"};
    };
    auto server = nf2::MetricsServer::Start(cfg.metrics_host, cfg.metrics_port, &registry, healthy);
    if (!server.ok()) {
      std::fprintf(stderr, "nf2ingest: invalid setting --metrics-addr / METRICS_ADDR='%s:%d': %s\n",
                   cfg.metrics_host.c_str(), cfg.metrics_port,
                   std::string(server.status().message()).c_str());
      return kExitBadConfig;
    }
    metrics_server = std::move(*server);
    nf2::LogInfo(absl::StrCat("[METRICS] serving http://", cfg.metrics_host, ":",
                              metrics_server->port(), "/metrics and /healthz"));
  }

  // One look at the API before reading anything: a refused key ends the run
  // now rather than after the input has been consumed.
  if (absl::Status health = nf2::CheckApiHealth(cfg.api, p.sender.key,
                                                p.sender.connect_timeout + p.sender.timeout / 6);
      !health.ok()) {
    if (absl::IsPermissionDenied(health)) {
      nf2::LogError(std::string(health.message()));
      curl_global_cleanup();
      return kExitKeyRefused;
    }
    nf2::LogWarn(absl::StrCat("API health check failed (carrying on; it may come up later): ",
                              health.message()));
  }

  nf2::pipeline::Shutdown shutdown(absl::ToChronoNanoseconds(cfg.drain_timeout));
  absl::Status run_status;
  nf2::PipelineStats stats;
  // --ramp: the generator asks the judge at the end of every step.
  std::unique_ptr<nf2::RampJudge> ramp;
  if (p.generator && cfg.ramp.steps > 0) {
    ramp = std::make_unique<nf2::RampJudge>(cfg.ramp, &registry);
    p.generator->on_step_end = [&ramp, steps = cfg.ramp.steps](const nf2::GeneratorStep& step) {
      const bool go_on = ramp->OnStepEnd(step);
      nf2::LogAlways(nf2::RampStepLine(ramp->results().back(), steps));
      return go_on;
    };
  }
  const auto run_started = std::chrono::steady_clock::now();
  {
    SignalWatcher watcher(&shutdown);
    nf2::LiveView live(&registry, &outcomes, cfg.stats_interval, isatty(STDERR_FILENO) == 1);
    nf2::IngestPipeline pipeline(p, &outcomes, &shutdown);
    run_status = pipeline.Run();
    stats = pipeline.stats();
    live.Stop();  // erases the progress line before the closing lines
  }
  curl_global_cleanup();
  if (p.generator) {
    nf2::LoadReportInput report;
    report.rate = p.generator->rate;
    report.duration_s = absl::ToDoubleSeconds(p.generator->duration);
    report.wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - run_started).count();
    report.generator = stats.generator;
    report.outcomes = outcomes.Snapshot();
    report.ramp = ramp.get();
    nf2::LogAlways(nf2::LoadReportLine(report, registry));
    if (!cfg.report_path.empty()) {
      std::ofstream out(cfg.report_path, std::ios::trunc);
      out << nf2::LoadReportJson(report, registry);
      if (!out.flush()) nf2::LogError("cannot write the report to " + cfg.report_path);
    }
  }

  std::string requests;
  for (const auto& [status, n] : stats.sender.by_status) {
    absl::StrAppend(&requests, requests.empty() ? "" : ",",
                    status == 0 ? "none" : absl::StrCat(status), ":", n);
  }
  nf2::LogInfo(absl::StrCat("[STATS] requests=", stats.sender.requests, " by_status={", requests,
                            "} retries=", stats.sender.retries, " splits=", stats.sender.splits,
                            " dead_lettered_batches=", stats.sender.dead_lettered,
                            " unknown_proto=", stats.unknown_proto));
  if (spool) {
    nf2::LogAlways(absl::StrCat(
        "[REPLAY] records from earlier runs: delivered=", stats.sender.replayed_delivered,
        " rejected=", stats.sender.replayed_rejected, " still_in_spool_batches=", spool->count()));
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
