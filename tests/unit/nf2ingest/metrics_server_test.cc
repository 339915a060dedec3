// The metrics server's pure core: which answer a request head gets.
#include "tools/nf2ingest/metrics_server.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/metrics.h"

namespace nf2 {
namespace {

using ::testing::HasSubstr;

class AnswerTest : public ::testing::Test {
 protected:
  std::optional<MetricsReply> Ask(std::string_view head) {
    return MetricsServer::Answer(head, registry_, [this] { return health_; });
  }
  pipeline::MetricsRegistry registry_;
  std::pair<bool, std::string> health_{true, "ok"};
};

TEST_F(AnswerTest, IncompleteHeadHasNoAnswerYet) {
  EXPECT_FALSE(Ask("GET /metrics HTTP/1.1\r\nHost: x\r\n").has_value());
  EXPECT_FALSE(Ask("GET /metr").has_value());
}

TEST_F(AnswerTest, MetricsAreServedInPrometheusTextFormat) {
  registry_.GetCounter("nf2ingest_test_total", "a test counter")->Add(3);
  auto a = Ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 200);
  EXPECT_THAT(a->content_type, HasSubstr("version=0.0.4"));
  EXPECT_THAT(a->body, HasSubstr("nf2ingest_test_total 3"));
}

TEST_F(AnswerTest, HealthzAnswersTheReasonWith200Or503) {
  auto ok = Ask("GET /healthz HTTP/1.0\n\n");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  health_ = {false, "no 2xx for 61 s"};
  auto bad = Ask("GET /healthz?verbose=1 HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 503);
  EXPECT_EQ(bad->body, "no 2xx for 61 s\n");
}

TEST_F(AnswerTest, OtherMethodsPathsAndGarbageAreRefused) {
  EXPECT_EQ(Ask("POST /metrics HTTP/1.1\r\n\r\n")->status, 405);
  EXPECT_EQ(Ask("GET /v1/ingest HTTP/1.1\r\n\r\n")->status, 404);
  EXPECT_EQ(Ask("garbage\r\n\r\n")->status, 400);
}

}  // namespace
}  // namespace nf2
