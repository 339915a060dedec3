#include "sink_options.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

namespace ingest_sink {
namespace {

template <typename T>
bool ParseInteger(std::string_view text, T min, T max, T& out) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

bool ParseProbability(std::string_view text, double& out) {
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // `!(value >= 0.0)` also refuses NaN.
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0.0) || value > 1.0) {
    return false;
  }
  out = value;
  return true;
}

std::string BadValue(std::string_view flag, std::string_view value, std::string_view expected) {
  std::ostringstream message;
  message << "invalid value for --" << flag << ": '" << value << "' (expected " << expected << ")";
  return message.str();
}

// Applies a flag's value to the options; returns an error message or "".
using FlagSetter = std::function<std::string(std::string_view value, SinkOptions& options)>;

struct FlagSpec {
  std::string_view name;
  std::string_view value_name;  // Empty for flags without a value.
  std::string_view help;
  FlagSetter apply;
};

template <typename T>
FlagSetter IntegerSetter(std::string_view flag, T min, T max,
                         std::function<T&(SinkOptions&)> field) {
  return [flag, min, max, field](std::string_view value, SinkOptions& options) -> std::string {
    if (ParseInteger<T>(value, min, max, field(options))) return "";
    return BadValue(flag, value, "an integer " + std::to_string(min) + ".." + std::to_string(max));
  };
}

FlagSetter NonEmptySetter(std::string_view flag, std::function<std::string&(SinkOptions&)> field) {
  return [flag, field](std::string_view value, SinkOptions& options) -> std::string {
    if (value.empty()) return BadValue(flag, value, "a non-empty value");
    field(options) = std::string(value);
    return "";
  };
}

std::string ApplyScript(std::string_view value, SinkOptions& options) {
  options.script.clear();
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view token = TrimBlanks(value.substr(0, comma));
    const std::optional<FaultAction> action = ParseScriptToken(token);
    if (!action) {
      return BadValue("script", token, "an HTTP status 200..299/400..599, 'close' or 'slow'");
    }
    options.script.push_back(*action);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return "";
}

const std::vector<FlagSpec>& Flags() {
  static const std::vector<FlagSpec> flags = {
      {"help", "", "print this help and exit", nullptr},
      {"host", "ADDR", "address to listen on (default 127.0.0.1)",
       NonEmptySetter("host", [](SinkOptions& o) -> std::string& { return o.host; })},
      {"port", "N", "port to listen on; 0 = any free port (default 8080)",
       IntegerSetter<int>("port", 0, 65535, [](SinkOptions& o) -> int& { return o.port; })},
      {"key-file", "FILE",
       "read the Bearer key from the first line of FILE (default: env KEY, else TEST_KEY)",
       NonEmptySetter("key-file", [](SinkOptions& o) -> std::string& { return o.key_file; })},
      {"out", "FILE", "append every accepted record to FILE as one JSON line",
       NonEmptySetter("out", [](SinkOptions& o) -> std::string& { return o.out_path; })},
      {"discard", "", "accept bodies without decoding them; records = X-Batch-Records header",
       [](std::string_view, SinkOptions& o) -> std::string {
         o.ingest.discard = true;
         return "";
       }},
      {"max-body-bytes", "N", "413 batch_too_large above N bytes on the wire (default 5242880)",
       IntegerSetter<uint64_t>(
           "max-body-bytes", 1, uint64_t{1} << 40,
           [](SinkOptions& o) -> uint64_t& { return o.ingest.max_body_bytes; })},
      {"max-records", "N", "413 too_many_records above N records (default 10000)",
       IntegerSetter<uint64_t>("max-records", 1, std::numeric_limits<uint32_t>::max(),
                               [](SinkOptions& o) -> uint64_t& { return o.ingest.max_records; })},
      {"threads", "N", "worker threads, i.e. connections served at once (default 8)",
       IntegerSetter<int>("threads", 1, 1024, [](SinkOptions& o) -> int& { return o.threads; })},
      {"script", "LIST",
       "answers for the first ingest requests, e.g. 503,429,close,slow,202 (2xx = normal)",
       ApplyScript},
      {"retry-after", "N", "Retry-After seconds for 429/503; 0 = omit (default 1)",
       IntegerSetter<int>("retry-after", 0, 86400,
                          [](SinkOptions& o) -> int& { return o.ingest.retry_after_s; })},
      {"fail-rate", "P", "answer --fail-status at random with probability P in 0..1 (default 0)",
       [](std::string_view v, SinkOptions& o) -> std::string {
         return ParseProbability(v, o.fail_rate) ? "" : BadValue("fail-rate", v, "a number 0..1");
       }},
      {"fail-status", "S", "status used by --fail-rate, 400..599 (default 500)",
       IntegerSetter<int>("fail-status", 400, 599,
                          [](SinkOptions& o) -> int& { return o.fail_status; })},
      {"seed", "N", "seed for --fail-rate (default: random)",
       [](std::string_view v, SinkOptions& o) -> std::string {
         uint64_t seed = 0;
         if (!ParseInteger<uint64_t>(v, 0, std::numeric_limits<uint64_t>::max(), seed)) {
           return BadValue("seed", v, "an unsigned 64-bit integer");
         }
         o.seed = seed;
         return "";
       }},
      {"latency-ms", "N", "delay every ingest answer by N ms (default 0)",
       [](std::string_view v, SinkOptions& o) -> std::string {
         int ms = 0;
         if (!ParseInteger<int>(v, 0, 600000, ms)) {
           return BadValue("latency-ms", v, "an integer 0..600000");
         }
         o.ingest.latency = std::chrono::milliseconds(ms);
         return "";
       }},
      {"rate-limit", "N", "at most N ingest requests per rolling minute, then 429; 0 = off",
       IntegerSetter<int>("rate-limit", 0, std::numeric_limits<int>::max(),
                          [](SinkOptions& o) -> int& { return o.ingest.rate_limit_per_min; })},
  };
  return flags;
}

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& flag : Flags()) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

