#include "stages/goflow2/line_parser.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "simdjson.h"

namespace nf2 {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// simdjson's DOM front end: it picks the best kernel for the CPU at run time
// (the On-Demand front end is fixed at compile time, which for a generic
// x86-64 build means its slowest kernel) and validates the whole line.
std::unique_ptr<LineParser> MakeRapidjsonParser();

class SimdjsonLineParser final : public LineParser {
 public:
  // `fallback`: hand what simdjson cannot represent to RapidJSON (off when
  // RapidJSON itself asks, so the two never bounce a line back and forth).
  explicit SimdjsonLineParser(bool fallback = true) : use_fallback_(fallback) {}

  ParseResult ParseJson(std::string_view json, size_t readable, FlowRecord* out) override {
    (void)readable;  // the caller guarantees kLinePadding readable bytes
    ParseResult bad;
    bad.error = "invalid JSON";
    simdjson::dom::element root;
    // The parser grows its buffers on demand, up to kMaxLine.
    const simdjson::error_code err = parser_.parse(json.data(), json.size(), false).get(root);
    if (err == simdjson::SUCCESS) return Walk(root, out);
    // Valid JSON that simdjson cannot hold: integers beyond 64 bits (in keys
    // we ignore they must not spoil the line) and nesting past its depth
    // limit. Rare; RapidJSON, which has neither limit, decides.
    if (use_fallback_ && (err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE ||
                          err == simdjson::DEPTH_ERROR)) {
      if (!fallback_) fallback_ = MakeRapidjsonParser();
      return fallback_->ParseJson(json, readable, out);
    }
    return bad;
  }

  std::string_view name() const override { return "simdjson"; }

 private:
  static constexpr size_t kMaxLine = 64u << 20;

  ParseResult Walk(simdjson::dom::element root, FlowRecord* out) {
    simdjson::dom::object obj;
    if (root.get_object().get(obj)) {
      ParseResult bad;
      bad.error = "not a JSON object";
      return bad;
    }
    builder_.Reset();
    for (simdjson::dom::key_value_pair kv : obj) {
      const Field f = RecordBuilder::Lookup(kv.key);
      if (f == Field::kNone) continue;
      switch (kv.value.type()) {
        case simdjson::dom::element_type::UINT64:
          builder_.OnUnsigned(f, kv.value.get_uint64().value_unsafe());
          break;
        case simdjson::dom::element_type::INT64: {
          const int64_t i = kv.value.get_int64().value_unsafe();
          if (i >= 0) {
            builder_.OnUnsigned(f, static_cast<uint64_t>(i));
          } else {
            builder_.OnOther(f);
          }
          break;
        }
        case simdjson::dom::element_type::STRING:
          builder_.OnString(f, kv.value.get_string().value_unsafe());
          break;
        default:  // fractional numbers, booleans, null, arrays, objects
          builder_.OnOther(f);
          break;
      }
    }
    return builder_.Finish(out);
  }

  simdjson::dom::parser parser_{kMaxLine};
  RecordBuilder builder_;
  const bool use_fallback_;
  std::unique_ptr<LineParser> fallback_;
};

// SAX handler: routes the top-level members to RecordBuilder and ignores
// everything nested.
class SaxHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, SaxHandler> {
 public:
  explicit SaxHandler(RecordBuilder* builder) : builder_(builder) {}

  bool Null() { return Other(); }
  bool Bool(bool) { return Other(); }
  // RapidJSON reports "-0" through Int; it is the integer 0, as for simdjson.
  bool Int(int i) { return i >= 0 ? Unsigned(static_cast<uint64_t>(i)) : Other(); }
  bool Uint(unsigned u) { return Unsigned(u); }
  bool Int64(int64_t i) { return i >= 0 ? Unsigned(static_cast<uint64_t>(i)) : Other(); }
  bool Uint64(uint64_t u) { return Unsigned(u); }
  bool Double(double) { return Other(); }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    if (depth_ == 1) {
      if (!root_object_) return false;
      builder_->OnString(pending_, std::string_view(s, len));
      pending_ = Field::kNone;
    }
    return true;
  }
  bool StartObject() {
    if (depth_ == 0) root_object_ = true;
    if (depth_ == 1) {
      builder_->OnOther(pending_);
      pending_ = Field::kNone;
    }
    ++depth_;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    if (depth_ == 1) pending_ = RecordBuilder::Lookup(std::string_view(s, len));
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0) return false;  // root must be an object
    if (depth_ == 1) {
      builder_->OnOther(pending_);
      pending_ = Field::kNone;
    }
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }

  bool root_object() const { return root_object_; }

 private:
  bool Unsigned(uint64_t u) {
    if (depth_ == 0) return false;
    if (depth_ == 1) {
      builder_->OnUnsigned(pending_, u);
      pending_ = Field::kNone;
    }
    return true;
  }
  bool Other() {
    if (depth_ == 0) return false;
    if (depth_ == 1) {
      builder_->OnOther(pending_);
      pending_ = Field::kNone;
    }
    return true;
  }

  RecordBuilder* builder_;
  Field pending_ = Field::kNone;
  int depth_ = 0;
  bool root_object_ = false;
};

