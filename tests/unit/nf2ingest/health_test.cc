// /healthz's verdict from the registry: stalls while data waits, and a spool
// that cannot be written.
#include "tools/nf2ingest/health.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "stages/sinks/http/http_sender.h"

namespace nf2 {
namespace {

using ::testing::HasSubstr;

class HealthTest : public ::testing::Test {
 protected:
  std::pair<bool, std::string> At(absl::Duration since_start) {
    return HealthVerdict(registry_, start_, start_ + since_start, absl::Seconds(60));
  }
  pipeline::MetricsRegistry registry_;
  const absl::Time start_ = absl::FromUnixSeconds(1700000000);
};

TEST_F(HealthTest, AnIdleCollectorIsHealthy) { EXPECT_TRUE(At(absl::Hours(2)).first); }

TEST_F(HealthTest, DataWaitingWithoutASuccessForTheStallTimeIsUnhealthy) {
  registry_.GetGauge("nf2ingest_sender_batches_held", "held")->Set(3);
  EXPECT_TRUE(At(absl::Seconds(59)).first);
  const auto [ok, why] = At(absl::Seconds(61));
  EXPECT_FALSE(ok);
  EXPECT_THAT(why, HasSubstr("stalled"));
  registry_.GetGauge("nf2ingest_last_success_timestamp_seconds", "last")
      ->Set(absl::ToDoubleSeconds(start_ + absl::Seconds(30) - absl::UnixEpoch()));
  EXPECT_TRUE(At(absl::Seconds(61)).first);
}

TEST_F(HealthTest, ASpoolThatCannotBeWrittenIsAReason) {
  registry_.GetGauge(kSpoolWriteFailingMetric, "failing")->Set(1);
  const auto [ok, why] = At(absl::Seconds(1));
  EXPECT_FALSE(ok);
  EXPECT_THAT(why, HasSubstr("spool"));
  registry_.GetGauge(kSpoolWriteFailingMetric, "failing")->Set(0);
  EXPECT_TRUE(At(absl::Seconds(1)).first);
}

}  // namespace
}  // namespace nf2
