#include "sink_logic.h"

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>

namespace ingest_sink {
namespace {

// Builds the small JSON answers field by field; rapidjson takes care of escaping.
class JsonObjectBuilder {
 public:
  JsonObjectBuilder() : writer_(buffer_) { writer_.StartObject(); }

  JsonObjectBuilder& Str(std::string_view key, std::string_view value) {
    Key(key);
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }

  JsonObjectBuilder& Uint(std::string_view key, uint64_t value) {
    Key(key);
    writer_.Uint64(value);
    return *this;
  }

  std::string Build() {
    writer_.EndObject();
    return std::string(buffer_.GetString(), buffer_.GetSize());
  }

 private:
  void Key(std::string_view key) {
    writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  }

  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

IngestAnswer Answer(int status, std::string body) {
  IngestAnswer answer;
  answer.status = status;
  answer.body = std::move(body);
  return answer;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Compares without an early exit so response timing does not reveal how much of a guessed key
// matched; the sink is sometimes reachable from other hosts during demos.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string AcceptedBody(uint64_t records) {
  return JsonObjectBuilder().Str("status", "accepted").Uint("records_processed", records).Build();
}

std::string TooManyRecordsBody(uint64_t limit, uint64_t count) {
  return JsonObjectBuilder()
      .Str("error", "too_many_records")
      .Uint("limit", limit)
      .Uint("count", count)
      .Build();
}

// Answers 429 and 503, the two statuses that tell the client when to come back.
IngestAnswer RetryLaterAnswer(int status, const IngestSettings& settings) {
  JsonObjectBuilder body;
  if (status == 429) {
    const int limit =
        settings.rate_limit_per_min > 0 ? settings.rate_limit_per_min : kDefaultRateLimitPerMin;
    body.Str("error", "rate_limited").Uint("limit_per_min", static_cast<uint64_t>(limit));
  } else {
    body.Str("error", "backpressure");
  }
  if (settings.retry_after_s > 0) {
    body.Uint("retry_after", static_cast<uint64_t>(settings.retry_after_s));
  }
  IngestAnswer answer = Answer(status, body.Build());
  answer.retry_after_s = settings.retry_after_s;
  return answer;
}

// X-Batch-Records lets benchmarks get realistic record counts from --discard without parsing.
uint64_t ParseBatchRecordsHeader(std::string_view value) {
  value = TrimBlanks(value);
  uint64_t records = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), records);
  if (ec != std::errc() || end != value.data() + value.size()) return 0;
  return records;
}

enum class Encoding { kIdentity, kGzip, kUnsupported };

Encoding ClassifyEncoding(std::string_view content_encoding) {
  content_encoding = TrimBlanks(content_encoding);
  if (content_encoding.empty() || EqualsIgnoreCase(content_encoding, "identity")) {
    return Encoding::kIdentity;
  }
  if (EqualsIgnoreCase(content_encoding, "gzip") || EqualsIgnoreCase(content_encoding, "x-gzip")) {
    return Encoding::kGzip;
  }
  return Encoding::kUnsupported;
}

// Forwards SAX events to a Document while refusing nesting deeper than kMaxJsonDepth, so that
// re-serializing a record (recursive in rapidjson) cannot exhaust a worker thread's stack.
class DepthLimitedHandler {
 public:
  explicit DepthLimitedHandler(rapidjson::Document& doc) : doc_(doc) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return Enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return Enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

 private:
  bool Enter() { return ++depth_ <= kMaxJsonDepth; }

