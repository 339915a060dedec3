#include "tools/nf2ingest/config.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/absl_compat.h"
#include "stages/flows/flow_record_json.h"
#include "tools/nf2ingest/cpu_budget.h"

namespace nf2 {
namespace {

struct Setting {
  const char* flag;  // without the leading "--"
  const char* env;
  std::string default_value;
  const char* help;
};

// One thread per pool per CPU this process may use (affinity and cgroup
// quota, not the machine's count).
std::string DefaultThreads() { return std::to_string(CpuBudget()); }

const std::vector<Setting>& Settings() {
  static const auto* settings = new std::vector<Setting>{
      {"api", "API", "http://telemetry-api:8080", "API base URL; /v1/ingest is appended"},
      {"key-file", "KEY_FILE", "",
       "file whose first line is the Bearer key (else the KEY variable, default TEST_KEY)"},
      {"collector-id", "COLLECTOR_ID", "gw-local", "collector_id in every payload"},
      {"batch-size", "BATCH_SIZE", "200", "records per batch"},
      {"flush-interval", "FLUSH_INTERVAL", "1", "seconds before a partial batch is sent"},
      {"max-records-per-batch", "MAX_RECORDS_PER_BATCH", "10000",
       "hard cap on records per request"},
      {"max-payload-size", "MAX_PAYLOAD_SIZE", "5242880",
       "hard cap on bytes per request, on the wire"},
      {"gzip-threshold", "GZIP_THRESHOLD", "51200", "gzip bodies larger than this many bytes"},
      {"gzip-impl", "GZIP_IMPL", "isal", "gzip implementation: isal, libdeflate or zlib"},
      {"gzip-level", "GZIP_LEVEL", "1", "gzip level (isal 0..3, libdeflate 1..12, zlib 1..9)"},
      {"json-parser", "JSON_PARSER", "simdjson", "JSON parser: simdjson or rapidjson"},
      {"log-level", "LOG_LEVEL", "INFO", "DEBUG, INFO, WARN or ERROR"},
      {"max-in-flight", "MAX_IN_FLIGHT", "4", "concurrent POST requests"},
      {"timeout", "TIMEOUT", "30", "seconds for one request, answer included"},
      {"connect-timeout", "CONNECT_TIMEOUT", "5", "seconds to connect"},
      {"retry-initial", "RETRY_INITIAL", "0.5",
       "first retry backoff cap, seconds (doubles per retry)"},
      {"retry-max", "RETRY_MAX", "30", "largest retry backoff, seconds"},
      {"drain-timeout", "DRAIN_TIMEOUT", "30",
       "seconds after input ends (EOF or signal) to finish sending; then the rest is spooled or "
       "undelivered"},
      {"retry-on", "RETRY_ON", "408,429,5xx,network",
       "failures to retry: HTTP statuses, 5xx (all but 501) and network"},
      {"spool-dir", "SPOOL_DIR", "",
       "directory for batches that cannot be delivered yet (replayed when the API answers)"},
      {"spool-max-bytes", "SPOOL_MAX_BYTES", "1073741824",
       "spool size cap; a full spool holds the input back, it never deletes"},
      {"durable", "DURABLE", "false",
       "write every batch to the spool before sending it (needs --spool-dir)"},
      {"retry-max-duration", "RETRY_MAX_DURATION", "60",
       "with a spool: after this many seconds without a success, new batches go to disk"},
      {"dead-letter-dir", "DEAD_LETTER_DIR", "",
       "directory for batches the API rejects for good, with its answer"},
      {"replay", "REPLAY", "",
       "re-send the batches of a dead-letter or spool directory, then exit (no input is read)"},
      {"parser-threads", "PARSER_THREADS", DefaultThreads(), "JSON parser threads"},
      {"mapper-threads", "MAPPER_THREADS", DefaultThreads(), "flows.v1 mapper threads"},
      {"assembler-threads", "ASSEMBLER_THREADS", DefaultThreads(),
       "batch assembler (and gzip) threads"},
      {"queue-chunks", "QUEUE_CHUNKS", "4", "chunks each queue between stages holds"},
      {"chunk-bytes", "CHUNK_BYTES", "1048576", "bytes of input read per chunk"},
      {"max-line-bytes", "MAX_LINE_BYTES", "1048576", "longer input lines are counted invalid"},
      {"stats-interval", "STATS_INTERVAL", "10",
       "seconds between live stats lines (a progress line on a terminal); 0 = off"},
      {"metrics-addr", "METRICS_ADDR", "",
       "HOST:PORT to serve Prometheus /metrics and /healthz on (port 0 = any free port)"},
      {"health-stall-seconds", "HEALTH_STALL_SECONDS", "60",
       "/healthz answers 503 when no request has succeeded for this long while data waits"},
      {"log-format", "LOG_FORMAT", "text", "text, or json (one object per line: time, level, msg)"},
      {"generate", "GENERATE", "",
       "load-test mode: generate this many records per second (open loop) instead of reading "
       "input"},
      {"duration", "DURATION", "10",
       "load-test mode: seconds to generate for (with --ramp: seconds per step)"},
      {"report", "REPORT", "", "load-test mode: write the JSON report to this file"},
      {"ramp", "RAMP", "0",
       "load-test mode: run up to this many steps at 1x, 2x, 3x ... the --generate rate, "
       "stopping at the first step whose latency, errors or backlog break the limits below "
       "(0 = one fixed rate)"},
      {"ramp-max-p99-ms", "RAMP_MAX_P99_MS", "1000",
       "with --ramp: a step fails when its p99 request latency is above this"},
      {"ramp-max-error-ratio", "RAMP_MAX_ERROR_RATIO", "0.01",
       "with --ramp: a step fails when more than this share of its requests are not answered 2xx"},
  };
  return *settings;
}

std::string Name(const Setting& s) { return absl::StrCat("--", s.flag, " / ", s.env); }

absl::Status Bad(const Setting& s, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid setting ", Name(s), "='", value, "': ", why));
}

class Resolver {
 public:
  explicit Resolver(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  const Setting& Find(std::string_view flag) const {
    for (const auto& s : Settings()) {
      if (flag == s.flag) return s;
    }
    std::abort();  // programming error: a flag missing from the table
  }
  std::string Str(std::string_view flag) const { return values_.at(std::string(flag)); }

  absl::StatusOr<int64_t> PositiveInt(std::string_view flag, int64_t max = INT64_MAX) const {
    const Setting& s = Find(flag);
    const std::string v = Str(flag);
    int64_t n;
    if (!absl::SimpleAtoi(v, &n)) return Bad(s, v, "not a whole number");
    if (n <= 0) return Bad(s, v, "must be greater than 0");
    if (n > max) return Bad(s, v, absl::StrCat("must be at most ", max));
    return n;
  }
  absl::StatusOr<int64_t> NonNegativeInt(std::string_view flag) const {
    const Setting& s = Find(flag);
    const std::string v = Str(flag);
    int64_t n;
    if (!absl::SimpleAtoi(v, &n)) return Bad(s, v, "not a whole number");
    if (n < 0) return Bad(s, v, "must not be negative");
    return n;
  }
  // A finite number: above 0 (kPositive) or in 0..1 (kRatio).
  enum class Range { kPositive, kRatio };
  absl::StatusOr<double> Double(std::string_view flag, Range range) const {
    const Setting& s = Find(flag);
    const std::string v = Str(flag);
    double d;
    if (!absl::SimpleAtod(v, &d) || !std::isfinite(d)) return Bad(s, v, "not a number");
    if (range == Range::kPositive && d <= 0) return Bad(s, v, "must be greater than 0");
    if (range == Range::kRatio && (d < 0 || d > 1)) return Bad(s, v, "must be between 0 and 1");
    return d;
  }
  absl::StatusOr<absl::Duration> Seconds(std::string_view flag, bool allow_zero) const {
    const Setting& s = Find(flag);
    const std::string v = Str(flag);
    double d;
    if (!absl::SimpleAtod(v, &d) || !std::isfinite(d)) return Bad(s, v, "not a number of seconds");
    if (d < 0 || (!allow_zero && d == 0)) {
      return Bad(s, v, allow_zero ? "must not be negative" : "must be greater than 0");
    }
    if (d > 365.0 * 24 * 3600) return Bad(s, v, "more than a year");
    return absl::Seconds(d);
  }

 private:
  std::map<std::string, std::string> values_;
};

#define ASSIGN_OR_RETURN(lhs, expr)             \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = *lhs##_or

absl::StatusOr<std::string> ReadKey(const std::string& key_file, const GetEnvFn& getenv) {
  std::string key;
  if (!key_file.empty()) {
    std::ifstream in(key_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid setting --key-file / KEY_FILE='", key_file, "': cannot read it"));
    }
    std::getline(in, key);
    key = std::string(absl::StripAsciiWhitespace(key));
    if (key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid setting --key-file / KEY_FILE='",
                                                     key_file, "': the file is empty"));
    }
  } else {
    const char* env = getenv("KEY");
    key = env ? env : "TEST_KEY";
    if (key.empty()) return absl::InvalidArgumentError("invalid setting KEY: it is empty");
  }
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      // Never echo the key itself, even in an error.
      return absl::InvalidArgumentError(
          "invalid setting KEY / --key-file: the key contains control characters");
    }
  }
  return key;
}

