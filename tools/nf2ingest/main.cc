// nf2ingest: goflow2 JSON lines in, flows.v1 batches out to {API}/v1/ingest.
//
// main() reads as the run's steps: make the standard descriptors safe, watch
// signals, load the configuration, open the stores, start the metrics
// endpoint, check the key, run the pipeline, print the summary, and turn what
// happened into the exit code (exit_code.h).
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/absl_compat.h"
#include "pipeline/log.h"
#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "pipeline/signal_watcher.h"
#include "stages/ingest/ingest_pipeline.h"
#include "stages/sinks/http/spool.h"
#include "tools/nf2ingest/checkpointer.h"
#include "tools/nf2ingest/config.h"
#include "tools/nf2ingest/exit_code.h"
#include "tools/nf2ingest/health.h"
#include "tools/nf2ingest/live_view.h"
#include "tools/nf2ingest/load_report.h"
#include "tools/nf2ingest/load_timeline.h"
#include "tools/nf2ingest/metrics_server.h"
#include "tools/nf2ingest/netflow_collector.h"

namespace nf2 {
namespace {

using pipeline::MetricsRegistry;
using pipeline::OutcomeSnapshot;

// A descriptor 0-2 closed at start would be handed to the first thing the
// program opens (an eventfd read as "stdin", a spool file written as
// stderr), so each closed one gets /dev/null. Returns whether stdin was closed.
bool OpenStandardDescriptors() {
  bool stdin_closed = false;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    if (fd == 0) stdin_closed = true;
    const int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      dup2(opened, fd);
      close(opened);
    }
  }
  return stdin_closed;
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "a signal";
  }
}

// What a stop request (SIGINT, SIGTERM, SIGHUP) does depends on how far the
// run has got. Before the pipeline runs nothing has been read, so the program
// ends at once, whatever the main thread is waiting for (the health check, a
// key file that is a FIFO). While it runs, the first request drains and the
// second stops now. After it, the program is already ending.
class StopControl {
 public:
  void OnSignal(const pipeline::SignalEvent& event) {
    const char* name = SignalName(event.signo);
    if (event.signo == SIGUSR1 || event.signo == SIGUSR2) {
      LogWarn(absl::StrCat("received ", name, " from pid ", event.sender_pid,
                           ": ignored (nf2ingest gives it no meaning)"));
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    switch (phase_) {
      case Phase::kStarting:
        return ExitBeforeInput(name);
      case Phase::kRunning:
        return RequestStop(name);
      case Phase::kFinished:
        LogInfo(absl::StrCat("received ", name, ": already finishing"));
        return;
    }
  }

  // The pipeline runs with `shutdown` from now on, until Finished().
  void Running(pipeline::Shutdown* shutdown) {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = shutdown;
    phase_ = Phase::kRunning;
  }
  void Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = nullptr;
    phase_ = Phase::kFinished;
  }
  // The code for a stop before any input: 0, or 3 in --replay mode while
  // batches wait in the store.
  void set_early_exit_code(int code) { early_exit_code_ = code; }

 private:
  enum class Phase { kStarting, kRunning, kFinished };

  [[noreturn]] void ExitBeforeInput(const char* name) {
    LogWarn(absl::StrCat("received ", name, " before any input was read: exiting"));
    LogAlways("[SUMMARY] " + OutcomeSnapshot{}.ToString());
    std::fflush(nullptr);
    _exit(early_exit_code_.load());
  }

  void RequestStop(const char* name) {
    if (++requests_ == 1) {
      LogWarn(absl::StrCat("received ", name,
                           ": stopping input and draining (send again to stop at once)"));
    } else {
      LogWarn(absl::StrCat("received ", name, " again: stopping now"));
    }
    shutdown_->RequestStop();
  }

  std::mutex mu_;
  Phase phase_ = Phase::kStarting;
  pipeline::Shutdown* shutdown_ = nullptr;
  int requests_ = 0;
  std::atomic<int> early_exit_code_{kExitOk};
};

