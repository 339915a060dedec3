#include "tools/nf2ingest/config.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pipeline/absl_compat.h"
#include "pipeline/json_escape.h"
#include "pipeline/status_macros.h"
#include "stages/flows/flow_record_json.h"
#include "stages/sinks/http/spool.h"
#include "stages/sources/udp/listen_address.h"
#include "tools/nf2ingest/cpu_budget.h"

namespace nf2 {
namespace {

// A key file is one short line; anything larger (a wrong path such as
// /dev/zero or a log file) is refused before it is read in full.
constexpr size_t kMaxKeyFileBytes = 16 << 10;
// What a spool file holds besides the request body: the magic line, the
// fixed header (id, record count, body sizes, note size, flags) and the CRC.
constexpr uint64_t kSpoolFileOverheadBytes = kBatchFileMagic.size() + 36 + 4;

// What the settings parse into; Validate turns it into the Config.
struct Draft {
  Config cfg;
  std::string key_file;
  double generate_rate = 0;  // 0: no load-test mode
  absl::Duration duration = absl::Seconds(10);
  int max_in_flight_limit = 64;    // the bound of MAX_IN_FLIGHT=auto
  absl::Duration retry_after_max;  // zero: RETRY_MAX
  KafkaSourceOptions kafka;        // used with --kafka-brokers
  std::string kafka_options;       // --kafka-option texts, '\n' between flags
  int udp_sockets = 0;             // 0: one per parser thread
};

// One thread per pool per CPU this process may use (affinity and cgroup
// quota, not the machine's count).
std::string DefaultThreads() { return std::to_string(CpuBudget()); }

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      extra = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

absl::Status ParseCollectorId(const Setting& s, std::string_view text, std::string* out) {
  if (text.empty()) return BadSetting(s, text, "must not be empty");
  if (!IsValidUtf8(text)) return BadSetting(s, "", "not valid UTF-8");
  *out = std::string(text);
  return absl::OkStatus();
}

using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

// Whether libcurl, which sends the requests, can use the URL: it parses,
// names a host and a port in 1..65535.
absl::Status CheckUrlWithCurl(const Setting& s, const std::string& url) {
  CurlUrl u(curl_url(), &curl_url_cleanup);
  if (!u) return absl::ResourceExhaustedError("curl_url: out of memory");
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    return BadSetting(s, url, absl::StrCat("not a URL libcurl can use: ", curl_url_strerror(rc)));
  }
  char* host = nullptr;
  const bool has_host = curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK &&
                        host != nullptr && host[0] != '\0';
  curl_free(host);
  if (!has_host) return BadSetting(s, url, "the URL has no host");
  char* port = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PORT, &port, 0) == CURLUE_OK && port != nullptr) {
    int n = 0;
    const bool ok = absl::SimpleAtoi(port, &n) && n >= 1 && n <= 65535;
    curl_free(port);
    if (!ok) return BadSetting(s, url, "the port must be 1..65535");
  }
  return absl::OkStatus();
}

absl::Status ParseApi(const Setting& s, std::string_view text, std::string* api) {
  if (UrlWithoutUserinfo(text) != text) {
    // Never echo the userinfo: it is a password more often than not.
    return BadSetting(s, UrlWithoutUserinfo(text),
                      "a user or password in the URL (removed here) is refused: the API takes a "
                      "Bearer key from KEY or --key-file, not Basic auth");
  }
  std::string v(text);
  while (!v.empty() && v.back() == '/') v.pop_back();
  const bool http = absl::StartsWith(v, "http://");
  const bool https = absl::StartsWith(v, "https://");
  if (!http && !https) return BadSetting(s, text, "not an http:// or https:// URL");
  std::string_view rest = std::string_view(v).substr(http ? 7 : 8);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    return BadSetting(s, text, "the URL has no host");
  }
  for (char c : rest) {
    if (c == ' ' || c == '?' || c == '#' || static_cast<unsigned char>(c) < 0x20) {
      return BadSetting(s, text, "the URL contains a space, query or fragment");
    }
  }
  RETURN_IF_ERROR(CheckUrlWithCurl(s, v));
  *api = v;
  return absl::OkStatus();
}

absl::Status ParseMetricsAddr(const Setting& s, std::string_view text, Config* cfg) {
  const std::string addr(text);
  const size_t colon = addr.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return BadSetting(s, addr, "not HOST:PORT (e.g. 0.0.0.0:9464)");
  }
  cfg->metrics_host = addr.substr(0, colon);
  // [::1]:9464 names an IPv6 host.
  if (cfg->metrics_host.size() > 2 && cfg->metrics_host.front() == '[' &&
      cfg->metrics_host.back() == ']') {
    cfg->metrics_host = cfg->metrics_host.substr(1, cfg->metrics_host.size() - 2);
  }
  cfg->metrics_port = port;
  return absl::OkStatus();
}

// MAX_IN_FLIGHT: a number, or auto (the sender finds the API's capacity).
absl::Status ParseMaxInFlight(const Setting& s, std::string_view text, SenderOptions* sender) {
  sender->adaptive_in_flight = text == "auto";
  if (sender->adaptive_in_flight) return absl::OkStatus();
  return IntInto(&sender->max_in_flight, 1, 1024)(s, text);
}

