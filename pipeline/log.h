// Logging to stderr with the levels of LOG_LEVEL. Lines keep the seed's
// greppable tags ("[INGEST] sent N status=202"). Thread-safe; one write per
// line so lines from different threads never interleave.
#ifndef NF2INGEST_PIPELINE_LOG_H_
#define NF2INGEST_PIPELINE_LOG_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace nf2 {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

absl::StatusOr<LogLevel> LogLevelFromName(std::string_view name);
void SetLogLevel(LogLevel level);
absl::StatusOr<LogFormat> LogFormatFromName(std::string_view name);
// kJson: every line is one JSON object {"time":..,"level":..,"msg":..}, for
// log shippers. The default keeps the seed's plain lines.
void SetLogFormat(LogFormat format);
// A secret (the API key) that must never reach a log line: any occurrence is
// masked, as a second line of defence behind not logging it at all.
void SetLogSecret(std::string_view secret);

// `text` with every occurrence of `secret` replaced by "[REDACTED]": as is,
// JSON-escaped (a key with `"` or `\` comes back as `\"`, `\\`), with `/`
// escaped as `\/`, and escaped twice (an answer quoting a JSON document).
// Any non-empty secret is masked, however short: a short key is still a key.
std::string MaskSecret(std::string_view text, std::string_view secret);

// MaskSecret, then Authorization header values, then cut to at most `limit`
// bytes: masking first means a cut can never leave part of the secret.
std::string MaskedPrefix(std::string_view text, std::string_view secret, size_t limit);

// What every log line goes through: the secret of SetLogSecret and any
// Authorization header value masked.
std::string RedactForLog(std::string_view line);

// The terminal progress line: while it is shown, every log line first
// clears it (and the progress writer redraws it), so the two never mix.
void ShowProgress(std::string_view line);  // draws or redraws it (no newline)
void ClearProgress();                      // erases it; later lines print as usual
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view message);
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

// Writes the line whatever the level (the final summary).
void LogAlways(std::string_view message);

// Limits how often a repeated kind of message is logged: the first `burst`
// are let through, then one per `interval_seconds`, reporting how many were
// suppressed in between.
class LogThrottle {
 public:
  LogThrottle(int burst, double interval_seconds);
  // Returns true when the caller should log; `*suppressed` is set to the
  // number of calls that were not logged since the last logged one.
  bool Allow(uint64_t* suppressed);

 private:
  const int burst_;
  const int64_t interval_ns_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> skipped_{0};
};

// Logs `line` at `level`, noting how many like it a throttle held back since
// the last one ("... [12 more since the last report]").
void LogWithSuppressed(LogLevel level, std::string line, uint64_t suppressed);

// Logs the line `make_line()` builds when `throttle` lets it through; builds
// nothing otherwise, so a flood of bad input costs a counter, not a string.
template <typename MakeLine>
void LogThrottled(LogThrottle& throttle, LogLevel level, MakeLine make_line) {
  uint64_t suppressed = 0;
  if (!LogEnabled(level) || !throttle.Allow(&suppressed)) return;
  LogWithSuppressed(level, make_line(), suppressed);
}

}  // namespace nf2

#endif  // NF2INGEST_PIPELINE_LOG_H_