// SIGQUIT keeps its default (end with a core dump, for debugging); SIGPIPE
// is ignored so a closed connection shows up as EPIPE.
absl::StatusOr<std::unique_ptr<pipeline::SignalWatcher>> WatchSignals(StopControl* stop) {
  signal(SIGPIPE, SIG_IGN);
  return pipeline::SignalWatcher::Start(
      {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2},
      [stop](const pipeline::SignalEvent& event) { stop->OnSignal(event); });
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

std::string RunId() {
  std::random_device rd;
  return absl::StrCat(absl::Hex((static_cast<uint64_t>(rd()) << 32) | rd(), absl::kZeroPad16));
}

void SetUpLogging(const Config& cfg) {
  SetLogLevel(cfg.log_level);
  SetLogFormat(cfg.log_format);
  SetLogSecret(cfg.pipeline.sender.key);
  for (const auto& w : cfg.warnings) LogWarn(w);
}

const char* HttpVersionLabel(HttpVersion v) {
  return v == HttpVersion::kHttp11 ? "1.1" : v == HttpVersion::kHttp2 ? "2" : "auto";
}

// Where records come from, for the start line.
std::string InputLabel(const Config& cfg) {
  const PipelineOptions& p = cfg.pipeline;
  if (p.generator) {
    return absl::StrCat(" generate=", p.generator->rate,
                        "/s duration=", absl::FormatDuration(p.generator->duration));
  }
  if (p.kafka) {
    const KafkaSourceOptions& k = *p.kafka;
    std::string keys;
    for (const auto& [key, _] : k.options) absl::StrAppend(&keys, keys.empty() ? "" : ",", key);
    return absl::StrCat(" kafka=", k.brokers, " topic=", k.topic, " group=", k.group,
                        " format=", k.format == ChunkFormat::kJsonLines ? "json" : "protobuf",
                        keys.empty() ? "" : " kafka_options=", keys);
  }
  if (!cfg.udp.listen.empty()) {
    std::vector<std::string> urls;
    for (const ListenAddress& a : cfg.udp.listen) urls.push_back("netflow://" + a.ToString());
    return absl::StrCat(" listen=", absl::StrJoin(urls, ","));
  }
  return absl::StrCat(" inputs=", absl::StrJoin(p.source.inputs, ","));
}

void LogStart(const Config& cfg) {
  const PipelineOptions& p = cfg.pipeline;
  LogInfo(absl::StrCat(
      "Starting NetFlow mapper: api=", cfg.api, " collector_id=", p.collector_id,
      " batch_size=", p.batch_size, " flush_interval=", absl::FormatDuration(p.flush_interval),
      " max_records_per_batch=", p.limits.max_records,
      " max_payload_size=", p.limits.max_wire_bytes, " gzip_threshold=", p.limits.gzip_threshold,
      " max_in_flight=", p.sender.adaptive_in_flight ? "auto<=" : "", p.sender.max_in_flight,
      " http_version=", HttpVersionLabel(p.sender.connection.http_version),
      p.sender.connection.proxy.empty()
          ? ""
          : absl::StrCat(" proxy=", UrlWithoutUserinfo(p.sender.connection.proxy)),
      " threads=", p.parser_threads, "/", p.mapper_threads, "/", p.assembler_threads,
      InputLabel(cfg)));
}

struct Stores {
  std::unique_ptr<BatchStore> spool;
  std::unique_ptr<BatchStore> dead_letters;
};

// Opens the spool (or the --replay store) and the dead-letter directory and
// hands them to the sender. A directory we cannot use is bad configuration:
// the message is printed here and nullopt returned.
std::optional<Stores> OpenStores(Config& cfg, StopControl* stop) {
  Stores stores;
  const bool replay = !cfg.replay_dir.empty();
  const std::string spool_dir = replay ? cfg.replay_dir : cfg.spool_dir;
  if (!spool_dir.empty()) {
    auto store = BatchStore::Open(spool_dir, replay ? 0 : cfg.spool_max_bytes);
    if (!store.ok()) {
      std::fprintf(stderr, "nf2ingest: invalid setting %s='%s': %s\n",
                   replay ? "--replay / REPLAY" : "--spool-dir / SPOOL_DIR", spool_dir.c_str(),
                   std::string(store.status().message()).c_str());
      return std::nullopt;
    }
    stores.spool = std::move(*store);
    cfg.pipeline.sender.spool = stores.spool.get();
    if (stores.spool->count() > 0) {
      LogInfo(absl::StrCat("[SPOOL] ", stores.spool->count(), " batches (", stores.spool->bytes(),
                           " bytes) in ", spool_dir, " will be sent first"));
    }
    if (replay) stop->set_early_exit_code(ExitCode({.replay_left = stores.spool->count() > 0}));
  }
  if (!cfg.dead_letter_dir.empty()) {
    auto store = BatchStore::Open(cfg.dead_letter_dir, 0);
    if (!store.ok()) {
      std::fprintf(stderr,
                   "nf2ingest: invalid setting --dead-letter-dir / DEAD_LETTER_DIR='%s': %s\n",
                   cfg.dead_letter_dir.c_str(), std::string(store.status().message()).c_str());
      return std::nullopt;
    }
    stores.dead_letters = std::move(*store);
    cfg.pipeline.sender.dead_letters = stores.dead_letters.get();
  }
  return stores;
}

// --checkpoint-file: loaded and proven writable before any input is read (a
// failure is bad configuration, printed here); null without the setting.
bool OpenCheckpoint(Config& cfg, std::unique_ptr<Checkpointer>* out) {
  if (cfg.checkpoint_path.empty()) return true;
  auto opened = Checkpointer::Open(cfg.checkpoint_path);
  if (!opened.ok()) {
    std::fprintf(stderr,
                 "nf2ingest: invalid setting --checkpoint-file / CHECKPOINT_FILE='%s': %s\n",
                 cfg.checkpoint_path.c_str(), std::string(opened.status().message()).c_str());
    return false;
  }
  *out = std::move(*opened);
  cfg.pipeline.source.checkpoint = (*out)->inputs();
  return true;
}

// The summary's own numbers as metrics, read when scraped, so the two always
// agree. The handles unregister them when dropped.
std::vector<MetricsRegistry::CallbackHandle> RegisterOutcomeMetrics(
    MetricsRegistry& registry, const pipeline::Outcomes& outcomes, const BatchStore* spool) {
  const std::pair<const char*, uint64_t OutcomeSnapshot::*> kOutcomes[] = {
      {"delivered", &OutcomeSnapshot::delivered}, {"filtered", &OutcomeSnapshot::filtered},
      {"invalid", &OutcomeSnapshot::invalid},     {"rejected", &OutcomeSnapshot::rejected},
      {"spooled", &OutcomeSnapshot::spooled},     {"undelivered", &OutcomeSnapshot::undelivered}};
  std::vector<MetricsRegistry::CallbackHandle> handles;
  for (const auto& [name, field] : kOutcomes) {
    handles.push_back(registry.AddCallback(
        "nf2ingest_records_total", "Input lines by outcome (the [SUMMARY] counts).", "counter",
        {{"outcome", name}},
        [&outcomes, field = field] { return static_cast<double>(outcomes.Snapshot().*field); }));
  }
  handles.push_back(registry.AddCallback(
      "nf2ingest_lines_read_total", "Input lines read.", "counter", {},
      [&outcomes] { return static_cast<double>(outcomes.Snapshot().lines_read); }));
  handles.push_back(registry.AddCallback(
      "nf2ingest_spool_bytes", "Bytes of batches kept in the spool directory.", "gauge", {},
      [spool] { return spool ? static_cast<double>(spool->bytes()) : 0.0; }));
  return handles;
}

// /healthz, judged by HealthVerdict from the registry.
MetricsServer::HealthFn StallCheck(const MetricsRegistry& registry, absl::Duration stall) {
  return [&registry, started = absl::Now(), stall] {
    return HealthVerdict(registry, started, absl::Now(), stall);
  };
}

// Serves /metrics and /healthz with --metrics-addr (nullptr without). A bind
// failure is bad configuration, found before anything is read: the message is
// printed here and false returned.
bool StartMetricsServer(const Config& cfg, MetricsRegistry& registry,
                        std::unique_ptr<MetricsServer>* server) {
  if (cfg.metrics_host.empty()) return true;
  auto started = MetricsServer::Start(cfg.metrics_host, cfg.metrics_port, &registry,
                                      StallCheck(registry, cfg.health_stall));
  if (!started.ok()) {
    std::fprintf(stderr, "nf2ingest: invalid setting --metrics-addr / METRICS_ADDR='%s:%d': %s\n",
                 cfg.metrics_host.c_str(), cfg.metrics_port,
                 std::string(started.status().message()).c_str());
    return false;
  }
  *server = std::move(*started);
  LogInfo(absl::StrCat("[METRICS] serving http://", cfg.metrics_host, ":", (*server)->port(),
                       "/metrics and /healthz"));
  return true;
}

// The report files are written at the end; a path that cannot be written is
// bad configuration, found before a long load test rather than after it.
bool ReportPathsWritable(const Config& cfg) {
  const std::pair<const char*, const std::string*> paths[] = {
      {"--report / REPORT", &cfg.report_path},
      {"--report-html / REPORT_HTML", &cfg.report_html_path}};
  return std::ranges::all_of(paths, [](const auto& setting_path) {
    const auto& [setting, path] = setting_path;
    if (path->empty()) return true;
    const int fd = open(path->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "nf2ingest: invalid setting %s='%s': %s\n", setting, path->c_str(),
                   std::strerror(errno));
      return false;
    }
    close(fd);
    return true;
  });
}

