// Command-line options of ingest-sink, the reference telemetry API used by demos and tests.
//
// Parsing is a pure function over the argument list so that it can be unit-tested without
// starting a server; reading the key file is kept separate for the same reason.

#ifndef NF2INGEST_TOOLS_INGEST_SINK_SINK_OPTIONS_H_
#define NF2INGEST_TOOLS_INGEST_SINK_SINK_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sink_logic.h"

namespace ingest_sink {

struct SinkOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 lets the OS pick a free port.
  std::string key_file;
  std::string out_path;
  int threads = 8;
  std::vector<FaultAction> script;
  double fail_rate = 0.0;
  int fail_status = 500;
  std::optional<uint64_t> seed;  // Unset: seeded from std::random_device.
  IngestSettings ingest;         // Limits, discard mode, retry-after, latency, rate limit.
};

struct ParsedCommandLine {
  enum class Kind { kRun, kHelp, kError };
  Kind kind = Kind::kRun;
  SinkOptions options;
  std::string error;  // For kError: names the offending flag or value.
};

// Parses the arguments after argv[0]. Accepts `--name=value` and `--name value`.
ParsedCommandLine ParseCommandLine(const std::vector<std::string>& args);

// Text printed by --help.
std::string HelpText();

// Parses one --script token: an HTTP status (2xx = process normally), `close` or `slow`.
std::optional<FaultAction> ParseScriptToken(std::string_view token);

// Resolves the Bearer key: first line of `key_file` (trimmed) when given, else `env_key`
// (the KEY variable, may be null), else "TEST_KEY". Returns nullopt and sets `error` when the
// file cannot be read or yields an empty key. The key itself never appears in `error`.
std::optional<std::string> ResolveKey(const std::string& key_file, const char* env_key,
                                      std::string& error);

}  // namespace ingest_sink

#endif  // NF2INGEST_TOOLS_INGEST_SINK_SINK_OPTIONS_H_
