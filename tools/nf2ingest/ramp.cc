#include "tools/nf2ingest/ramp.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nf2 {
namespace {

constexpr char kLatencyMetric[] = "nf2ingest_request_duration_seconds";

std::string Ms(uint64_t us) { return absl::StrFormat("%.1f", static_cast<double>(us) / 1000.0); }

}  // namespace

RampJudge::RampJudge(RampOptions options, const pipeline::MetricsRegistry* registry)
    : options_(options), registry_(registry), start_(Capture()) {}

RampJudge::Window RampJudge::Capture() const {
  Window w;
  for (const auto& [labels, v] : registry_->Values("nf2ingest_requests_total")) {
    const auto n = static_cast<uint64_t>(v);
    w.requests += n;
    const std::string code = labels.empty() ? "" : labels[0].second;
    if (code.size() == 3 && code[0] == '2') w.ok += n;
  }
  if (const auto* h = registry_->FindHistogram(kLatencyMetric, {})) w.latency = h->TakeSnapshot();
  return w;
}

void RampJudge::Judge(const RampOptions& o, RampStepResult* r) {
  r->ok = false;
  const double p99_ms = static_cast<double>(r->latency_us.p99) / 1000.0;
  if (r->requests == 0) {
    r->why = "no request finished in the step";
  } else if (static_cast<double>(r->errors) >
             o.max_error_ratio * static_cast<double>(r->requests)) {
    r->why = absl::StrFormat("%d of %d requests not 2xx (limit %.3g%%)", r->errors, r->requests,
                             100 * o.max_error_ratio);
  } else if (p99_ms > o.max_p99_ms) {
    r->why = absl::StrFormat("p99 latency %.1f ms above %.1f ms", p99_ms, o.max_p99_ms);
  } else if (static_cast<double>(r->step.lines) <
             (1 - o.max_behind_ratio) * static_cast<double>(r->step.offered)) {
    r->why = absl::StrFormat("only %d of %d lines could be handed on (backlog)", r->step.lines,
                             r->step.offered);
  } else {
    r->ok = true;
    r->why.clear();
  }
}

bool RampJudge::OnStepEnd(const GeneratorStep& step) {
  Window now = Capture();
  RampStepResult r;
  r.step = step;
  r.requests = now.requests - start_.requests;
  r.errors = r.requests - (now.ok - start_.ok);
  if (const auto* h = registry_->FindHistogram(kLatencyMetric, {})) {
    r.latency_us = h->SummarySince(start_.latency);
  }
  Judge(options_, &r);
  std::lock_guard<std::mutex> lock(mu_);
  start_ = std::move(now);
  results_.push_back(r);
  return r.ok;
}

std::vector<RampStepResult> RampJudge::results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return results_;
}

double RampJudge::highest_ok_rate() const {
  std::lock_guard<std::mutex> lock(mu_);
  double best = 0;
  for (const auto& r : results_) {
    if (!r.ok) break;
    best = r.step.rate;
  }
  return best;
}

std::string RampJudge::stop_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : results_) {
    if (!r.ok) return absl::StrCat("step ", r.step.index + 1, " at ", r.step.rate, "/s: ", r.why);
  }
  return "";
}

std::string RampStepLine(const RampStepResult& r, int steps) {
  return absl::StrCat("[RAMP] step ", r.step.index + 1, "/", steps, " rate=", r.step.rate,
                      "/s offered=", r.step.offered, " lines=", r.step.lines,
                      " requests=", r.requests, " errors=", r.errors,
                      " latency_ms p50=", Ms(r.latency_us.p50), " p99=", Ms(r.latency_us.p99),
                      " max=", Ms(r.latency_us.max), " behind=", r.step.offered - r.step.lines,
                      r.ok ? " ok" : " FAILED: ", r.ok ? "" : r.why);
}

}  // namespace nf2