// Rejects flag combinations that cannot do what the user expects.
std::string CheckCombination(const SinkOptions& options) {
  if (options.ingest.discard && !options.out_path.empty()) {
    return "--out cannot be combined with --discard (discarded bodies are never parsed)";
  }
  return "";
}

ParsedCommandLine Error(std::string message) {
  ParsedCommandLine parsed;
  parsed.kind = ParsedCommandLine::Kind::kError;
  parsed.error = std::move(message);
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
  if (!ParseInteger<int>(token, 200, 599, status) || (status >= 300 && status < 400)) {
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
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      return Error("unexpected argument '" + std::string(arg) + "' (see --help)");
    }
    const size_t equals = arg.find('=');
    const std::string_view name =
        arg.substr(2, equals == std::string_view::npos ? arg.npos : equals - 2);
    const FlagSpec* flag = FindFlag(name);
    if (flag == nullptr) return Error("unknown flag --" + std::string(name) + " (see --help)");
    if (flag->name == "help") {
      parsed.kind = ParsedCommandLine::Kind::kHelp;
      return parsed;
    }
    std::string_view value;
    if (flag->value_name.empty()) {
      if (equals != std::string_view::npos)
        return Error("--" + std::string(name) + " takes no value");
    } else if (equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Error("--" + std::string(name) + " needs a value " + std::string(flag->value_name));
    }
    if (std::string error = flag->apply(value, parsed.options); !error.empty()) {
      return Error(std::move(error));
    }
  }
  if (std::string error = CheckCombination(parsed.options); !error.empty()) {
    return Error(std::move(error));
  }
  return parsed;
}

std::string HelpText() {
  std::ostringstream text;
  text << "Usage: ingest-sink [flags]\n"
          "Reference telemetry API (POST /v1/ingest, GET /v1/health, GET /v1/metrics) for\n"
          "demos and tests. Prints 'ingest-sink listening on http://HOST:PORT' once bound.\n"
          "The Bearer key comes from env KEY (default TEST_KEY) or --key-file.\n\n"
          "Flags (--name=value or --name value):\n";
  for (const FlagSpec& flag : Flags()) {
    std::string left = "--" + std::string(flag.name);
    if (!flag.value_name.empty()) left += " " + std::string(flag.value_name);
    text << "  " << left << std::string(left.size() < 22 ? 22 - left.size() : 1, ' ') << flag.help
         << "\n";
  }
  return text.str();
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