absl::StatusOr<HttpVersion> HttpVersionFromName(std::string_view name) {
  if (name == "auto") return HttpVersion::kAuto;
  if (name == "1.1") return HttpVersion::kHttp11;
  if (name == "2") return HttpVersion::kHttp2;
  return absl::InvalidArgumentError("not 1.1, 2 or auto");
}

// A proxy URL, checked by libcurl; its userinfo never reaches a message.
absl::Status ParseProxy(const Setting& s, std::string_view text, std::string* proxy) {
  if (text.empty()) return absl::OkStatus();  // libcurl's environment variables
  std::string v(text);
  if (v.find("://") == std::string::npos) v = "http://" + v;
  CurlUrl u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, v.c_str(), 0) != CURLUE_OK) {
    return BadSetting(s, UrlWithoutUserinfo(text), "not a proxy URL (http://HOST:PORT)");
  }
  *proxy = std::string(text);
  return absl::OkStatus();
}

absl::Status ParseRate(const Setting& s, std::string_view text, double* rate) {
  if (text.empty()) return absl::OkStatus();  // no load-test mode
  absl::StatusOr<double> d = ParseSettingDouble(s, text, 0, 1e9, /*min_exclusive=*/true);
  if (!d.ok()) return BadSetting(s, text, "not a rate in records per second (0 < RATE <= 1e9)");
  *rate = *d;
  return absl::OkStatus();
}

absl::StatusOr<ChunkFormat> KafkaFormatFromName(const std::string& name) {
  if (name == "json") return ChunkFormat::kJsonLines;
  if (name == "protobuf") return ChunkFormat::kDelimitedProtobuf;
  return absl::InvalidArgumentError("not json or protobuf");
}

absl::StatusOr<bool> KafkaStartFromName(const std::string& name) {
  if (name == "earliest") return true;
  if (name == "latest") return false;
  return absl::InvalidArgumentError("not earliest or latest");
}

// The Kafka input's rows (--kafka-brokers switches the input to Kafka).
std::vector<Setting> KafkaRows(Draft* d) {
  KafkaSourceOptions& k = d->kafka;
  Setting option{"kafka-option",
                 "KAFKA_OPTIONS",
                 "KEY=VALUE",
                 "",
                 "a librdkafka setting (security.protocol, sasl.*, ssl.*, fetch sizes); repeat "
                 "the flag, or separate them by commas in the variable; secrets (passwords, "
                 "keys) only through the variable, never on the command line",
                 StringInto(&d->kafka_options)};
  option.repeatable = true;
  return {
      {"kafka-brokers", "KAFKA_BROKERS", "HOST:PORT,...", "",
       "read goflow2 messages from Kafka (as a member of --kafka-group) instead of files",
       StringInto(&k.brokers)},
      {"kafka-topic", "KAFKA_TOPIC", "NAME", "flow-messages", "Kafka topic goflow2 writes to",
       StringInto(&k.topic, false)},
      {"kafka-group", "KAFKA_GROUP", "NAME", "nf2ingest",
       "consumer group: instances in one group share the topic's partitions",
       StringInto(&k.group, false)},
      {"kafka-format", "KAFKA_FORMAT", "FORMAT", "json",
       "json (goflow2 -format=json) or protobuf (-format=bin, length-delimited FlowMessage)",
       NamedInto(&k.format, KafkaFormatFromName)},
      {"kafka-start", "KAFKA_START", "WHERE", "earliest",
       "where a group without committed offsets starts: earliest or latest",
       NamedInto(&k.start_earliest, KafkaStartFromName)},
      option,
      {"kafka-revoke-timeout", "KAFKA_REVOKE_TIMEOUT", "SECONDS", "10",
       "on a rebalance: seconds to wait for the revoked partitions' batches before letting go",
       SecondsInto(&k.revoke_timeout, {absl::Nanoseconds(1), true})},
      {"kafka-max-uncommitted", "KAFKA_MAX_UNCOMMITTED", "N", "100000",
       "most messages in the pipeline past the committed offsets: what a crash can deliver twice",
       IntInto(&k.max_uncommitted, 1, 1 << 30)},
  };
}

// LISTEN: netflow://HOST:PORT URLs, comma-separated (repeated flags are
// joined by newlines).
absl::Status ParseListen(const Setting& s, std::string_view text, std::vector<ListenAddress>* out) {
  out->clear();
  for (absl::string_view piece :
       absl::StrSplit(Av(text), absl::ByAnyChar(",\n"), absl::SkipWhitespace())) {
    const std::string_view item = Sv(absl::StripAsciiWhitespace(piece));
    absl::StatusOr<ListenAddress> address = ParseListenUrl(item);
    if (!address.ok()) return BadSetting(s, item, Sv(address.status().message()));
    out->push_back(*std::move(address));
  }
  return absl::OkStatus();
}