// One look at the API before reading anything: a refused key or a TLS
// failure ends the run now rather than after the input has been consumed
// (waiting cannot fix either). Any other failure is only a warning (the API
// may come up later).
enum class StartCheck { kGo, kKeyRefused, kTlsFailed };
StartCheck CheckApiAtStart(const Config& cfg) {
  const SenderOptions& s = cfg.pipeline.sender;
  const absl::Status health =
      CheckApiHealth(cfg.api, s.key, s.connect_timeout + s.timeout / 6, s.connection);
  if (health.ok()) return StartCheck::kGo;
  if (absl::IsPermissionDenied(health)) {
    LogError(std::string(health.message()));
    return StartCheck::kKeyRefused;
  }
  if (absl::IsFailedPrecondition(health)) {
    LogError(std::string(health.message()));
    return StartCheck::kTlsFailed;
  }
  LogWarn(absl::StrCat("API health check failed (carrying on; it may come up later): ",
                       health.message()));
  return StartCheck::kGo;
}

// --ramp: the generator asks the judge at the end of every step.
std::unique_ptr<RampJudge> SetUpRamp(Config& cfg, MetricsRegistry& registry,
                                     TimelineRecorder* timeline) {
  PipelineOptions& p = cfg.pipeline;
  if (!p.generator || cfg.ramp.steps == 0) return nullptr;
  auto ramp = std::make_unique<RampJudge>(cfg.ramp, &registry);
  p.generator->on_step_end = [judge = ramp.get(), steps = cfg.ramp.steps,
                              timeline](const GeneratorStep& s) {
    const bool go_on = judge->OnStepEnd(s);
    if (timeline) timeline->CloseStep(s.index);
    LogAlways(RampStepLine(judge->results().back(), steps));
    return go_on;
  };
  return ramp;
}

