// Why nf2ingest parses goflow2 lines with simdjson's DOM front end and not its
// On-Demand one, measured: the same flowgen corpus through four ways of
// reading the mapped keys, in records per CPU second of one thread.
//
//   dom              what nf2ingest does: the whole line is parsed and
//                    validated, then the top-level keys are walked.
//   ondemand_find    issue 4's "simdjson on-demand, same 10 keys" figure:
//                    find_field_unordered() for each mapped key. Fast because
//                    it never looks past the last key it needs (out_if is
//                    17th of goflow2's 50), so nothing after it is checked.
//   ondemand_walk    On-Demand over every top-level field to the closing
//                    brace, reading the mapped values and skipping the others
//                    unchecked: the least a parser must do to check the
//                    grammar of the whole top level.
//   ondemand_full    the same walk, checking every skipped value too: it
//                    refuses what DOM refuses.
//
// Each benchmark also reports, as counters, whether it rejects three lines
// that are not JSON and so must be counted invalid (docs/contract.md §1), all made
// from the corpus's first line: cut after out_if's value (`rejects_truncated`),
// a leading zero in the value of a key the mapping ignores
// (`rejects_bad_ignored_value`), and the comma after out_if's value dropped
// (`rejects_missing_comma`). A front end that accepts them does not meet the
// contract, whatever its speed.
//
// The corpus is NF2_BENCH_RECORDS (default 1024) flowgen lines.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_support.h"
#include "simdjson.h"
#include "stages/goflow2/line_parser.h"
#include "stages/goflow2/record_builder.h"

