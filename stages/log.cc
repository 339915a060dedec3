#include "stages/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "stages/absl_compat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace nf2 {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

constexpr std::string_view kLevelNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void WriteLine(std::string line) {
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<LogLevel> LogLevelFromName(std::string_view name) {
  std::string upper = absl::AsciiStrToUpper(Av(name));
  if (upper == "WARNING") upper = "WARN";
  for (int i = 0; i < 4; ++i) {
    if (upper == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", Av(name), "' is not one of DEBUG, INFO, WARN, ERROR"));
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  WriteLine(absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                         " ", Av(kLevelNames[static_cast<int>(level)]), " ", Av(message)));
}

void LogAlways(std::string_view message) { WriteLine(std::string(message)); }

LogThrottle::LogThrottle(int burst, double interval_seconds)
    : burst_(burst), interval_ns_(static_cast<int64_t>(interval_seconds * 1e9)) {}

bool LogThrottle::Allow(uint64_t* suppressed) {
  *suppressed = 0;
  if (calls_.fetch_add(1) < static_cast<uint64_t>(burst_)) return true;
  const int64_t now = NowNs();
  int64_t next = next_ns_.load();
  if (now >= next && next_ns_.compare_exchange_strong(next, now + interval_ns_)) {
    *suppressed = skipped_.exchange(0);
    return true;
  }
  skipped_.fetch_add(1);
  return false;
}

}  // namespace nf2