// The rows, in the order they are parsed and listed in --help. Fields are
// pointers into `d`.
SettingsTable CoreRows(Draft* d) {
  Config& c = d->cfg;
  PipelineOptions& p = c.pipeline;
  const SecondsRange positive;
  const SecondsRange zero_is_off{absl::Nanoseconds(1), true};
  const SecondsRange at_least_1ms{absl::Milliseconds(1)};
  return {
      {"api", "API", "URL", "http://telemetry-api:8080", "API base URL; /v1/ingest is appended",
       [&c](const Setting& s, std::string_view t) { return ParseApi(s, t, &c.api); }},
      {"key-file", "KEY_FILE", "FILE", "",
       "file whose first line is the Bearer key (else the KEY variable, default TEST_KEY)",
       StringInto(&d->key_file)},
      {"collector-id", "COLLECTOR_ID", "ID", "gw-local", "collector_id in every payload (UTF-8)",
       [&p](const Setting& s, std::string_view t) {
         return ParseCollectorId(s, t, &p.collector_id);
       }},
      {"batch-size", "BATCH_SIZE", "N", "200", "records per batch",
       IntInto(&p.batch_size, 1, INT64_MAX)},
      {"flush-interval", "FLUSH_INTERVAL", "SECONDS", "1", "seconds before a partial batch is sent",
       SecondsInto(&p.flush_interval, positive)},
      {"max-records-per-batch", "MAX_RECORDS_PER_BATCH", "N", "10000",
       "hard cap on records per request", IntInto(&p.limits.max_records, 1, INT64_MAX)},
      {"max-payload-size", "MAX_PAYLOAD_SIZE", "BYTES", "5242880",
       "hard cap on bytes per request, on the wire",
       IntInto(&p.limits.max_wire_bytes, 1, INT64_MAX)},
      {"gzip-threshold", "GZIP_THRESHOLD", "BYTES", "51200",
       "gzip bodies larger than this many bytes", IntInto(&p.limits.gzip_threshold, 0, INT64_MAX)},
      {"gzip-impl", "GZIP_IMPL", "NAME", "isal", "gzip implementation: isal, libdeflate or zlib",
       NamedInto(&p.gzip_impl, GzipImplFromName)},
      {"gzip-level", "GZIP_LEVEL", "N", "1", "gzip level (isal 0..3, libdeflate 1..12, zlib 1..9)",
       IntInto(&p.gzip_level, 0, 1000)},
      {"json-parser", "JSON_PARSER", "NAME", "simdjson", "JSON parser: simdjson or rapidjson",
       NamedInto(&p.json_parser, JsonParserKindFromName)},
      {"log-level", "LOG_LEVEL", "LEVEL", "INFO", "DEBUG, INFO, WARN or ERROR",
       NamedInto(&c.log_level, LogLevelFromName)},
      {"max-in-flight", "MAX_IN_FLIGHT", "N|auto", "4",
       "concurrent POST requests; auto: found and followed from the API's answers (429/503, "
       "timeouts, round trips)",
       [&p](const Setting& s, std::string_view t) { return ParseMaxInFlight(s, t, &p.sender); }},
      {"max-in-flight-limit", "MAX_IN_FLIGHT_LIMIT", "N", "64",
       "with MAX_IN_FLIGHT=auto: the most requests in flight",
       IntInto(&d->max_in_flight_limit, 1, 1024)},
      {"timeout", "TIMEOUT", "SECONDS", "30",
       "seconds for one request, answer included (at least 0.001)",
       SecondsInto(&p.sender.timeout, at_least_1ms)},
      {"connect-timeout", "CONNECT_TIMEOUT", "SECONDS", "5", "seconds to connect (at least 0.001)",
       SecondsInto(&p.sender.connect_timeout, at_least_1ms)},
      {"ca-file", "CA_FILE", "FILE", "",
       "PEM bundle of the CAs that may sign the API's certificate (default: the system store)",
       StringInto(&p.sender.connection.ca_file)},
      {"client-cert", "CLIENT_CERT", "FILE", "", "PEM client certificate for mutual TLS",
       StringInto(&p.sender.connection.client_cert)},
      {"client-key", "CLIENT_KEY", "FILE", "",
       "PEM private key of --client-cert (keep it readable by its owner only)",
       StringInto(&p.sender.connection.client_key)},
      {"tls-server-name", "TLS_SERVER_NAME", "NAME", "",
       "the name the API's certificate carries, when the URL names an address",
       StringInto(&p.sender.connection.tls_server_name)},
      {"proxy", "PROXY", "URL", "",
       "proxy for the API (default: HTTPS_PROXY / HTTP_PROXY / NO_PROXY as libcurl reads them)",
       [&p](const Setting& s, std::string_view t) {
         return ParseProxy(s, t, &p.sender.connection.proxy);
       }},
      {"http-version", "HTTP_VERSION", "VERSION", "auto",
       "1.1, 2, or auto (HTTP/2 when TLS offers it, so requests share one connection)",
       NamedInto(&p.sender.connection.http_version, HttpVersionFromName)},
      {"retry-initial", "RETRY_INITIAL", "SECONDS", "0.5",
       "first retry backoff cap, seconds (doubles per retry)",
       SecondsInto(&p.sender.retry_initial, positive)},
      {"retry-max", "RETRY_MAX", "SECONDS", "30", "largest retry backoff, seconds",
       SecondsInto(&p.sender.retry_max, positive)},
      {"retry-after-max", "RETRY_AFTER_MAX", "SECONDS", "",
       "longest wait a 429/503 Retry-After may ask for; a longer one is cut to this "
       "(default: --retry-max)",
       SecondsInto(&d->retry_after_max, positive)},
      {"drain-timeout", "DRAIN_TIMEOUT", "SECONDS", "30",
       "after a stop signal: seconds to finish sending; after EOF: seconds without a success "
       "before giving up; then the rest is spooled or "
       "undelivered",
       SecondsInto(&c.drain_timeout, zero_is_off)},
      {"retry-on", "RETRY_ON", "LIST", "408,429,5xx,network",
       "failures to retry: HTTP statuses, 5xx (all but 501) and network",
       NamedInto(&p.sender.retry_on, RetryOn::Parse)},
      {"spool-dir", "SPOOL_DIR", "DIR", "",
       "directory for batches that cannot be delivered yet (replayed when the API answers)",
       StringInto(&c.spool_dir)},
      {"spool-max-bytes", "SPOOL_MAX_BYTES", "BYTES", "1073741824",
       "spool size cap, at least one batch (MAX_PAYLOAD_SIZE + 58); a full spool holds the input "
       "back, it never deletes",
       IntInto(&c.spool_max_bytes, 1, INT64_MAX)},
      {"durable", "DURABLE", "", "false",
       "write every batch to the spool before sending it (needs --spool-dir)",
       BoolInto(&p.sender.durable), FlagValue::kOptional},
      {"retry-max-duration", "RETRY_MAX_DURATION", "SECONDS", "60",
       "with a spool: after this many seconds without a success, new batches go to disk",
       SecondsInto(&p.sender.retry_max_duration, positive)},
      {"dead-letter-dir", "DEAD_LETTER_DIR", "DIR", "",
       "directory for batches the API rejects for good, with its answer",
       StringInto(&c.dead_letter_dir)},
      {"replay", "REPLAY", "DIR", "",
       "re-send the batches of a dead-letter or spool directory, then exit (no input is read)",
       StringInto(&c.replay_dir)},
      {"parser-threads", "PARSER_THREADS", "N", DefaultThreads(), "JSON parser threads",
       IntInto(&p.parser_threads, 1, 256)},
      {"mapper-threads", "MAPPER_THREADS", "N", DefaultThreads(), "flows.v1 mapper threads",
       IntInto(&p.mapper_threads, 1, 256)},
      {"assembler-threads", "ASSEMBLER_THREADS", "N", DefaultThreads(),
       "batch assembler (and gzip) threads", IntInto(&p.assembler_threads, 1, 256)},
      {"queue-chunks", "QUEUE_CHUNKS", "N", "4", "chunks each queue between stages holds",
       IntInto(&p.queue_chunks, 1, 4096)},
      {"chunk-bytes", "CHUNK_BYTES", "BYTES", "1048576", "bytes of input read per chunk",
       IntInto(&p.source.chunk_bytes, 4096, 64 << 20)},
      {"max-line-bytes", "MAX_LINE_BYTES", "BYTES", "1048576",
       "longer input lines (newline excluded) are counted invalid; at least --chunk-bytes",
       IntInto(&p.source.max_line_bytes, 1, 64 << 20)},
      {"checkpoint-file", "CHECKPOINT_FILE", "FILE", "",
       "record how far each input file is dealt with, and resume there on the next start "
       "(files only, not stdin or FIFOs)",
       StringInto(&c.checkpoint_path)},
      {"follow", "FOLLOW", "", "false",
       "like tail -F: at the end of each input file wait for more, follow rotation (rename or "
       "copytruncate), wait for files that do not exist yet; runs until a stop signal",
       BoolInto(&p.source.follow), FlagValue::kOptional},
      {"listen", "LISTEN", "URL", "",
       "receive NetFlow v5/v9/IPFIX over UDP at netflow://HOST:PORT instead of reading input "
       "(repeatable; the variable takes a comma-separated list; IPv6 as netflow://[::]:2055; "
       "port 0: any free port, logged at start)",
       [&c](const Setting& s, std::string_view t) { return ParseListen(s, t, &c.udp.listen); },
       FlagValue::kRequired, /*repeatable=*/true},
      {"udp-sockets", "UDP_SOCKETS", "N", "",
       "with --listen: sockets (and reader threads) per address, bound with SO_REUSEPORT so the "
       "kernel spreads exporters over them (default: --parser-threads)",
       IntInto(&d->udp_sockets, 1, 64)},
      {"udp-rcvbuf", "UDP_RCVBUF", "BYTES", "33554432",
       "with --listen: receive buffer per socket, where bursts wait; the kernel caps it at "
       "net.core.rmem_max unless nf2ingest may exceed that (CAP_NET_ADMIN)",
       IntInto(&c.udp.rcvbuf_bytes, 4096, 1 << 30)},
      {"templates-file", "TEMPLATES_FILE", "FILE", "",
       "with --listen: keep NetFlow v9/IPFIX templates in this file (loaded at start, rewritten "
       "atomically when they change and at exit), so a restart decodes data at once",
       StringInto(&c.templates_path)},
      {"stats-interval", "STATS_INTERVAL", "SECONDS", "10",
       "seconds between live stats lines (a progress line on a terminal); 0 = off, else at "
       "least 0.1",
       SecondsInto(&c.stats_interval, {absl::Milliseconds(100), true})},
      {"metrics-addr", "METRICS_ADDR", "HOST:PORT", "",
       "serve Prometheus /metrics and /healthz on HOST:PORT (port 0 = any free port)",
       [&c](const Setting& s, std::string_view t) { return ParseMetricsAddr(s, t, &c); }},
      {"health-stall-seconds", "HEALTH_STALL_SECONDS", "SECONDS", "60",
       "/healthz answers 503 when no request has succeeded for this long while data waits",
       SecondsInto(&c.health_stall, positive)},
      {"log-format", "LOG_FORMAT", "FORMAT", "text",
       "text, or json (one object per line: time, level, msg)",
       NamedInto(&c.log_format, LogFormatFromName)},
      {"generate", "GENERATE", "RATE", "",
       "load-test mode: generate this many records per second (open loop) instead of reading "
       "input",
       [d](const Setting& s, std::string_view t) { return ParseRate(s, t, &d->generate_rate); }},
      {"duration", "DURATION", "SECONDS", "10",
       "load-test mode: seconds to generate for (with --ramp: seconds per step)",
       SecondsInto(&d->duration, positive)},
      {"report", "REPORT", "FILE", "", "load-test mode: write the JSON report to this file",
       StringInto(&c.report_path)},
      {"report-html", "REPORT_HTML", "FILE", "",
       "load-test mode: write the report as one self-contained HTML page with charts",
       StringInto(&c.report_html_path)},
      {"ramp", "RAMP", "STEPS", "0",
       "load-test mode: run up to this many steps at 1x, 2x, 3x ... the --generate rate, "
       "stopping at the first step whose latency, errors or backlog break the limits below "
       "(0 = one fixed rate)",
       IntInto(&c.ramp.steps, 0, 1000)},
      {"ramp-max-p99-ms", "RAMP_MAX_P99_MS", "MS", "1000",
       "with --ramp: a step fails when its p99 request latency is above this",
       DoubleInto(&c.ramp.max_p99_ms, 0, 1e12, /*min_exclusive=*/true)},
      {"ramp-max-error-ratio", "RAMP_MAX_ERROR_RATIO", "RATIO", "0.01",
       "with --ramp: a step fails when more than this share of its requests are not answered 2xx",
       DoubleInto(&c.ramp.max_error_ratio, 0, 1)},
  };
}

