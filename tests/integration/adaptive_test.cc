// MAX_IN_FLIGHT=auto against an ingest-sink that serves 8 requests at once
// (50 ms each) and drops to 4 while the run goes on: the limit shown in
// [LIVE] climbs to the capacity, follows it down, every record is delivered
// and few requests are refused.
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

// The LIMIT of every "in_flight=N/LIMIT" in a log, in order.
std::vector<int> Limits(const std::string& log) {
  std::vector<int> out;
  const std::regex re("in_flight=[0-9]+/([0-9]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(std::stoi((*it)[1]));
  }
  return out;
}

TEST(AdaptiveConcurrencyTest, FindsTheCapacityAndFollowsItDown) {
  constexpr int kCapacity = 8;
  Sink sink({"--latency-ms", "50", "--retry-after", "0", "--capacity", std::to_string(kCapacity),
             "--capacity-schedule", "4@5"});
  auto env = EnvFor(sink);
  env["MAX_IN_FLIGHT"] = "auto";
  env["BATCH_SIZE"] = "100";
  env["STATS_INTERVAL"] = "0.5";
  const RunResult r =
      RunNf2ingest({"--generate=9000", "--duration=9"}, env, "", std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  const std::vector<int> limits = Limits(r.stderr_text);
  ASSERT_GE(limits.size(), 8u) << r.stderr_text;
  // Up to the capacity in the first seconds, and not far past it: the limit
  // grows only on answers to requests sent while it was at least half used,
  // so with at most kCapacity requests ever answered at once it stops at
  // 2 * kCapacity + 1.
  const auto top = std::max_element(limits.begin(), limits.begin() + limits.size() / 2);
  EXPECT_GE(*top, kCapacity - 1) << r.stderr_text;
  EXPECT_LE(*top, 2 * kCapacity + 1) << r.stderr_text;
  // ... and down with it once it halves.
  const std::vector<int> tail(limits.end() - 3, limits.end());
  for (int l : tail) EXPECT_LE(l, 6) << r.stderr_text;
  const auto m = sink.Metrics();
  const double refused = m.count("status:503") ? m.at("status:503") : 0;
  double ok = 0;
  for (const auto& [k, v] : m) {
    if (k.rfind("status:2", 0) == 0) ok += v;
  }
  EXPECT_GT(ok, 0);
  EXPECT_LE(refused, 0.1 * (ok + refused)) << "503: " << refused << " 200: " << ok;
}

}  // namespace
}  // namespace nf2::testing
