#include "sink_options.h"

#include <algorithm>
#include <fstream>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "pipeline/absl_compat.h"
#include "pipeline/settings.h"

namespace ingest_sink {
namespace {

using nf2::BadSetting;
using nf2::FlagValue;
using nf2::IntInto;
using nf2::Setting;
using nf2::SettingsTable;
using nf2::StringInto;

absl::Status ParseScript(const Setting& s, std::string_view value, SinkOptions* options) {
  options->script.clear();
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view token = TrimBlanks(value.substr(0, comma));
    const std::optional<FaultAction> action = ParseScriptToken(token);
    if (!action) {
      return BadSetting(s, token, "not an HTTP status 200..299/400..599, 'close' or 'slow'");
    }
    options->script.push_back(*action);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return absl::OkStatus();
}

// The rows, in --help order; fields are pointers into `o`.
// --capacity-schedule: "N@SECONDS" entries, comma-separated.
absl::Status ParseCapacitySchedule(const Setting& s, std::string_view text, IngestSettings* in) {
  in->capacity_schedule.clear();
  if (text.empty()) return absl::OkStatus();
  for (absl::string_view entry : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    const size_t at = entry.find('@');
    int n = 0;
    double seconds = 0;
    if (at == absl::string_view::npos || !absl::SimpleAtoi(entry.substr(0, at), &n) || n < 0 ||
        !absl::SimpleAtod(entry.substr(at + 1), &seconds) || seconds < 0) {
      return BadSetting(s, text, "not N@SECONDS,... (e.g. 4@5,16@10)");
    }
    in->capacity_schedule.emplace_back(
        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)), n);
  }
  std::sort(in->capacity_schedule.begin(), in->capacity_schedule.end());
  return absl::OkStatus();
}

SettingsTable Table(SinkOptions* o) {
  IngestSettings& in = o->ingest;
  return {
      {"host", "", "ADDR", "127.0.0.1", "address to listen on", StringInto(&o->host, false)},
      {"port", "", "N", "8080", "port to listen on; 0 = any free port",
       IntInto(&o->port, 0, 65535)},
      {"key-file", "", "FILE", "",
       "read the Bearer key from the first line of FILE (default: env KEY, else TEST_KEY)",
       StringInto(&o->key_file, false)},
      {"out", "", "FILE", "", "append every accepted record to FILE as one JSON line",
       StringInto(&o->out_path, false)},
      {"discard", "", "", "",
       "accept bodies without decoding them; records = X-Batch-Records header",
       nf2::BoolInto(&in.discard), FlagValue::kNone},
      {"max-body-bytes", "", "N", "5242880", "413 batch_too_large above N bytes on the wire",
       IntInto(&in.max_body_bytes, 1, int64_t{1} << 40)},
      {"max-records", "", "N", "10000", "413 too_many_records above N records",
       IntInto(&in.max_records, 1, std::numeric_limits<uint32_t>::max())},
      {"threads", "", "N", "8", "worker threads, i.e. connections served at once",
       IntInto(&o->threads, 1, 1024)},
      {"script", "", "LIST", "",
       "answers for the first ingest requests, e.g. 503,429,close,slow,202 (2xx = normal)",
       [o](const Setting& s, std::string_view v) { return ParseScript(s, v, o); }},
      {"retry-after", "", "N", "1", "Retry-After seconds for 429/503; 0 = omit",
       IntInto(&in.retry_after_s, 0, 86400)},
      {"fail-rate", "", "P", "0", "answer --fail-status at random with probability P in 0..1",
       nf2::DoubleInto(&o->fail_rate, 0, 1)},
      {"fail-status", "", "S", "500", "status used by --fail-rate, 400..599",
       IntInto(&o->fail_status, 400, 599)},
      {"seed", "", "N", "", "seed for --fail-rate (default: random)",
       [o](const Setting& s, std::string_view v) -> absl::Status {
         auto seed = nf2::ParseSettingUint64(s, v, 0, std::numeric_limits<uint64_t>::max());
         if (!seed.ok()) return seed.status();
         o->seed = *seed;
         return absl::OkStatus();
       }},
      {"latency-ms", "", "N", "0", "delay every ingest answer by N ms",
       [&in](const Setting& s, std::string_view v) -> absl::Status {
         auto ms = nf2::ParseSettingInt(s, v, 0, 600000);
         if (!ms.ok()) return ms.status();
         in.latency = std::chrono::milliseconds(*ms);
         return absl::OkStatus();
       }},
      {"capacity", "", "N", "0",
       "serve at most N ingest requests at once; one more is answered 503 (with "
       "--retry-after) at once; 0 = unlimited",
       IntInto(&in.capacity, 0, 100000)},
      {"capacity-schedule", "", "LIST", "",
       "change --capacity while running: N@SECONDS,... (e.g. 4@5,16@10: 4 from 5 s after start, "
       "then 16 from 10 s)",
       [&in](const Setting& s, std::string_view v) { return ParseCapacitySchedule(s, v, &in); }},
      {"rate-limit", "", "N", "0",
       "at most N ingest requests per rolling minute, then 429; 0 = off",
       IntInto(&in.rate_limit_per_min, 0, std::numeric_limits<int>::max())},
  };
}