  rapidjson::Document& doc_;
  int depth_ = 0;
};

// Iterative parsing keeps hostile nesting off the call stack; encoding validation refuses
// invalid UTF-8 like the real (Python) API does. Integers are kept as int64/uint64, so counters
// above 2^53 stay exact without kParseFullPrecisionFlag.
constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

bool ParseJson(std::string_view json, rapidjson::Document& doc) {
  // rapidjson streams report NUL as end of input, which would let bytes after an embedded NUL
  // go unchecked; NUL is never valid in JSON text, so refuse it outright.
  if (json.find('\0') != std::string_view::npos) return false;
  rapidjson::MemoryStream stream(json.data(), json.size());
  bool ok = false;
  auto generator = [&](rapidjson::Document& target) {
    DepthLimitedHandler handler(target);
    rapidjson::Reader reader;
    ok = !reader.Parse<kParseFlags>(stream, handler).IsError();
    return ok;
  };
  doc.Populate(generator);
  return ok;
}

bool IsStringEqual(const rapidjson::Value& value, std::string_view expected) {
  return value.IsString() &&
         std::string_view(value.GetString(), value.GetStringLength()) == expected;
}

// Returns the records array when `doc` has the flows.v1 batch shape, else null.
const rapidjson::Value* BatchRecords(const rapidjson::Document& doc) {
  if (!doc.IsObject()) return nullptr;
  const auto records = doc.FindMember("records");
  if (records == doc.MemberEnd() || !records->value.IsArray()) return nullptr;
  for (const auto& record : records->value.GetArray()) {
    if (!record.IsObject()) return nullptr;
  }
  const auto collector = doc.FindMember("collector_id");
  if (collector != doc.MemberEnd() && !collector->value.IsString()) return nullptr;
  const auto format = doc.FindMember("format");
  if (format != doc.MemberEnd() && !IsStringEqual(format->value, "flows.v1")) return nullptr;
  return &records->value;
}

std::string CompactJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Turns the body into JSON text: returns it unchanged, or inflated into `storage`, or fills
// `error` with the 4xx answer.
bool DecodeBody(const IngestRequest& request, std::string& storage, std::string_view& json,
                IngestAnswer& error) {
  switch (ClassifyEncoding(request.content_encoding)) {
    case Encoding::kIdentity:
      json = request.body;
      return true;
    case Encoding::kUnsupported:
      error = Answer(415, ErrorBody("unsupported_encoding"));
      return false;
    case Encoding::kGzip:
      break;
  }
  switch (Gunzip(request.body, kMaxDecompressedBytes, storage)) {
    case GunzipStatus::kOk:
      json = storage;
      return true;
    case GunzipStatus::kTooLarge:
      error = Answer(400, JsonObjectBuilder()
                              .Str("error", "decompress_failed")
                              .Uint("limit_decompressed_bytes", kMaxDecompressedBytes)
                              .Build());
      return false;
    case GunzipStatus::kCorrupt:
      break;
  }
  error = Answer(400, ErrorBody("decompress_failed"));
  return false;
}

IngestAnswer DecideBatch(const IngestRequest& request, const IngestSettings& settings,
                         bool capture_records) {
  std::string inflated;
  std::string_view json;
  IngestAnswer error;
  if (!DecodeBody(request, inflated, json, error)) return error;

  BatchCheck check = CheckBatch(json, settings.max_records, capture_records);
  switch (check.status) {
    case BatchStatus::kInvalidJson:
      return Answer(400, ErrorBody("invalid_json"));
    case BatchStatus::kBadShape:
      return Answer(400, ErrorBody("bad_batch_shape"));
    case BatchStatus::kTooManyRecords:
      return Answer(413, TooManyRecordsBody(settings.max_records, check.record_count));
    case BatchStatus::kOk:
      break;
  }
  IngestAnswer answer = Answer(202, AcceptedBody(check.record_count));
  answer.records_processed = check.record_count;
  answer.record_lines = std::move(check.record_lines);
  return answer;
}

uint64_t WireSize(const IngestRequest& request) {
  return std::max<uint64_t>(request.wire_size, request.body.size());
}

// Everything after the auth check, in the contract's order: faults, wire size, body.
IngestAnswer DecideAuthorized(const IngestRequest& request, const IngestSettings& settings,
                              const FaultAction& fault, bool capture_records) {
  switch (fault.kind) {
    case FaultAction::Kind::kAnswer:
      return FaultAnswer(fault.status, settings, WireSize(request));
    case FaultAction::Kind::kClose:
      return IngestAnswer{};  // status 0: close without answering.
    case FaultAction::Kind::kNone:
      break;
  }
  if (WireSize(request) > settings.max_body_bytes) {
    return Answer(413, BatchTooLargeBody(settings.max_body_bytes, WireSize(request)));
  }
  if (settings.discard) {
    const uint64_t records = ParseBatchRecordsHeader(request.batch_records);
    IngestAnswer answer = Answer(202, AcceptedBody(records));
    answer.records_processed = records;
    return answer;
  }
  return DecideBatch(request, settings, capture_records);
}

}  // namespace