absl::Status ValidateApi(const Setting& s, std::string* api) {
  std::string v = *api;
  while (!v.empty() && v.back() == '/') v.pop_back();
  const bool http = absl::StartsWith(v, "http://");
  const bool https = absl::StartsWith(v, "https://");
  if (!http && !https) return Bad(s, *api, "not an http:// or https:// URL");
  std::string_view rest = std::string_view(v).substr(http ? 7 : 8);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    return Bad(s, *api, "the URL has no host");
  }
  for (char c : rest) {
    if (c == ' ' || c == '?' || c == '#' || static_cast<unsigned char>(c) < 0x20) {
      return Bad(s, *api, "the URL contains a space, query or fragment");
    }
  }
  *api = v;
  return absl::OkStatus();
}

}  // namespace

std::string HelpText() {
  std::string out =
      "nf2ingest: goflow2 JSON lines -> flows.v1 -> batched POST {API}/v1/ingest\n\n"
      "usage: nf2ingest [flags] [INPUT...]\n"
      "  INPUT  files or FIFOs to read in turn; '-' or none means stdin\n\n"
      "Every flag can also be set by its environment variable; flags win.\n"
      "The key comes from KEY or --key-file only, never from a flag (it would show in ps).\n\n";
  for (const auto& s : Settings()) {
    absl::StrAppendFormat(&out, "  --%-22s %-22s %s (default: %s)\n", s.flag, s.env, s.help,
                          s.default_value.empty() ? "none" : s.default_value);
  }
  absl::StrAppend(&out, "  --", absl::StrFormat("%-22s", "help"), " ", absl::StrFormat("%-22s", ""),
                  " show this text\n",
                  "\nExit codes: 0 every mappable record delivered; 1 an input could not be read; "
                  "2 bad configuration;\n3 records rejected, spooled or undelivered; "
                  "4 the API refused the key.\n");
  return out;
}