SettingsTable Table(Draft* d) {
  SettingsTable table = CoreRows(d);
  for (Setting& row : KafkaRows(d)) table.push_back(std::move(row));
  return table;
}

// The first line of the key file, or KEY, or TEST_KEY; never echoed.
absl::StatusOr<std::string> ReadKeyFile(const std::string& key_file) {
  std::ifstream in(key_file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid setting --key-file / KEY_FILE='", key_file, "': cannot read it"));
  }
  std::string content(kMaxKeyFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("invalid setting --key-file / KEY_FILE='",
                                                   key_file, "': larger than ", kMaxKeyFileBytes,
                                                   " bytes; a key file holds one line"));
  }
  std::string key(absl::StripAsciiWhitespace(content.substr(0, content.find('\n'))));
  if (key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid setting --key-file / KEY_FILE='", key_file, "': the file is empty"));
  }
  return key;
}

absl::StatusOr<std::string> ReadKey(const std::string& key_file, const GetEnvFn& getenv) {
  std::string key;
  if (!key_file.empty()) {
    ASSIGN_OR_RETURN(key, ReadKeyFile(key_file));
  } else {
    const char* env = getenv("KEY");
    key = env ? env : "TEST_KEY";
    if (key.empty()) return absl::InvalidArgumentError("invalid setting KEY: it is empty");
  }
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      // Never echo the key itself, even in an error.
      return absl::InvalidArgumentError(
          "invalid setting KEY / --key-file: the key contains control characters");
    }
  }
  return key;
}