std::string_view TrimBlanks(std::string_view s) {
  const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsAuthorized(std::string_view authorization, std::string_view key) {
  constexpr std::string_view kScheme = "Bearer";
  authorization = TrimBlanks(authorization);
  if (key.empty() || authorization.size() <= kScheme.size()) return false;
  if (!EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) return false;
  const std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return false;
  return ConstantTimeEquals(TrimBlanks(rest), key);
}

IngestAnswer DecideIngest(const IngestRequest& request, std::string_view key,
                          const IngestSettings& settings,
                          const std::function<FaultAction()>& draw_fault, bool capture_records) {
  if (!IsAuthorized(request.authorization, key)) {
    IngestAnswer answer = Answer(401, UnauthorizedBody());
    answer.delay = settings.latency;
    return answer;
  }
  const FaultAction fault = draw_fault();
  IngestAnswer answer = DecideAuthorized(request, settings, fault, capture_records);
  answer.delay = settings.latency + fault.extra_delay;
  return answer;
}

IngestAnswer FaultAnswer(int status, const IngestSettings& settings, uint64_t body_size) {
  switch (status) {
    case 400:
      return Answer(status, ErrorBody("invalid_json"));
    case 401:
      return Answer(status, UnauthorizedBody());
    case 403:
      return Answer(status, ErrorBody("forbidden"));
    case 404:
      return Answer(status, ErrorBody("not_found"));
    case 413:
      return Answer(status, BatchTooLargeBody(settings.max_body_bytes, body_size));
    case 429:
    case 503:
      return RetryLaterAnswer(status, settings);
    case 500:
      return Answer(status, ErrorBody("internal"));
    case 502:
      return Answer(status, ErrorBody("bad_gateway"));
    case 504:
      return Answer(status, ErrorBody("gateway_timeout"));
    default:
      return Answer(status, JsonObjectBuilder()
                                .Str("error", "injected_fault")
                                .Uint("status", static_cast<uint64_t>(status))
                                .Build());
  }
}

std::string UnauthorizedBody() { return ErrorBody("unauthorized"); }

std::string BatchTooLargeBody(uint64_t limit_bytes, uint64_t size_bytes) {
  return JsonObjectBuilder()
      .Str("error", "batch_too_large")
      .Uint("limit_bytes", limit_bytes)
      .Uint("size_bytes", size_bytes)
      .Build();
}

std::string ErrorBody(std::string_view error) {
  return JsonObjectBuilder().Str("error", error).Build();
}

GunzipStatus Gunzip(std::string_view in, uint64_t max_out, std::string& out) {
  out.clear();
  if (in.size() > UINT_MAX) return GunzipStatus::kTooLarge;  // zlib counts input in uInt.
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer, not a raw zlib stream.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return GunzipStatus::kCorrupt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  // Filled by inflate() before it is read; zeroing 64 KiB per body is waste.
  std::array<char, 64 * 1024> chunk;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  GunzipStatus status = GunzipStatus::kCorrupt;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    // Z_BUF_ERROR with free output space means the input ended mid-stream (truncated body).
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    const size_t produced = chunk.size() - zs.avail_out;
    if (out.size() + produced > max_out) {
      status = GunzipStatus::kTooLarge;
      break;
    }
    out.append(chunk.data(), produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) {
        status = GunzipStatus::kOk;
        break;
      }
      // Another gzip member follows, as `gzip` produces for concatenated files.
      if (inflateReset(&zs) != Z_OK) break;
    }
  }
  inflateEnd(&zs);
  if (status != GunzipStatus::kOk) out.clear();
  return status;
}

BatchCheck CheckBatch(std::string_view json, uint64_t max_records, bool capture_records) {
  BatchCheck check;
  rapidjson::Document doc;
  if (!ParseJson(json, doc)) {
    check.status = BatchStatus::kInvalidJson;
    return check;
  }
  const rapidjson::Value* records = BatchRecords(doc);
  if (records == nullptr) {
    check.status = BatchStatus::kBadShape;
    return check;
  }
  check.record_count = records->Size();
  if (check.record_count > max_records) {
    check.status = BatchStatus::kTooManyRecords;
    return check;
  }
  if (capture_records) {
    check.record_lines.reserve(records->Size());
    for (const auto& record : records->GetArray())
      check.record_lines.push_back(CompactJson(record));
  }
  return check;
}

}  // namespace ingest_sink