// Load-test mode: the per-second timeline behind the report's charts. The
// schedule's offered lines end with the last step the ramp ran.
std::unique_ptr<TimelineRecorder> StartTimeline(const Config& cfg, const MetricsRegistry& registry,
                                                const std::unique_ptr<RampJudge>* ramp) {
  if (!cfg.pipeline.generator) return nullptr;
  const GeneratorSourceOptions& g = *cfg.pipeline.generator;
  const int steps = std::max(1, cfg.ramp.steps);
  auto offered_at = [rate = g.rate, step_s = absl::ToDoubleSeconds(g.duration), steps,
                     ramp](double t) {
    const RampJudge* judge = ramp->get();
    const bool stopped = judge && !judge->stop_reason().empty();
    const int ran = stopped ? static_cast<int>(judge->results().size()) : steps;
    return ScheduledLines(rate, step_s, ran, t);
  };
  return std::make_unique<TimelineRecorder>(&registry, offered_at, cfg.ramp.steps > 0);
}

struct PipelineRun {
  absl::Status status;  // the source's: an input that could not be read
  PipelineStats stats;
  double wall_s = 0;
};

PipelineRun RunPipeline(const Config& cfg, pipeline::Outcomes* outcomes, MetricsRegistry& registry,
                        StopControl* stop) {
  pipeline::Shutdown shutdown(absl::ToChronoNanoseconds(cfg.drain_timeout));
  const auto started = std::chrono::steady_clock::now();
  PipelineRun run;
  stop->Running(&shutdown);
  {
    LiveView live(&registry, outcomes, cfg.stats_interval, isatty(STDERR_FILENO) == 1);
    IngestPipeline pipeline(cfg.pipeline, outcomes, &shutdown);
    run.status = pipeline.Run();
    run.stats = pipeline.stats();
    live.Stop();  // erases the progress line before the closing lines
  }
  stop->Finished();
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

ReportSettings SettingsForReport(const Config& cfg) {
  const PipelineOptions& p = cfg.pipeline;
  return {UrlWithoutUserinfo(cfg.api), p.batch_size, absl::StrCat(p.sender.max_in_flight),
          absl::StrCat(Av(GzipImplName(p.gzip_impl)), " level ", p.gzip_level, " above ",
                       p.limits.gzip_threshold, " bytes")};
}

void WriteReportFile(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) LogError("cannot write the report to " + path);
}