// Request sizes: records per batch, bytes per request, gzip, spool.
absl::Status ValidateBatching(const LoadedSettings& l, Config* cfg) {
  PipelineOptions& p = cfg->pipeline;
  if (p.batch_size > p.limits.max_records) {
    cfg->warnings.push_back(absl::StrCat("BATCH_SIZE ", p.batch_size,
                                         " is above MAX_RECORDS_PER_BATCH; clamped to ",
                                         p.limits.max_records));
    p.batch_size = p.limits.max_records;
  }
  // One record of the widest shape, in its envelope, must fit in a request.
  const size_t envelope =
      std::string_view("{\"records\":[").size() +
      std::string_view("],\"collector_id\":\"\",\"format\":\"flows.v1\"}").size() +
      JsonEscape(p.collector_id).size();
  const size_t smallest = envelope + MaxFlowRecordJsonSize();
  if (p.limits.max_wire_bytes < smallest) {
    return l.Invalid("max-payload-size", absl::StrCat("too small to hold one record; needs at "
                                                      "least ",
                                                      smallest, " bytes"));
  }
  if (absl::Status st = ValidateGzipLevel(p.gzip_impl, p.gzip_level); !st.ok()) {
    return l.Invalid("gzip-level", Sv(st.message()));
  }
  const uint64_t one_batch = p.limits.max_wire_bytes + kSpoolFileOverheadBytes;
  if (cfg->spool_max_bytes < one_batch) {
    return l.Invalid("spool-max-bytes",
                     absl::StrCat("smaller than one batch (MAX_PAYLOAD_SIZE + ",
                                  kSpoolFileOverheadBytes, " = ", one_batch, " bytes)"));
  }
  return absl::OkStatus();
}