class RapidjsonLineParser final : public LineParser {
 public:
  ParseResult ParseJson(std::string_view json, size_t readable, FlowRecord* out) override {
    // RapidJSON stops at a NUL byte as if the text ended there; JSON allows
    // none outside strings and none raw inside them.
    if (std::memchr(json.data(), '\0', json.size()) != nullptr) {
      ParseResult bad;
      bad.error = "invalid JSON";
      return bad;
    }
    // RapidJSON 1.1.0 lets a lone low surrogate escape (\uDC00-\uDFFF)
    // through; JSON text must be valid Unicode, as simdjson checks.
    if (std::memchr(json.data(), '\\', json.size()) != nullptr && HasLoneLowSurrogate(json)) {
      ParseResult bad;
      bad.error = "invalid JSON";
      return bad;
    }
    builder_.Reset();
    SaxHandler handler(&builder_);
    rapidjson::MemoryStream ms(json.data(), json.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
    // Iterative parsing: deeply nested junk must not overflow the stack.
    auto result =
        reader_.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
            is, handler);
    if (result.IsError() && result.Code() == rapidjson::kParseErrorNumberTooBig) {
      // RapidJSON refuses any exponent past double's range, even on a zero
      // ("0e400" is 0); simdjson reads such numbers, so let it decide (it
      // still refuses those that truly overflow, like 1e400).
      if (!exact_numbers_) exact_numbers_ = std::make_unique<SimdjsonLineParser>(false);
      return exact_numbers_->ParseJson(json, readable, out);
    }
    if (result.IsError()) {
      ParseResult bad;
      bad.error = handler.root_object() ? "invalid JSON" : "not a JSON object";
      if (result.Code() == rapidjson::kParseErrorDocumentRootNotSingular) {
        bad.error = "trailing characters after the JSON object";
      }
      return bad;
    }
    return builder_.Finish(out);
  }

  std::string_view name() const override { return "rapidjson"; }

 private:
  // Walks the escapes of the whole text: a \u escape in DC00-DFFF must follow
  // a \u escape in D800-DBFF. (A backslash outside a string is invalid JSON
  // anyway, so no string tracking is needed.)
  static bool HasLoneLowSurrogate(std::string_view s) {
    bool after_high = false;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\') {
        after_high = false;
        continue;
      }
      if (i + 1 < s.size() && s[i + 1] == 'u' && i + 6 <= s.size()) {
        unsigned v = 0;
        for (size_t k = i + 2; k < i + 6; ++k) {
          const char c = s[k];
          v <<= 4;
          if (c >= '0' && c <= '9')
            v |= static_cast<unsigned>(c - '0');
          else if (c >= 'a' && c <= 'f')
            v |= static_cast<unsigned>(c - 'a' + 10);
          else if (c >= 'A' && c <= 'F')
            v |= static_cast<unsigned>(c - 'A' + 10);
          else
            return false;  // a bad escape: RapidJSON itself refuses it
        }
        if (v >= 0xDC00 && v <= 0xDFFF && !after_high) return true;
        after_high = v >= 0xD800 && v <= 0xDBFF;
        i += 5;
      } else {
        after_high = false;
        ++i;  // skip the escaped character
      }
    }
    return false;
  }

  rapidjson::Reader reader_;
  RecordBuilder builder_;
  std::unique_ptr<LineParser> exact_numbers_;
};

std::unique_ptr<LineParser> MakeRapidjsonParser() {
  return std::make_unique<RapidjsonLineParser>();
}

}  // namespace

absl::StatusOr<JsonParserKind> JsonParserKindFromName(std::string_view name) {
  if (name == "simdjson") return JsonParserKind::kSimdjson;
  if (name == "rapidjson") return JsonParserKind::kRapidjson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown JSON parser '", Av(name), "' (want simdjson or rapidjson)"));
}

std::unique_ptr<LineParser> MakeLineParser(JsonParserKind kind) {
  if (kind == JsonParserKind::kRapidjson) return std::make_unique<RapidjsonLineParser>();
  return std::make_unique<SimdjsonLineParser>();
}

std::string_view StripLine(std::string_view line) {
  size_t b = 0;
  while (b < line.size() && IsBlank(line[b])) ++b;
  size_t e = line.size();
  while (e > b && IsBlank(line[e - 1])) --e;
  line = line.substr(b, e - b);
  if (!line.empty() && line.front() != '{') {
    // A container-log prefix ends at its first "| ".
    size_t bar = line.find("| ");
    if (bar == std::string_view::npos) return line;  // junk: the parser says why
    line.remove_prefix(bar + 2);
    while (!line.empty() && IsBlank(line.front())) line.remove_prefix(1);
  }
  return line;
}

ParseResult ParseGoflow2Line(LineParser& parser, std::string_view line, size_t readable,
                             FlowRecord* out) {
  std::string_view json = StripLine(line);
  if (json.empty()) {
    ParseResult r;
    r.error = "blank line";
    return r;
  }
  if (json.front() != '{') {
    ParseResult r;
    r.error = "not a JSON object (no '{' and no container-log prefix)";
    return r;
  }
  const auto offset = static_cast<size_t>(json.data() - line.data());
  return parser.ParseJson(json, readable - offset, out);
}

ParseResult ParseGoflow2LineCopy(LineParser& parser, std::string_view line, FlowRecord* out) {
  std::string padded;
  padded.reserve(line.size() + kLinePadding);
  padded.append(line);
  padded.append(kLinePadding, ' ');
  return ParseGoflow2Line(parser, std::string_view(padded.data(), line.size()), padded.size(), out);
}

}  // namespace nf2