absl::StatusOr<Config> LoadConfig(const std::vector<std::string>& args, const GetEnvFn& getenv) {
  std::map<std::string, std::string> values;
  for (const auto& s : Settings()) {
    const char* env = getenv(s.env);
    values[s.flag] = env ? std::string(env) : s.default_value;
  }
  Config cfg;
  std::vector<std::string> inputs;
  bool only_inputs = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_inputs || arg == "-" || !absl::StartsWith(arg, "-")) {
      inputs.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_inputs = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      cfg.help = true;
      return cfg;
    }
    std::string name = arg.substr(absl::StartsWith(arg, "--") ? 2 : 1);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "key") {
      return absl::InvalidArgumentError(
          "unknown flag --key: the key is read from the KEY variable or --key-file, never from "
          "the command line (it would be visible in ps)");
    }
    const Setting* setting = nullptr;
    for (const auto& s : Settings()) {
      if (name == s.flag) setting = &s;
    }
    if (!setting) {
      // Name the flag without its value: a mistyped --token=... must not
      // print the secret it carries.
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value && std::string_view(setting->flag) == "durable") value = "true";
    if (!value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    values[setting->flag] = *value;
  }
  if (inputs.empty()) inputs.push_back("-");

  Resolver r(std::move(values));
  PipelineOptions& p = cfg.pipeline;

  cfg.api = r.Str("api");
  if (auto st = ValidateApi(r.Find("api"), &cfg.api); !st.ok()) return st;
  ASSIGN_OR_RETURN(key, ReadKey(r.Str("key-file"), getenv));
  p.sender.key = key;
  p.sender.ingest_url = cfg.api + "/v1/ingest";

  p.collector_id = r.Str("collector-id");
  if (p.collector_id.empty()) {
    return Bad(r.Find("collector-id"), "", "must not be empty");
  }

  ASSIGN_OR_RETURN(max_records, r.PositiveInt("max-records-per-batch"));
  ASSIGN_OR_RETURN(batch_size, r.PositiveInt("batch-size"));
  ASSIGN_OR_RETURN(max_payload, r.PositiveInt("max-payload-size"));
  ASSIGN_OR_RETURN(gzip_threshold, r.NonNegativeInt("gzip-threshold"));
  p.limits.max_records = static_cast<size_t>(max_records);
  p.limits.max_wire_bytes = static_cast<size_t>(max_payload);
  p.limits.gzip_threshold = static_cast<size_t>(gzip_threshold);
  p.batch_size = static_cast<size_t>(batch_size);
  if (p.batch_size > p.limits.max_records) {
    cfg.warnings.push_back(absl::StrCat("BATCH_SIZE ", p.batch_size,
                                        " is above MAX_RECORDS_PER_BATCH; clamped to ",
                                        p.limits.max_records));
    p.batch_size = p.limits.max_records;
  }
  // One record of the widest shape, in its envelope, must fit in a request.
  const size_t envelope =
      std::string_view("{\"records\":[").size() +
      std::string_view("],\"collector_id\":\"\",\"format\":\"flows.v1\"}").size() +
      JsonEscape(p.collector_id).size();
  const size_t smallest = envelope + MaxFlowRecordJsonSize();
  if (p.limits.max_wire_bytes < smallest) {
    return Bad(r.Find("max-payload-size"), r.Str("max-payload-size"),
               absl::StrCat("too small to hold one record; needs at least ", smallest, " bytes"));
  }

  ASSIGN_OR_RETURN(flush, r.Seconds("flush-interval", false));
  p.flush_interval = flush;

  auto impl = GzipImplFromName(r.Str("gzip-impl"));
  if (!impl.ok()) return Bad(r.Find("gzip-impl"), r.Str("gzip-impl"), impl.status().message());
  p.gzip_impl = *impl;
  ASSIGN_OR_RETURN(level, r.NonNegativeInt("gzip-level"));
  if (auto st = ValidateGzipLevel(p.gzip_impl, static_cast<int>(std::min<int64_t>(level, 1000)));
      !st.ok()) {
    return Bad(r.Find("gzip-level"), r.Str("gzip-level"), st.message());
  }
  p.gzip_level = static_cast<int>(level);
  auto parser = JsonParserKindFromName(r.Str("json-parser"));
  if (!parser.ok()) {
    return Bad(r.Find("json-parser"), r.Str("json-parser"), parser.status().message());
  }
  p.json_parser = *parser;

  auto log_level = LogLevelFromName(r.Str("log-level"));
  if (!log_level.ok()) {
    return Bad(r.Find("log-level"), r.Str("log-level"), log_level.status().message());
  }
  cfg.log_level = *log_level;

  ASSIGN_OR_RETURN(in_flight, r.PositiveInt("max-in-flight", 1024));
  p.sender.max_in_flight = static_cast<int>(in_flight);
  ASSIGN_OR_RETURN(timeout, r.Seconds("timeout", false));
  ASSIGN_OR_RETURN(connect_timeout, r.Seconds("connect-timeout", false));
  ASSIGN_OR_RETURN(retry_initial, r.Seconds("retry-initial", false));
  ASSIGN_OR_RETURN(retry_max, r.Seconds("retry-max", false));
  if (retry_max < retry_initial) {
    return Bad(r.Find("retry-max"), r.Str("retry-max"), "must not be below --retry-initial");
  }
  p.sender.timeout = timeout;
  p.sender.connect_timeout = connect_timeout;
  p.sender.retry_initial = retry_initial;
  p.sender.retry_max = retry_max;
  ASSIGN_OR_RETURN(drain, r.Seconds("drain-timeout", true));
  cfg.drain_timeout = drain;

  ASSIGN_OR_RETURN(parsers, r.PositiveInt("parser-threads", 256));
  ASSIGN_OR_RETURN(mappers, r.PositiveInt("mapper-threads", 256));
  ASSIGN_OR_RETURN(assemblers, r.PositiveInt("assembler-threads", 256));
  p.parser_threads = static_cast<int>(parsers);
  p.mapper_threads = static_cast<int>(mappers);
  p.assembler_threads = static_cast<int>(assemblers);
  ASSIGN_OR_RETURN(queue_chunks, r.PositiveInt("queue-chunks", 4096));
  p.queue_chunks = static_cast<size_t>(queue_chunks);
  ASSIGN_OR_RETURN(chunk_bytes, r.PositiveInt("chunk-bytes", 64 << 20));
  ASSIGN_OR_RETURN(max_line, r.PositiveInt("max-line-bytes", 64 << 20));
  if (chunk_bytes < 4096)
    return Bad(r.Find("chunk-bytes"), r.Str("chunk-bytes"), "must be at least 4096");
  p.source.chunk_bytes = static_cast<size_t>(chunk_bytes);
  p.source.max_line_bytes = static_cast<size_t>(std::max(max_line, chunk_bytes));

  auto retry_on = RetryOn::Parse(r.Str("retry-on"));
  if (!retry_on.ok())
    return Bad(r.Find("retry-on"), r.Str("retry-on"), retry_on.status().message());
  p.sender.retry_on = *retry_on;
  cfg.spool_dir = r.Str("spool-dir");
  cfg.dead_letter_dir = r.Str("dead-letter-dir");
  cfg.replay_dir = r.Str("replay");
  ASSIGN_OR_RETURN(spool_max, r.PositiveInt("spool-max-bytes"));
  cfg.spool_max_bytes = static_cast<uint64_t>(spool_max);
  const std::string durable = absl::AsciiStrToLower(r.Str("durable"));
  if (durable == "true" || durable == "1" || durable == "yes") {
    p.sender.durable = true;
  } else if (durable != "false" && durable != "0" && durable != "no" && !durable.empty()) {
    return Bad(r.Find("durable"), r.Str("durable"), "not true or false");
  }
  if (p.sender.durable && cfg.spool_dir.empty()) {
    return Bad(r.Find("durable"), r.Str("durable"), "needs --spool-dir / SPOOL_DIR");
  }
  ASSIGN_OR_RETURN(retry_max_duration, r.Seconds("retry-max-duration", false));
  p.sender.retry_max_duration = retry_max_duration;
  if (!cfg.replay_dir.empty()) {
    if (inputs.size() != 1 || inputs[0] != "-") {
      return Bad(r.Find("replay"), r.Str("replay"), "reads no input: do not name input files");
    }
    inputs.clear();
    p.replay_only = true;
    p.sender.replay_only = true;
  }

  ASSIGN_OR_RETURN(stats_interval, r.Seconds("stats-interval", true));
  cfg.stats_interval = stats_interval;
  ASSIGN_OR_RETURN(health_stall, r.Seconds("health-stall-seconds", false));
  cfg.health_stall = health_stall;
  if (const std::string addr = r.Str("metrics-addr"); !addr.empty()) {
    const size_t colon = addr.rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 || port > 65535) {
      return Bad(r.Find("metrics-addr"), addr, "not HOST:PORT (e.g. 0.0.0.0:9464)");
    }
    cfg.metrics_host = addr.substr(0, colon);
    // [::1]:9464 names an IPv6 host.
    if (cfg.metrics_host.size() > 2 && cfg.metrics_host.front() == '[' &&
        cfg.metrics_host.back() == ']') {
      cfg.metrics_host = cfg.metrics_host.substr(1, cfg.metrics_host.size() - 2);
    }
    cfg.metrics_port = port;
  }
  auto log_format = LogFormatFromName(r.Str("log-format"));
  if (!log_format.ok()) {
    return Bad(r.Find("log-format"), r.Str("log-format"), log_format.status().message());
  }
  cfg.log_format = *log_format;
  cfg.report_path = r.Str("report");
  if (const std::string rate = r.Str("generate"); !rate.empty()) {
    double d;
    if (!absl::SimpleAtod(rate, &d) || !std::isfinite(d) || d <= 0 || d > 1e9) {
      return Bad(r.Find("generate"), rate, "not a rate in records per second (0 < RATE <= 1e9)");
    }
    ASSIGN_OR_RETURN(duration, r.Seconds("duration", false));
    if (inputs.size() != 1 || inputs[0] != "-") {
      return Bad(r.Find("generate"), rate, "reads no input: do not name input files");
    }
    if (p.replay_only) return Bad(r.Find("generate"), rate, "cannot be combined with --replay");
    GeneratorSourceOptions g;
    g.rate = d;
    g.duration = duration;
    g.chunk_bytes = p.source.chunk_bytes;
    ASSIGN_OR_RETURN(steps, r.NonNegativeInt("ramp"));
    if (steps > 1000) return Bad(r.Find("ramp"), r.Str("ramp"), "must be at most 1000");
    if (steps > 0) {
      // Every step must send batches for its latency to be measured.
      if (duration < 2 * p.flush_interval) {
        return Bad(r.Find("duration"), r.Str("duration"),
                   "with --ramp each step must last at least twice --flush-interval");
      }
      if (d * static_cast<double>(steps) > 1e9) {
        return Bad(r.Find("ramp"), r.Str("ramp"), "the last step's rate would exceed 1e9/s");
      }
      g.steps = static_cast<int>(steps);
      cfg.ramp.steps = g.steps;
      ASSIGN_OR_RETURN(p99, r.Double("ramp-max-p99-ms", Resolver::Range::kPositive));
      cfg.ramp.max_p99_ms = p99;
      ASSIGN_OR_RETURN(ratio, r.Double("ramp-max-error-ratio", Resolver::Range::kRatio));
      cfg.ramp.max_error_ratio = ratio;
    }
    p.generator = g;
    inputs.clear();
  } else if (!cfg.report_path.empty()) {
    return Bad(r.Find("report"), cfg.report_path, "only for load-test mode (--generate)");
  } else if (r.Str("ramp") != "0") {
    return Bad(r.Find("ramp"), r.Str("ramp"), "only for load-test mode (--generate)");
  }

  p.source.inputs = std::move(inputs);
  return cfg;
}

}  // namespace nf2