absl::Status CheckReadable(const LoadedSettings& l, std::string_view flag,
                           const std::string& path) {
  if (path.empty() || access(path.c_str(), R_OK) == 0) return absl::OkStatus();
  return l.Invalid(flag, "cannot read it");
}

// TLS files exist and pair up; a private key others can read is a warning.
absl::Status ValidateTls(const LoadedSettings& l, Config* cfg) {
  const HttpConnectionOptions& c = cfg->pipeline.sender.connection;
  RETURN_IF_ERROR(CheckReadable(l, "ca-file", c.ca_file));
  RETURN_IF_ERROR(CheckReadable(l, "client-cert", c.client_cert));
  RETURN_IF_ERROR(CheckReadable(l, "client-key", c.client_key));
  if (c.client_cert.empty() != c.client_key.empty()) {
    return l.Invalid(c.client_cert.empty() ? "client-key" : "client-cert",
                     "--client-cert and --client-key go together");
  }
  if (!absl::StartsWith(cfg->api, "https://") &&
      (!c.ca_file.empty() || !c.client_cert.empty() || !c.tls_server_name.empty())) {
    cfg->warnings.emplace_back("TLS settings are ignored: the API URL is not https://");
  }
  struct stat st;
  if (!c.client_key.empty() && stat(c.client_key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    cfg->warnings.push_back(absl::StrCat("the client key ", c.client_key,
                                         " is readable by its group or others; chmod 600 it"));
  }
  return absl::OkStatus();
}

// Input reading and delivery: lines, backoff, spool.
absl::Status ValidateSending(const LoadedSettings& l, Config* cfg) {
  PipelineOptions& p = cfg->pipeline;
  if (p.source.max_line_bytes < p.source.chunk_bytes) {
    return l.Invalid(
        "max-line-bytes",
        absl::StrCat("must be at least --chunk-bytes / CHUNK_BYTES (", p.source.chunk_bytes, ")"));
  }
  if (p.sender.retry_max < p.sender.retry_initial) {
    return l.Invalid("retry-max", "must not be below --retry-initial");
  }
  if (p.sender.durable && cfg->spool_dir.empty()) {
    return l.Invalid("durable", "needs --spool-dir / SPOOL_DIR");
  }
  RETURN_IF_ERROR(ValidateTls(l, cfg));
  p.sender.ingest_url = cfg->api + "/v1/ingest";
  return absl::OkStatus();
}

// Load-test mode: --generate with --duration, --ramp and --report.
absl::Status ValidateLoadTest(const LoadedSettings& l, const Draft& d, Config* cfg,
                              std::vector<std::string>* inputs) {
  PipelineOptions& p = cfg->pipeline;
  if (d.generate_rate == 0) {
    if (!cfg->report_path.empty())
      return l.Invalid("report", "only for load-test mode (--generate)");
    if (!cfg->report_html_path.empty())
      return l.Invalid("report-html", "only for load-test mode (--generate)");
    if (cfg->ramp.steps != 0) return l.Invalid("ramp", "only for load-test mode (--generate)");
    cfg->ramp = RampOptions();
    return absl::OkStatus();
  }
  if (inputs->size() != 1 || (*inputs)[0] != "-") {
    return l.Invalid("generate", "reads no input: do not name input files");
  }
  if (p.replay_only) return l.Invalid("generate", "cannot be combined with --replay");
  if (cfg->ramp.steps > 0) {
    // Every step must send batches for its latency to be measured.
    if (d.duration < 2 * p.flush_interval) {
      return l.Invalid("duration",
                       "with --ramp each step must last at least twice --flush-interval");
    }
    if (d.generate_rate * cfg->ramp.steps > 1e9) {
      return l.Invalid("ramp", "the last step's rate would exceed 1e9/s");
    }
  }
  GeneratorSourceOptions g;
  g.rate = d.generate_rate;
  g.duration = d.duration;
  g.chunk_bytes = p.source.chunk_bytes;
  if (cfg->ramp.steps > 0) g.steps = cfg->ramp.steps;
  p.generator = g;
  inputs->clear();
  return absl::OkStatus();
}

// --follow and --checkpoint-file work on files: a position to wait at or
// resume from.
absl::Status ValidateFileInputsOnly(const LoadedSettings& l, const Config& cfg,
                                    const std::vector<std::string>& inputs) {
  const PipelineOptions& p = cfg.pipeline;
  for (const char* name : {"follow", "checkpoint-file"}) {
    const bool set = name[0] == 'f' ? p.source.follow : !cfg.checkpoint_path.empty();
    if (!set) continue;
    if (p.generator)
      return l.Invalid(name, "needs input files: cannot be combined with --generate");
    if (p.replay_only)
      return l.Invalid(name, "needs input files: cannot be combined with --replay");
    if (std::find(inputs.begin(), inputs.end(), "-") != inputs.end()) {
      return l.Invalid(name, "needs input files: stdin has no position to follow or resume from");
    }
  }
  return absl::OkStatus();
}

constexpr char kKafkaOptionSetting[] = "invalid setting --kafka-option / KAFKA_OPTIONS";

// Whether `rest` starts with "KEY=" (a librdkafka property name).
bool StartsKafkaKey(std::string_view rest) {
  const size_t eq = rest.find('=');
  if (eq == 0 || eq == std::string_view::npos) return false;
  return std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(eq), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// KEY=VALUE entries: one per --kafka-option ('\n' between them) and, within
// one text, split at each comma that starts another KEY= (a comma inside a
// value stays). Values never appear in a message: they may be secrets.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SplitKafkaOptions(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view piece : absl::StrSplit(Av(text), '\n', absl::SkipEmpty())) {
    const std::string_view line = Sv(piece);
    size_t start = 0;
    while (start < line.size()) {
      size_t end = start;
      do {
        end = line.find(',', end + 1);
      } while (end != std::string_view::npos && !StartsKafkaKey(line.substr(end + 1)));
      const std::string_view entry = line.substr(start, end - start);
      if (!StartsKafkaKey(entry)) {
        return absl::InvalidArgumentError(
            absl::StrCat(kKafkaOptionSetting, ": an entry is not KEY=VALUE"));
      }
      const size_t eq = entry.find('=');
      out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
      start = end == std::string_view::npos ? line.size() : end + 1;
    }
  }
  return out;
}

