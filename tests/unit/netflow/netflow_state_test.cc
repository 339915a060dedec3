// The decoder's state across datagrams: templates saved and loaded across a
// restart (and refused when the saved bytes are damaged), and concurrent
// decoding of one exporter's datagrams from several threads.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/netflow/netflow_test_util.h"

namespace nf2::netflow {
namespace {

using testing::Bytes;
using testing::DecodeOne;
using testing::Message;

std::string Addresses() { return Bytes().ipv4(10, 0, 0, 1).ipv4(10, 0, 0, 2).str(); }

// A decoder that learnt a v9 template, an IPFIX template and options
// template, and an IPFIX uptime base, and the form it saves.
std::string SavedState() {
  Decoder decoder;
  DecodeOne(decoder,
            Message(9, 1700000000, 1, 3, 1000).Template(256, {{8, 4}, {12, 4}, {1, 4}}).Build());
  DecodeOne(decoder, Message(10, 1700000000, 0, 5)
                         .Template(400, {{8, 4}, {12, 4}, {22, 4}, {82, 65535}, {7, 2, 9}})
                         .OptionsTemplate(500, {{149, 4}}, {{160, 8}})
                         .Data(500, Bytes().u32(5).u64(1699990000000).str())
                         .Build());
  return decoder.SaveTemplates();
}

TEST(TemplatePersistence, RoundTripKeepsTemplatesAndUptimeBases) {
  const std::string saved = SavedState();
  Decoder restarted;
  ASSERT_TRUE(restarted.LoadTemplates(saved).ok());
  EXPECT_EQ(restarted.Snapshot().templates_known, 3u);
  const testing::Decoded v9 = DecodeOne(
      restarted,
      Message(9, 1700000000, 2, 3, 1000).Data(256, Addresses() + Bytes().u32(99).str()).Build());
  EXPECT_EQ(
      v9.json,
      std::vector<std::string>{
          R"({"ts":1700000000,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":0,"dst_port":0,"proto":0,"bytes":99,"packets":0})"});
  const std::string ipfix_record =
      Addresses() + Bytes().u32(12'345'000).u8(2).raw("lo").u16(80).str();
  const testing::Decoded ipfix =
      DecodeOne(restarted, Message(10, 1700000000, 1, 5).Data(400, ipfix_record).Build());
  ASSERT_EQ(ipfix.json.size(), 1u);
  EXPECT_EQ(ipfix.json[0].substr(0, 16), R"({"ts":1700002345)");  // the loaded base
  // Saving again gives the same bytes (order aside, same size).
  EXPECT_EQ(restarted.SaveTemplates().size(), saved.size());
}

TEST(TemplatePersistence, EmptyDecoderSavesALoadableFile) {
  Decoder empty;
  Decoder other;
  EXPECT_TRUE(other.LoadTemplates(empty.SaveTemplates()).ok());
  EXPECT_EQ(other.Snapshot().templates_known, 0u);
}

TEST(TemplatePersistence, DamagedInputIsAnErrorAndLoadsNothing) {
  const std::string saved = SavedState();
  Decoder decoder;
  for (size_t i = 0; i < saved.size(); ++i) {
    std::string flipped = saved;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
    EXPECT_FALSE(decoder.LoadTemplates(flipped).ok()) << "byte " << i;
  }
  for (size_t n = 0; n < saved.size(); ++n) {
    EXPECT_FALSE(decoder.LoadTemplates(saved.substr(0, n)).ok()) << "prefix " << n;
  }
  EXPECT_FALSE(decoder.LoadTemplates(saved + "x").ok());
  EXPECT_FALSE(decoder.LoadTemplates("{\"templates\":[]}\n").ok());
  EXPECT_EQ(decoder.Snapshot().templates_known, 0u);
  EXPECT_TRUE(decoder.Snapshot().exporters.empty());
}

TEST(TemplatePersistence, ValidChecksumOverAbsurdTemplateIsRefused) {
  // A well-formed file whose template would not compile (a zero-length
  // field): written by hand with a correct checksum.
  Bytes body;
  body.raw(std::string("NF2TPL\x01\0", 8)).u32(1);
  body.u8(1).zeros(10).u16(0xffff).u32(0x0a000001).u16(2055).u8(10).u32(0);
  body.u16(400).u8(0).u16(0).u16(1).u16(8).u16(0).u8(0).u32(0);
  uint64_t h = 1469598103934665603ull;
  for (char c : body.str()) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  Decoder decoder;
  const absl::Status st = decoder.LoadTemplates(body.u64(h).str());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid entry"), absl::string_view::npos) << st;
}

TEST(DecoderThreads, OneExporterFromSeveralThreads) {
  Decoder decoder;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  const std::string tmpl = Message(10, 1700000000, 0, 1).Template(400, {{8, 4}, {12, 4}}).Build();
  const std::string data =
      Message(10, 1700000000, 0, 1).Data(400, Addresses() + Addresses()).Build();
  // Template and data in one datagram, so every data set is decodable
  // whatever the interleaving (a redefinition races with nothing).
  const std::string both = Message(10, 1700000000, 0, 1)
                               .Template(400, {{8, 4}, {12, 4}})
                               .Data(400, Addresses() + Addresses())
                               .Build();
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> data_sets{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<FlowRecord> out;
      DecodeCounts counts;
      for (int i = 0; i < kPerThread; ++i) {
        out.clear();
        // Each thread defines each exporter's template (i = 0, 1 via `both`
        // and `tmpl`) before sending it data alone.
        const std::string& d = (i % 3 == 0) ? both : (i % 3 == 1 ? tmpl : data);
        if (i % 3 != 1) data_sets.fetch_add(1, std::memory_order_relaxed);
        const Exporter e = testing::TestExporter(static_cast<uint16_t>(2055 + (i % 2)));
        decoder.Decode(e, testing::kNowNs, d, &out, &counts);
        records.fetch_add(out.size(), std::memory_order_relaxed);
        if (t == 0 && i % 100 == 0) decoder.Snapshot();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const DecoderSnapshot snap = decoder.Snapshot();
  uint64_t flows = 0;
  for (const ExporterStats& e : snap.exporters) flows += e.flows;
  EXPECT_EQ(snap.exporters.size(), 2u);
  EXPECT_EQ(snap.templates_known, 2u);
  EXPECT_EQ(snap.pending_sets, 0u);
  EXPECT_EQ(records.load(), 2 * data_sets.load());
  EXPECT_EQ(flows, records.load());
}

}  // namespace
}  // namespace nf2::netflow