// The rules that span flags.
absl::Status Validate(const SinkOptions& options) {
  if (options.ingest.discard && !options.out_path.empty()) {
    return absl::InvalidArgumentError(
        "--out cannot be combined with --discard (discarded bodies are never parsed)");
  }
  return absl::OkStatus();
}

ParsedCommandLine Error(const absl::Status& status) {
  ParsedCommandLine parsed;
  parsed.kind = ParsedCommandLine::Kind::kError;
  parsed.error = std::string(status.message());
  return parsed;
}

}  // namespace

std::optional<FaultAction> ParseScriptToken(std::string_view token) {
  FaultAction action;
  if (token == "close") {
    action.kind = FaultAction::Kind::kClose;
    return action;
  }
  if (token == "slow") {
    action.extra_delay = kSlowTokenDelay;
    return action;
  }
  int status = 0;
  if (!absl::SimpleAtoi(nf2::Av(token), &status) || status < 200 || status > 599 ||
      (status >= 300 && status < 400)) {
    return std::nullopt;
  }
  if (status >= 400) {
    action.kind = FaultAction::Kind::kAnswer;
    action.status = status;
  }
  return action;  // A 2xx token leaves kind kNone: process normally.
}

ParsedCommandLine ParseCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine parsed;
  const SettingsTable table = Table(&parsed.options);
  auto loaded = nf2::LoadSettings(table, args, nullptr);
  if (!loaded.ok()) return Error(loaded.status());
  if (loaded->help) {
    parsed.kind = ParsedCommandLine::Kind::kHelp;
    return parsed;
  }
  if (absl::Status st = Validate(parsed.options); !st.ok()) return Error(st);
  return parsed;
}

std::string HelpText() {
  SinkOptions unused;
  return nf2::SettingsHelp(
      Table(&unused),
      "Usage: ingest-sink [flags]\n"
      "Reference telemetry API (POST /v1/ingest, GET /v1/health, GET /v1/metrics) for\n"
      "demos and tests. Prints 'ingest-sink listening on http://HOST:PORT' once bound.\n"
      "The Bearer key comes from env KEY (default TEST_KEY) or --key-file.\n\n"
      "Flags (--name=value or --name value):\n",
      "");
}

std::optional<std::string> ResolveKey(const std::string& key_file, const char* env_key,
                                      std::string& error) {
  if (key_file.empty()) {
    if (env_key != nullptr && *env_key != '\0') return std::string(env_key);
    return std::string("TEST_KEY");
  }
  std::ifstream in(key_file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    error = "--key-file: cannot read a line from '" + key_file + "'";
    return std::nullopt;
  }
  const std::string_view key = TrimBlanks(line);
  if (key.empty()) {
    error = "--key-file: the first line of '" + key_file + "' is empty";
    return std::nullopt;
  }
  return std::string(key);
}

}  // namespace ingest_sink
