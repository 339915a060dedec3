// nf2ingest --listen end to end: flowgen exports NetFlow v5, v9 and IPFIX
// over loopback UDP (writing the flows.v1 record each flow must become),
// nf2ingest decodes and delivers to ingest-sink, and what arrives is
// compared with what was sent, record by record. Also: data sent before its
// template, templates kept across a restart, garbage datagrams, a stop while
// traffic flows, and IPv6.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/netflow_util.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using ::testing::HasSubstr;

// Runs flowgen against `collector` and waits until the sink holds every
// record it expects; returns the expected records.
std::vector<std::string> SendAndWait(const Sink& sink, std::vector<std::string> flowgen_args,
                                     size_t already_received = 0) {
  const std::string expected = TempDir() + "/expected.jsonl";
  flowgen_args.push_back("--expected=" + expected);
  RunFlowgen(flowgen_args);
  std::vector<std::string> lines = ReadLines(expected);
  EXPECT_EQ(WaitForLineCount(sink.out_path(), already_received + lines.size()),
            already_received + lines.size());
  return lines;
}

void ExpectCleanStop(const RunResult& r, uint64_t records) {
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary.at("lines"), records) << r.stderr_text;
  EXPECT_EQ(r.summary.at("delivered"), records) << r.stderr_text;
}

// "netflow-v5" -> "netflowv5": gtest names allow no dashes.
std::string ParamName(const ::testing::TestParamInfo<const char*>& param) {
  std::string name = param.param;
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  return name;
}

class EveryVersion : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryVersion, EveryRecordArrivesWithItsFields) {
  Sink sink;
  Collector collector(sink, {"--udp-sockets=2"});
  const std::string mode = GetParam();
  const auto expected = SendAndWait(sink, {"--" + mode, collector.target(), "--count=60",
                                           "--flows=10", "--exporters=3", "--seed=7"});
  ASSERT_EQ(expected.size(), 600u);
  const RunResult r = collector.Stop();
  ExpectCleanStop(r, 600);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(expected));
  const auto nf = ParseNetflowLine(r.stderr_text);
  ASSERT_FALSE(nf.empty()) << r.stderr_text;
  EXPECT_EQ(nf.at("ok"), nf.at("datagrams"));
  const std::string version = mode == "netflow-v5" ? "v5" : mode == "netflow-v9" ? "v9" : "ipfix";
  EXPECT_EQ(nf.at(version), nf.at("datagrams"));
  if (version != "v5") {
    // Two flow templates and one options template per exporter, and a
    // sampling record each time the templates were sent.
    EXPECT_EQ(nf.at("templates"), 9u);
    EXPECT_GE(nf.at("options_records"), 3u);
  }
}

INSTANTIATE_TEST_SUITE_P(NetflowInput, EveryVersion,
                         ::testing::Values("netflow-v5", "netflow-v9", "ipfix"), ParamName);

class TemplatedVersion : public ::testing::TestWithParam<const char*> {};

// goflow2 drops data sets whose template has not come yet; nf2ingest keeps
// them and decodes them when it comes.
TEST_P(TemplatedVersion, DataBeforeItsTemplateIsDecodedWhenTheTemplateComes) {
  Sink sink;
  Collector collector(sink, {});
  const auto expected =
      SendAndWait(sink, {std::string("--") + GetParam(), collector.target(), "--count=40",
                         "--flows=5", "--exporters=2", "--templates-after=6"});
  ASSERT_EQ(expected.size(), 200u);
  const RunResult r = collector.Stop();
  ExpectCleanStop(r, 200);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(expected));
  EXPECT_EQ(ParseNetflowLine(r.stderr_text).at("expired_sets"), 0u);
}

// A restart must not lose the first minutes of data while the routers'
// next templates are on their way: the templates file brings them back.
TEST_P(TemplatedVersion, TemplatesFileSurvivesARestart) {
  Sink sink;
  const std::string templates = TempDir() + "/templates";
  const std::string mode = std::string("--") + GetParam();
  int port = 0;
  size_t received = 0;
  {
    Collector first(sink, {"--templates-file=" + templates});
    received = SendAndWait(sink, {mode, first.target(), "--count=6", "--exporters=2",
                                  "--source-port=47311"})
                   .size();
    port = first.port();
    ExpectCleanStop(first.Stop(), received);
  }
  ASSERT_FALSE(ReadFile(templates).empty()) << "no templates file written at exit";
  // The same exporters (same source ports) send data and never a template.
  Collector second(sink, {"--templates-file=" + templates}, "127.0.0.1", port);
  // Logged just after the listening line: wait for it (bounded).
  ASSERT_TRUE(second.process().WaitForText(second.stderr_path(), "templates from",
                                           std::chrono::seconds(10)))
      << ReadFile(second.stderr_path());
  const auto expected =
      SendAndWait(sink,
                  {mode, second.target(), "--count=10", "--exporters=2", "--source-port=47311",
                   "--templates-after=1000000", "--seed=9"},
                  received);
  ASSERT_EQ(expected.size(), 100u);
  const RunResult r = second.Stop();
  ExpectCleanStop(r, 100);
  const auto all = ReadLines(sink.out_path());
  EXPECT_EQ(Sorted(std::vector<std::string>(all.begin() + static_cast<long>(received), all.end())),
            Sorted(expected));
}