void WriteLoadReport(const Config& cfg, const PipelineRun& run, const OutcomeSnapshot& outcomes,
                     const MetricsRegistry& registry, const RampJudge* ramp,
                     const LoadTimeline* timeline) {
  LoadReportInput report;
  report.rate = cfg.pipeline.generator->rate;
  report.duration_s = absl::ToDoubleSeconds(cfg.pipeline.generator->duration);
  report.wall_s = run.wall_s;
  report.generator = run.stats.generator;
  report.outcomes = outcomes;
  report.ramp = ramp;
  report.timeline = timeline;
  report.settings = SettingsForReport(cfg);
  LogAlways(LoadReportLine(report, registry));
  WriteReportFile(cfg.report_path, LoadReportJson(report, registry));
  WriteReportFile(cfg.report_html_path, LoadReportHtml(report, registry));
}

// [STATS], [REPLAY] (with a spool), any error that decides the exit code,
// and last of all [SUMMARY].
void PrintSummary(const PipelineRun& run, const OutcomeSnapshot& s, const BatchStore* spool) {
  const SenderStats& sender = run.stats.sender;
  std::string requests;
  for (const auto& [status, n] : sender.by_status) {
    absl::StrAppend(&requests, requests.empty() ? "" : ",",
                    status == 0 ? "none" : absl::StrCat(status), ":", n);
  }
  LogInfo(absl::StrCat("[STATS] requests=", sender.requests, " by_status={", requests,
                       "} retries=", sender.retries, " splits=", sender.splits,
                       " dead_lettered_batches=", sender.dead_lettered,
                       " unknown_proto=", run.stats.unknown_proto));
  if (spool) {
    LogAlways(absl::StrCat(
        "[REPLAY] records from earlier runs: delivered=", sender.replayed_delivered,
        " rejected=", sender.replayed_rejected, " still_in_spool_batches=", spool->count()));
  }
  if (!run.status.ok()) {
    LogError(absl::StrCat("not every input could be read: ", run.status.message()));
  }
  if (!run.stats.kafka_summary.empty()) LogAlways(run.stats.kafka_summary);
  if (!s.Balanced()) {
    LogError(absl::StrCat("accounting error: ", s.Accounted(), " outcomes for ", s.lines_read,
                          " lines (please report this)"));
  }
  LogAlways("[SUMMARY] " + s.ToString());
}

