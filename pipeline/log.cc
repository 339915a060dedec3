#include "pipeline/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

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

// Masks the value of every "Authorization:" header (up to the end of the
// line or a closing quote), whoever's key it holds.
void MaskAuthorizationValues(std::string* line) {
  constexpr std::string_view kHeader = "authorization:";
  const std::string lower = absl::AsciiStrToLower(*line);
  std::string out;
  size_t copied = 0;
  for (size_t at = lower.find(kHeader); at != std::string::npos;
       at = lower.find(kHeader, at + kHeader.size())) {
    const size_t value = at + kHeader.size();
    size_t end = lower.find_first_of("\r\n\"", value);
    if (end == std::string::npos) end = lower.size();
    out.append(*line, copied, value - copied);
    out += " [REDACTED]";
    copied = end;
    at = end - std::min(end, kHeader.size());
  }
  if (copied == 0) return;
  out.append(*line, copied);
  *line = std::move(out);
}

// Marks every byte of `text` that belongs to an occurrence of `what`.
void MarkAll(std::string_view text, std::string_view what, std::vector<bool>* marked) {
  if (what.empty()) return;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    std::fill(marked->begin() + static_cast<std::ptrdiff_t>(at),
              marked->begin() + static_cast<std::ptrdiff_t>(at + what.size()), true);
  }
}

// `text` with every run of marked bytes replaced by one "[REDACTED]".
std::string ReplaceMarked(std::string_view text, const std::vector<bool>& marked) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (!marked[i]) {
      out.push_back(text[i]);
    } else if (i == 0 || !marked[i - 1]) {
      out += "[REDACTED]";
    }
  }
  return out;
}

std::string JsonString(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
}

void WriteLine(std::string_view level, std::string_view message) {
  std::string text = RedactForLog(message);
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

void LogWithSuppressed(LogLevel level, std::string line, uint64_t suppressed) {
  if (suppressed > 0) absl::StrAppend(&line, " [", suppressed, " more since the last report]");
  Log(level, line);
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

void SetLogSecret(std::string_view secret) { *g_secret = std::string(secret); }

std::string MaskSecret(std::string_view text, std::string_view secret) {
  if (secret.empty()) return std::string(text);
  const std::string escaped = JsonEscape(secret);
  std::string slash_escaped;
  for (char c : escaped) {
    if (c == '/') slash_escaped.push_back('\\');
    slash_escaped.push_back(c);
  }
  const std::string escaped_twice = JsonEscape(escaped);
  // All forms are found in the original text, so a mask never masks itself.
  std::vector<bool> marked(text.size(), false);
  for (std::string_view form : {secret, std::string_view(escaped), std::string_view(slash_escaped),
                                std::string_view(escaped_twice)}) {
    MarkAll(text, form, &marked);
  }
  return ReplaceMarked(text, marked);
}

std::string MaskedPrefix(std::string_view text, std::string_view secret, size_t limit) {
  std::string out = MaskSecret(text, secret);
  MaskAuthorizationValues(&out);
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::string RedactForLog(std::string_view line) {
  std::string out = MaskSecret(line, *g_secret);
  MaskAuthorizationValues(&out);
  return out;
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
