#include "pipeline/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "pipeline/absl_compat.h"
#include "pipeline/json_escape.h"

namespace nf2 {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

constexpr std::string_view kLevelNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};

std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::atomic<bool> g_progress_shown{false};
// The secret to mask; set once at start, before any other thread logs.
std::string* g_secret = new std::string();

void WriteRaw(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Masks the key, and any Authorization header value, wherever they appear.
void Redact(std::string* line) {
  if (!g_secret->empty()) {
    for (size_t at = line->find(*g_secret); at != std::string::npos;
         at = line->find(*g_secret, at)) {
      line->replace(at, g_secret->size(), "[REDACTED]");
    }
  }
  if (absl::AsciiStrToLower(*line).find("authorization:") == std::string::npos) return;
  for (size_t at = 0;
       (at = absl::AsciiStrToLower(*line).find("authorization:", at)) != std::string::npos;) {
    const size_t value = at + 14;
    size_t end = line->find_first_of("\r\n\"", value);
    if (end == std::string::npos) end = line->size();
    line->replace(value, end - value, " [REDACTED]");
    at = value;
  }
}

std::string JsonString(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
}

void WriteLine(std::string_view level, std::string_view message) {
  std::string text(message);
  Redact(&text);
  std::string line;
  if (g_progress_shown.load(std::memory_order_relaxed)) line = "\r\x1b[K";
  if (static_cast<LogFormat>(g_format.load()) == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"time\":\"", Timestamp(), "\",\"level\":\"", Av(level),
                    "\",\"msg\":", JsonString(text), "}\n");
  } else if (level.empty()) {
    absl::StrAppend(&line, text, "\n");
  } else {
    absl::StrAppend(&line, Timestamp(), " ", Av(level), " ", text, "\n");
  }
  WriteRaw(line);
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
  WriteLine(kLevelNames[static_cast<int>(level)], message);
}

// The summary keeps its bare form in text; in JSON it is an INFO object.
void LogAlways(std::string_view message) {
  WriteLine(static_cast<LogFormat>(g_format.load()) == LogFormat::kJson ? "INFO" : "", message);
}

absl::StatusOr<LogFormat> LogFormatFromName(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(Av(name));
  if (lower == "text") return LogFormat::kText;
  if (lower == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("'", Av(name), "' is not text or json"));
}

void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }

// Keys too short to be told from ordinary words would mangle every line.
void SetLogSecret(std::string_view secret) {
  *g_secret = secret.size() >= 6 ? std::string(secret) : std::string();
}

void ShowProgress(std::string_view line) {
  g_progress_shown.store(true);
  WriteRaw(absl::StrCat("\r", Av(line), "\x1b[K"));
}

void ClearProgress() {
  if (g_progress_shown.exchange(false)) WriteRaw("\r\x1b[K");
}

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