// Everything after the configuration is known.
int Run(Config& cfg, StopControl* stop) {
  CurlGlobal curl;
  cfg.pipeline.sender.run_id = RunId();
  LogStart(cfg);
  std::optional<Stores> stores = OpenStores(cfg, stop);
  if (!stores) return ExitCode({.bad_config = true});
  std::unique_ptr<Checkpointer> checkpointer;
  if (!OpenCheckpoint(cfg, &checkpointer)) return ExitCode({.bad_config = true});
  std::unique_ptr<NetflowCollector> netflow;
  if (!cfg.udp.listen.empty()) {
    netflow = NetflowCollector::Open(cfg);
    if (!netflow) return ExitCode({.bad_config = true});
    netflow->Attach(&cfg.pipeline);
  }
  MetricsRegistry& registry = MetricsRegistry::Global();
  cfg.pipeline.metrics = &registry;
  pipeline::Outcomes outcomes;
  const auto outcome_metrics = RegisterOutcomeMetrics(registry, outcomes, stores->spool.get());
  const auto checkpoint_metrics =
      checkpointer ? checkpointer->RegisterMetrics(registry, cfg.pipeline.source.inputs)
                   : std::vector<MetricsRegistry::CallbackHandle>();
  std::unique_ptr<MetricsServer> metrics_server;
  if (!StartMetricsServer(cfg, registry, &metrics_server)) return ExitCode({.bad_config = true});
  if (!ReportPathsWritable(cfg)) return ExitCode({.bad_config = true});
  if (const StartCheck check = CheckApiAtStart(cfg); check != StartCheck::kGo) {
    return ExitCode({.key_refused = check == StartCheck::kKeyRefused,
                     .tls_failed = check == StartCheck::kTlsFailed});
  }

  std::unique_ptr<RampJudge> ramp;
  const std::unique_ptr<TimelineRecorder> timeline = StartTimeline(cfg, registry, &ramp);
  ramp = SetUpRamp(cfg, registry, timeline.get());
  if (checkpointer) checkpointer->Start();
  if (netflow) netflow->Start(&registry);
  const PipelineRun run = RunPipeline(cfg, &outcomes, registry, stop);
  if (checkpointer) checkpointer->Finish();  // the sender is done: the final offsets
  if (netflow) {
    netflow->Finish();  // the templates as the last datagram left them
    LogAlways(netflow->SummaryLine(run.stats.datagrams));
  }
  const OutcomeSnapshot snapshot = outcomes.Snapshot();
  if (timeline) timeline->Stop();
  if (cfg.pipeline.generator) {
    WriteLoadReport(cfg, run, snapshot, registry, ramp.get(),
                    timeline ? &timeline->timeline() : nullptr);
  }
  PrintSummary(run, snapshot, stores->spool.get());
  return ExitCode({.input_error = !run.status.ok(),
                   .outcomes = snapshot,
                   .replay_left = !cfg.replay_dir.empty() && stores->spool->count() > 0});
}

}  // namespace
}  // namespace nf2

int main(int argc, char** argv) {
  // Before anything opens a descriptor or starts a thread.
  const bool stdin_was_closed = nf2::OpenStandardDescriptors();
  nf2::StopControl stop;
  // Before anything can block (a key file that is a FIFO, the health check),
  // so a stop request works from the first instant.
  auto watcher = nf2::WatchSignals(&stop);
  if (!watcher.ok()) {
    std::fprintf(stderr, "nf2ingest: cannot watch signals: %s\n",
                 std::string(watcher.status().message()).c_str());
    return nf2::ExitCode({.bad_config = true});
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cfg = nf2::LoadConfig(args, [](const char* name) { return std::getenv(name); });
  if (!cfg.ok()) {
    std::fprintf(stderr, "nf2ingest: %s\n", std::string(cfg.status().message()).c_str());
    return nf2::ExitCode({.bad_config = true});
  }
  if (cfg->help) {
    std::fputs(nf2::HelpText().c_str(), stdout);
    return nf2::kExitOk;
  }
  nf2::SetUpLogging(*cfg);
  cfg->pipeline.source.stdin_closed = stdin_was_closed;
  return nf2::Run(*cfg, &stop);
}