namespace nf2::bench {
namespace {

namespace od = simdjson::ondemand;

// Lines, each copied with kLinePadding readable bytes after it.
struct Lines {
  std::vector<std::string> padded;
  std::vector<size_t> sizes;
};

void Add(Lines* lines, std::string_view line) {
  std::string s(line);
  lines->sizes.push_back(s.size());
  s.append(kLinePadding, ' ');
  lines->padded.push_back(std::move(s));
}

const Lines& TheLines() {
  static const Lines* lines = [] {
    auto* l = new Lines;
    const std::string text =
        GenerateCorpus(EnvU64("NF2_BENCH_RECORDS", 1024), EnvU64("NF2_BENCH_SEED", 1));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      if (nl > pos) Add(l, std::string_view(text).substr(pos, nl - pos));
      pos = nl + 1;
    }
    return l;
  }();
  return *lines;
}

// The two bad lines, made from the corpus's first line.
Lines BadLines() {
  const Lines& good = TheLines();
  const std::string line(good.padded[0].data(), good.sizes[0]);
  Lines bad;
  // Cut after out_if's value, between two members (no string is left open;
  // the rest of the line and its closing brace are missing).
  const std::string_view view(line);
  Add(&bad, view.substr(0, line.find(',', line.find("\"out_if\":"))));
  // A leading zero is not JSON; sampling_rate is a key the mapping ignores.
  const size_t at = line.find("\"sampling_rate\":") + std::strlen("\"sampling_rate\":");
  Add(&bad, std::string(view.substr(0, at)) + "0" + std::string(view.substr(at)));
  // The comma before the key after out_if is missing.
  const size_t comma = line.find(',', line.find("\"out_if\":"));
  Add(&bad, std::string(view.substr(0, comma)) + " " + std::string(view.substr(comma + 1)));
  return bad;
}

// What every front end extracts: the mapped keys' values.
struct Mapped {
  uint64_t numbers = 0;  // sum of the mapped numbers (kept so nothing is optimized out)
  size_t string_bytes = 0;
  int fields = 0;
};

[[gnu::flatten]] bool ParseDom(simdjson::dom::parser& parser, const char* data, size_t size,
                               Mapped* m) {
  simdjson::dom::element root;
  if (parser.parse(data, size, false).get(root)) return false;
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return false;
  for (simdjson::dom::key_value_pair kv : obj) {
    if (RecordBuilder::Lookup(kv.key) == Field::kNone) continue;
    ++m->fields;
    if (kv.value.is_uint64()) {
      m->numbers += kv.value.get_uint64().value_unsafe();
    } else if (kv.value.is_string()) {
      m->string_bytes += kv.value.get_string().value_unsafe().size();
    }
  }
  return true;
}

bool ReadValue(od::value& v, Mapped* m) {
  od::json_type type;
  if (v.type().get(type)) return false;
  ++m->fields;
  if (type == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return false;
    m->string_bytes += s.size();
    return true;
  }
  uint64_t u = 0;
  if (v.get_uint64().get(u)) return false;
  m->numbers += u;
  return true;
}

// The mapped keys in the order goflow2 writes them. find_field_unordered()
// resumes from where the previous lookup stopped, so in this order it makes
// one pass up to out_if; in another order it wraps around and reads the whole
// object (measured: ~2 M/s, and then it sees a missing comma).
constexpr const char* kKeysInGoflow2Order[] = {
    "type",  "time_received_ns", "time_flow_start_ns", "bytes", "packets", "src_addr", "dst_addr",
    "proto", "src_port",         "dst_port",           "in_if", "out_if"};
static_assert(std::size(kKeysInGoflow2Order) == std::size(kMappedKeys));

[[gnu::flatten]] bool ParseOnDemandFind(od::parser& parser, const char* data, size_t size,
                                        size_t readable, Mapped* m) {
  od::document doc;
  if (parser.iterate(data, size, readable).get(doc)) return false;
  od::object obj;
  if (doc.get_object().get(obj)) return false;
  for (const char* key : kKeysInGoflow2Order) {
    od::value v;
    const simdjson::error_code err = obj.find_field_unordered(key).get(v);
    if (err == simdjson::NO_SUCH_FIELD) continue;
    if (err || !ReadValue(v, m)) return false;
  }
  return true;
}

// Checks a value On-Demand would skip, so that the walk refuses what DOM
// refuses (a string without a backslash needs no check: stage 1 has checked
// UTF-8, control characters and the closing quote).
simdjson::error_code CheckContainer(od::value& v, bool raw_strings);

[[gnu::always_inline]] inline simdjson::error_code CheckValue(od::value& v, bool raw_strings) {
  od::json_type type;
  SIMDJSON_TRY(v.type().get(type));
  switch (type) {
    case od::json_type::number:
      return v.get_number().error();
    case od::json_type::string:
      return raw_strings ? simdjson::SUCCESS : v.get_string().error();
    case od::json_type::boolean:
      return v.get_bool().error();
    case od::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(v.is_null().get(is_null));
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
    default:
      return CheckContainer(v, raw_strings);
  }
}

simdjson::error_code CheckContainer(od::value& v, bool raw_strings) {
  od::json_type type;
  SIMDJSON_TRY(v.type().get(type));
  if (type == od::json_type::array) {
    od::array arr;
    SIMDJSON_TRY(v.get_array().get(arr));
    for (auto element : arr) {
      od::value e;
      SIMDJSON_TRY(element.get(e));
      SIMDJSON_TRY(CheckValue(e, raw_strings));
    }
    return simdjson::SUCCESS;
  }
  od::object obj;
  SIMDJSON_TRY(v.get_object().get(obj));
  for (auto member : obj) {
    od::field field;
    SIMDJSON_TRY(std::move(member).get(field));
    if (!raw_strings) SIMDJSON_TRY(field.unescaped_key().error());
    SIMDJSON_TRY(CheckValue(field.value(), raw_strings));
  }
  return simdjson::SUCCESS;
}

// On-Demand over every top-level field to the closing brace, reading the
// mapped values; the other values are skipped unchecked or, with
// kCheckSkipped, checked (CheckValue).
template <bool kCheckSkipped>
[[gnu::flatten]] bool ParseOnDemandWalk(od::parser& parser, const char* data, size_t size,
                                        size_t readable, Mapped* m) {
  // Keys are read in place (no unescaping copy) when the line holds no
  // backslash, as a tuned On-Demand parser would.
  const bool raw = std::memchr(data, '\\', size) == nullptr;
  od::document doc;
  if (parser.iterate(data, size, readable).get(doc)) return false;
  od::object obj;
  if (doc.get_object().get(obj)) return false;
  for (auto member : obj) {
    od::field field;
    if (std::move(member).get(field)) return false;
    std::string_view key;
    if (raw) {
      const char* begin = field.key().raw();
      const char* end = begin;
      while (*end != '"') ++end;
      key = std::string_view(begin, static_cast<size_t>(end - begin));
    } else if (field.unescaped_key().get(key)) {
      return false;
    }
    if (RecordBuilder::Lookup(key) != Field::kNone) {
      if (!ReadValue(field.value(), m)) return false;
    } else if (kCheckSkipped && CheckValue(field.value(), raw)) {
      return false;
    }
  }
  // Only the end may follow the closing brace.
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// Runs `parse(data, size, readable, &mapped) -> bool` over the corpus, one line
// per call, timing on the thread's CPU clock; then tries the bad lines.
template <typename Parse>
void RunFrontEnd(benchmark::State& state, Parse parse) {
  const Lines& lines = TheLines();
  Mapped m;
  int64_t records = 0;
  size_t i = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    for (int k = 0; k < 256; ++k) {
      const std::string& s = lines.padded[i];
      if (!parse(s.data(), lines.sizes[i], s.size(), &m)) {
        state.SkipWithError("a corpus line was refused");
        return;
      }
      if (++i == lines.padded.size()) i = 0;
    }
    const double dt = ThreadCpuSeconds() - t0;
    state.SetIterationTime(dt);
    records += 256;
  }
  benchmark::DoNotOptimize(m);
  state.SetItemsProcessed(records);
  const Lines bad = BadLines();
  Mapped ignored;
  state.counters["rejects_truncated"] =
      parse(bad.padded[0].data(), bad.sizes[0], bad.padded[0].size(), &ignored) ? 0 : 1;
  state.counters["rejects_bad_ignored_value"] =
      parse(bad.padded[1].data(), bad.sizes[1], bad.padded[1].size(), &ignored) ? 0 : 1;
  state.counters["rejects_missing_comma"] =
      parse(bad.padded[2].data(), bad.sizes[2], bad.padded[2].size(), &ignored) ? 0 : 1;
}

void BM_JsonFrontEnd_dom(benchmark::State& state) {
  simdjson::dom::parser parser;
  RunFrontEnd(
      state, [&](const char* d, size_t n, size_t, Mapped* m) { return ParseDom(parser, d, n, m); });
}
BENCHMARK(BM_JsonFrontEnd_dom)->UseManualTime();

void BM_JsonFrontEnd_ondemand_find(benchmark::State& state) {
  od::parser parser;
  RunFrontEnd(state, [&](const char* d, size_t n, size_t r, Mapped* m) {
    return ParseOnDemandFind(parser, d, n, r, m);
  });
}
BENCHMARK(BM_JsonFrontEnd_ondemand_find)->UseManualTime();

void BM_JsonFrontEnd_ondemand_walk(benchmark::State& state) {
  od::parser parser;
  RunFrontEnd(state, [&](const char* d, size_t n, size_t r, Mapped* m) {
    return ParseOnDemandWalk<false>(parser, d, n, r, m);
  });
}
BENCHMARK(BM_JsonFrontEnd_ondemand_walk)->UseManualTime();

void BM_JsonFrontEnd_ondemand_full(benchmark::State& state) {
  od::parser parser;
  RunFrontEnd(state, [&](const char* d, size_t n, size_t r, Mapped* m) {
    return ParseOnDemandWalk<true>(parser, d, n, r, m);
  });
}
BENCHMARK(BM_JsonFrontEnd_ondemand_full)->UseManualTime();

// For scale: the product's whole parse step (strip, parse, validate, map into
// a FlowRecord) with its default parser, over the same lines.
void BM_JsonFrontEnd_product_parser(benchmark::State& state) {
  auto parser = MakeLineParser(JsonParserKind::kSimdjson);
  FlowRecord rec;
  RunFrontEnd(state, [&](const char* d, size_t n, size_t r, Mapped* m) {
    const ParseResult res = ParseGoflow2Line(*parser, std::string_view(d, n), r, &rec);
    m->numbers += rec.bytes;
    return res.verdict == LineVerdict::kRecord;
  });
}
BENCHMARK(BM_JsonFrontEnd_product_parser)->UseManualTime();

}  // namespace
}  // namespace nf2::bench

BENCHMARK_MAIN();