// A secret on the command line shows in ps: refused, like --key.
absl::Status RefuseSecretKafkaFlags(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view value;
    if (absl::StartsWith(args[i], "--kafka-option=")) {
      value = std::string_view(args[i]).substr(15);
    } else if (args[i] == "--kafka-option" && i + 1 < args.size()) {
      value = args[i + 1];
    } else {
      continue;
    }
    auto entries = SplitKafkaOptions(value);
    if (!entries.ok()) continue;  // reported by the setting itself
    for (const auto& [key, _] : *entries) {
      if (!IsSecretKafkaOption(key)) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid setting --kafka-option: ", key,
          " is a secret and would be visible in ps; give it in KAFKA_OPTIONS instead"));
    }
  }
  return absl::OkStatus();
}

// The settings that only mean something with --listen.
absl::Status RefuseUdpSettingsWithoutListen(const LoadedSettings& l) {
  for (const char* name : {"udp-sockets", "udp-rcvbuf", "templates-file"}) {
    if (l.Given(name)) return l.Invalid(name, "only applies with --listen / LISTEN");
  }
  return absl::OkStatus();
}

// Kafka is an input of its own: no files, generator, replay or file-only
// settings with it.
absl::Status RefuseWithKafka(const LoadedSettings& l, const Draft& d,
                             const std::vector<std::string>& inputs) {
  const Config& cfg = d.cfg;
  if (!inputs.empty()) {
    return l.Invalid("kafka-brokers", "reads no files: do not name input files");
  }
  const std::pair<const char*, bool> exclusive[] = {
      {"generate", d.generate_rate > 0},
      {"replay", !cfg.replay_dir.empty()},
      {"follow", cfg.pipeline.source.follow},
      {"checkpoint-file", !cfg.checkpoint_path.empty()}};
  for (const auto& [name, set] : exclusive) {
    if (set) {
      return l.Invalid("kafka-brokers",
                       absl::StrCat("cannot be combined with --", name, " (Kafka is the input)"));
    }
  }
  return absl::OkStatus();
}

// A templates file is rewritten beside itself: its directory must take new files.
absl::Status CheckTemplatesFile(const LoadedSettings& l, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return l.Invalid("templates-file", absl::StrCat("cannot write files in ", dir));
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return l.Invalid("templates-file", "not a regular file");
  }
  return absl::OkStatus();
}