// A file that is not a templates file costs the wait for templates, never the start.
TEST(NetflowTemplatesFile, ACorruptFileIsAWarningAndAnEmptyStart) {
  Sink sink;
  const std::string templates = TempDir() + "/templates";
  WriteFile(templates, "this is not a templates file\n");
  Collector collector(sink, {"--templates-file=" + templates});
  const auto expected = SendAndWait(sink, {"--netflow-v9", collector.target(), "--count=4"});
  const RunResult r = collector.Stop();
  ExpectCleanStop(r, expected.size());
  EXPECT_THAT(r.stderr_text, HasSubstr("is unusable: starting without templates"));
  EXPECT_NE(ReadFile(templates), "this is not a templates file\n") << "never rewritten";
}

INSTANTIATE_TEST_SUITE_P(NetflowInput, TemplatedVersion, ::testing::Values("netflow-v9", "ipfix"),
                         ParamName);

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(NetflowInput, GarbageDatagramsAreCountedByReasonAndTheStreamGoesOn) {
  Sink sink;
  Collector collector(sink, {"--udp-sockets=1"});
  SendDatagram(collector.port(), Bytes({0, 9, 0}));  // too short for any header
  SendDatagram(collector.port(), Bytes({0, 7, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}));  // version 7
  // v5 announcing 2 records and carrying none.
  std::string v5(24, '\0');
  v5[1] = 5;
  v5[3] = 2;
  SendDatagram(collector.port(), v5);
  // v9 whose only set claims 400 bytes of a 28-byte datagram.
  std::string v9(28, '\0');
  v9[1] = 9;
  v9[3] = 1;
  v9[21] = 1;  // flowset id 256
  v9[22] = 1;
  v9[23] = static_cast<char>(0x90);
  SendDatagram(collector.port(), v9);
  const auto expected = SendAndWait(sink, {"--netflow-v9", collector.target(), "--count=10"});
  const RunResult r = collector.Stop();
  ExpectCleanStop(r, expected.size());
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(expected));
  const auto nf = ParseNetflowLine(r.stderr_text);
  ASSERT_FALSE(nf.empty()) << r.stderr_text;
  EXPECT_EQ(nf.at("truncated_header"), 1u);
  EXPECT_EQ(nf.at("unknown_version"), 1u);
  EXPECT_EQ(nf.at("bad_length"), 1u);
  EXPECT_EQ(nf.at("bad_set"), 1u);
  EXPECT_EQ(nf.at("datagrams"), nf.at("ok") + 4);
  EXPECT_THAT(r.stderr_text, HasSubstr("[NETFLOW] bad datagram from 127.0.0.1:"));
}

// SIGTERM while routers keep sending: what was read is delivered, the
// ledger balances, the exit is clean.
TEST(NetflowInput, SigtermDrainsWhatWasRead) {
  Sink sink;
  Collector collector(sink, {});
  SpawnOptions opts;
  opts.argv = {BinPath("flowgen"), "--ipfix",     collector.target(),
               "--count=0",        "--rate=2000", "--flows=10"};
  opts.stderr_path = TempDir() + "/flowgen.stderr";
  Process flowgen(opts);
  ASSERT_GE(WaitForLineCount(sink.out_path(), 2000), 2000u);
  const RunResult r = collector.Stop();
  flowgen.Signal(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_GE(r.summary.at("delivered"), 2000u);
  EXPECT_EQ(r.summary.at("delivered"), r.summary.at("lines"));
  EXPECT_EQ(ReadLines(sink.out_path()).size(), r.summary.at("delivered"));
  EXPECT_THAT(r.stderr_text, HasSubstr("received SIGTERM: stopping input and draining"));
}

TEST(NetflowInput, ListensOnIpv6) {
  Sink sink;
  Collector collector(sink, {}, "[::1]");
  const auto expected =
      SendAndWait(sink, {"--ipfix", collector.target(), "--count=10", "--exporters=2"});
  const RunResult r = collector.Stop();
  ExpectCleanStop(r, expected.size());
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(expected));
}

TEST(NetflowInput, ABadListenUrlIsBadConfiguration) {
  Sink sink;
  for (const char* url : {"udp://127.0.0.1:2055", "netflow://127.0.0.1:70000",
                          "netflow://127.0.0.1", "netflow://::1:2055"}) {
    const RunResult r = RunNf2ingest({"--listen", url}, EnvFor(sink));
    EXPECT_EQ(r.exit_code, 2) << url << ": " << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr("LISTEN")) << url;
  }
  // An address nf2ingest cannot bind is found before anything is read.
  const RunResult r = RunNf2ingest({"--listen", "netflow://192.0.2.1:2055"}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("--listen / LISTEN"));
}

}  // namespace
}  // namespace nf2::testing
