// Logging to stderr with the levels of LOG_LEVEL. Lines keep the seed's
// greppable tags ("[INGEST] sent N status=202"). Thread-safe; one write per
// line so lines from different threads never interleave.
#ifndef NF2INGEST_STAGES_LOG_H_
#define NF2INGEST_STAGES_LOG_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace nf2 {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

absl::StatusOr<LogLevel> LogLevelFromName(std::string_view name);
void SetLogLevel(LogLevel level);
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

}  // namespace nf2

#endif  // NF2INGEST_STAGES_LOG_H_
