// nf2ingest's exit code: each fact alone, and which wins when several hold
// (README "Exit codes": 4 > 2 > 1 > 3 > 0).
#include "tools/nf2ingest/exit_code.h"

#include "gtest/gtest.h"

namespace nf2 {
namespace {

pipeline::OutcomeSnapshot Clean() {
  pipeline::OutcomeSnapshot s;
  s.lines_read = 10;
  s.delivered = 7;
  s.filtered = 1;
  s.invalid = 2;
  return s;
}

TEST(ExitCode, EverythingDeliveredIsZero) {
  EXPECT_EQ(ExitCode({}), 0);
  EXPECT_EQ(ExitCode({.outcomes = Clean()}), 0);
}

TEST(ExitCode, EachFactAlone) {
  EXPECT_EQ(ExitCode({.key_refused = true}), 4);
  EXPECT_EQ(ExitCode({.tls_failed = true}), 5);
  EXPECT_EQ(ExitCode({.bad_config = true}), 2);
  EXPECT_EQ(ExitCode({.input_error = true, .outcomes = Clean()}), 1);
  EXPECT_EQ(ExitCode({.outcomes = Clean(), .replay_left = true}), 3);
  for (uint64_t pipeline::OutcomeSnapshot::*lost :
       {&pipeline::OutcomeSnapshot::rejected, &pipeline::OutcomeSnapshot::spooled,
        &pipeline::OutcomeSnapshot::undelivered}) {
    pipeline::OutcomeSnapshot s = Clean();
    s.delivered -= 1;
    s.*lost = 1;
    EXPECT_EQ(ExitCode({.outcomes = s}), 3);
  }
}

TEST(ExitCode, OutcomesThatDoNotAddUpAreNotDelivered) {
  pipeline::OutcomeSnapshot s = Clean();
  s.lines_read += 1;  // one line without an outcome
  EXPECT_EQ(ExitCode({.outcomes = s}), 3);
}

TEST(ExitCode, Precedence) {
  pipeline::OutcomeSnapshot lost = Clean();
  lost.delivered -= 1;
  lost.undelivered = 1;
  EXPECT_EQ(ExitCode({.key_refused = true, .tls_failed = true, .bad_config = true}), 5);
  EXPECT_EQ(ExitCode({.key_refused = true,
                      .bad_config = true,
                      .input_error = true,
                      .outcomes = lost,
                      .replay_left = true}),
            4);
  EXPECT_EQ(
      ExitCode({.bad_config = true, .input_error = true, .outcomes = lost, .replay_left = true}),
      2);
  EXPECT_EQ(ExitCode({.input_error = true, .outcomes = lost, .replay_left = true}), 1);
  EXPECT_EQ(ExitCode({.outcomes = lost, .replay_left = true}), 3);
}

}  // namespace
}  // namespace nf2