// --kafka-brokers: the Kafka input, its options checked by librdkafka now.
absl::Status ValidateKafka(const LoadedSettings& l, Draft* d,
                           const std::vector<std::string>& inputs) {
  KafkaSourceOptions& k = d->kafka;
  if (k.brokers.empty()) {
    for (const char* name : {"kafka-topic", "kafka-group", "kafka-format", "kafka-start",
                             "kafka-revoke-timeout", "kafka-max-uncommitted"}) {
      if (l.Given(name)) return l.Invalid(name, "needs --kafka-brokers / KAFKA_BROKERS");
    }
    if (l.Given("kafka-option")) {
      return absl::InvalidArgumentError(
          absl::StrCat(kKafkaOptionSetting, ": needs --kafka-brokers / KAFKA_BROKERS"));
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(RefuseWithKafka(l, *d, inputs));
  ASSIGN_OR_RETURN(k.options, SplitKafkaOptions(d->kafka_options));
  k.chunk_bytes = d->cfg.pipeline.source.chunk_bytes;
  RETURN_IF_ERROR(CheckKafkaOptions(k));
  d->cfg.pipeline.kafka = k;
  return absl::OkStatus();
}

// --listen: UDP instead of every other input.
absl::Status ValidateListen(const LoadedSettings& l, const Draft& d, Config* cfg) {
  UdpSourceOptions& udp = cfg->udp;
  if (udp.listen.empty()) return RefuseUdpSettingsWithoutListen(l);
  const PipelineOptions& p = cfg->pipeline;
  const std::pair<bool, const char*> excluded[] = {
      {!l.positional.empty(), "reads no input files: do not name inputs"},
      {d.generate_rate > 0, "cannot be combined with --generate"},
      {p.source.follow, "cannot be combined with --follow"},
      {!cfg->checkpoint_path.empty(), "cannot be combined with --checkpoint-file"},
      {!cfg->replay_dir.empty(), "cannot be combined with --replay"},
      {p.kafka.has_value(), "cannot be combined with --kafka-brokers"}};
  for (const auto& [set, why] : excluded) {
    if (set) return l.Invalid("listen", why);
  }
  udp.sockets_per_address = d.udp_sockets > 0 ? d.udp_sockets : p.parser_threads;
  udp.chunk_bytes = p.source.chunk_bytes;
  return CheckTemplatesFile(l, cfg->templates_path);
}

// Which input: files, the replay store, the generator, Kafka or UDP.
absl::Status ValidateInputs(const LoadedSettings& l, const Draft& d, Config* cfg,
                            std::vector<std::string> inputs) {
  PipelineOptions& p = cfg->pipeline;
  RETURN_IF_ERROR(ValidateListen(l, d, cfg));
  if (p.kafka) return absl::OkStatus();
  if (!cfg->udp.listen.empty()) {
    p.source.inputs.clear();
    return absl::OkStatus();
  }
  if (inputs.empty()) inputs.emplace_back("-");
  if (!cfg->replay_dir.empty()) {
    if (inputs.size() != 1 || inputs[0] != "-") {
      return l.Invalid("replay", "reads no input: do not name input files");
    }
    inputs.clear();
    p.replay_only = true;
    p.sender.replay_only = true;
  }
  RETURN_IF_ERROR(ValidateLoadTest(l, d, cfg, &inputs));
  RETURN_IF_ERROR(ValidateFileInputsOnly(l, *cfg, inputs));
  p.source.inputs = std::move(inputs);
  return absl::OkStatus();
}

// The rules that span settings, once every setting has parsed.
absl::Status Validate(const LoadedSettings& l, const GetEnvFn& getenv, Draft* d) {
  Config& cfg = d->cfg;
  ASSIGN_OR_RETURN(cfg.pipeline.sender.key, ReadKey(d->key_file, getenv));
  if (cfg.pipeline.sender.adaptive_in_flight) {
    cfg.pipeline.sender.max_in_flight = d->max_in_flight_limit;
  }
  if (d->retry_after_max > absl::ZeroDuration()) {
    cfg.pipeline.sender.retry_after_max = d->retry_after_max;
  }
  RETURN_IF_ERROR(ValidateBatching(l, &cfg));
  RETURN_IF_ERROR(ValidateSending(l, &cfg));
  RETURN_IF_ERROR(ValidateKafka(l, d, l.positional));
  return ValidateInputs(l, *d, &cfg, l.positional);
}

absl::Status RefuseKeyFlag(std::string_view name) {
  if (name != "key") return absl::OkStatus();
  return absl::InvalidArgumentError(
      "unknown flag --key: the key is read from the KEY variable or --key-file, never from "
      "the command line (it would be visible in ps)");
}

}  // namespace

std::string UrlWithoutUserinfo(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  const size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return absl::StrCat(Av(url.substr(0, start)), Av(url.substr(start + at + 1)));
}

std::string HelpText() {
  Draft unused;
  return SettingsHelp(
      Table(&unused),
      "nf2ingest: goflow2 JSON lines, goflow2 on Kafka, or NetFlow/IPFIX -> flows.v1 -> batched "
      "POST "
      "{API}/v1/ingest\n\n"
      "usage: nf2ingest [flags] [INPUT...]\n"
      "       nf2ingest [flags] --kafka-brokers HOST:PORT[,...]\n"
      "       nf2ingest [flags] --listen netflow://HOST:PORT [--listen ...]\n"
      "  INPUT  files or FIFOs to read in turn (with --follow: side by side); '-' or none means "
      "stdin\n\n"
      "Every flag can also be set by its environment variable; flags win.\n"
      "Numbers are decimal (no 0x...). The key comes from KEY or --key-file only, never from a\n"
      "flag (it would show in ps).\n\n",
      "\nExit codes: 0 every mappable record delivered; 1 an input could not be read; "
      "2 bad configuration;\n3 records rejected, spooled or undelivered; "
      "4 the API refused the key;\n5 TLS failed at start (certificate untrusted, expired, wrong "
      "name "
      "or refused; https:// to a plain port).\n");
}

absl::StatusOr<Config> LoadConfig(const std::vector<std::string>& args, const GetEnvFn& getenv) {
  Draft d;
  const SettingsTable table = Table(&d);
  SettingsLoadOptions options;
  options.allow_positional = true;
  options.check_unknown = RefuseKeyFlag;
  RETURN_IF_ERROR(RefuseSecretKafkaFlags(args));
  ASSIGN_OR_RETURN(const LoadedSettings loaded, LoadSettings(table, args, getenv, options));
  if (loaded.help) {
    Config help;
    help.help = true;
    return help;
  }
  RETURN_IF_ERROR(Validate(loaded, getenv, &d));
  return std::move(d.cfg);
}

}  // namespace nf2
