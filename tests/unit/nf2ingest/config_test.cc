// nf2ingest configuration (docs/contract.md §4): defaults, environment, flags,
// validation, and that the key never leaks into a message.
#include "tools/nf2ingest/config.h"

#include <sched.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"
#include "tools/nf2ingest/cpu_budget.h"

namespace nf2 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Env = std::map<std::string, std::string>;

// A getenv over a map (the map must outlive the call).
GetEnvFn FakeGetenv(const Env& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

absl::StatusOr<Config> Load(const Env& env, const std::vector<std::string>& args = {}) {
  return LoadConfig(args, FakeGetenv(env));
}

std::string ErrorOf(const Env& env, const std::vector<std::string>& args = {}) {
  auto cfg = Load(env, args);
  EXPECT_FALSE(cfg.ok()) << "expected an error";
  if (cfg.ok()) return "";
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cfg.status().message());
}

std::string TempFile(const std::string& name, const std::string& content) {
  std::string path = nf2::testing::TempDir() + "/config_test_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path;
}

// The largest flows.v1 record docs/contract.md §2 allows (every field at its
// widest), written out by hand.
std::string WidestRecord() {
  const std::string ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";  // 45 chars
  return "{\"ts\":18446744073,\"src_ip\":\"" + ip + "\",\"dst_ip\":\"" + ip +
         "\",\"src_port\":65535,\"dst_port\":65535,\"proto\":255,"
         "\"bytes\":18446744073709551615,\"packets\":18446744073709551615,"
         "\"ingress_if\":4294967295,\"egress_if\":4294967295}";
}

size_t SmallestPayload(const std::string& escaped_collector_id) {
  const std::string envelope = std::string("{\"records\":[") + "],\"collector_id\":\"" +
                               escaped_collector_id + "\",\"format\":\"flows.v1\"}";
  return envelope.size() + WidestRecord().size();
}

TEST(ConfigTest, DefaultsMatchContract) {
  const Env env;
  auto cfg = Load(env);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->api, "http://telemetry-api:8080");
  EXPECT_EQ(cfg->pipeline.sender.ingest_url, "http://telemetry-api:8080/v1/ingest");
  EXPECT_EQ(cfg->pipeline.sender.key, "TEST_KEY");
  EXPECT_EQ(cfg->pipeline.collector_id, "gw-local");
  EXPECT_EQ(cfg->pipeline.batch_size, 200u);
  EXPECT_EQ(cfg->pipeline.flush_interval, absl::Seconds(1));
  EXPECT_EQ(cfg->pipeline.limits.max_records, 10000u);
  EXPECT_EQ(cfg->pipeline.limits.max_wire_bytes, 5242880u);
  EXPECT_EQ(cfg->pipeline.limits.gzip_threshold, 51200u);
  EXPECT_EQ(cfg->log_level, LogLevel::kInfo);
  EXPECT_FALSE(cfg->help);
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(ConfigTest, EnvironmentOverridesDefaults) {
  const Env env = {{"API", "https://api.example.com:8443"},
                   {"KEY", "env-key"},
                   {"COLLECTOR_ID", "gw-7"},
                   {"BATCH_SIZE", "300"},
                   {"FLUSH_INTERVAL", "3"},
                   {"MAX_RECORDS_PER_BATCH", "5000"},
                   {"MAX_PAYLOAD_SIZE", "1000000"},
                   {"GZIP_THRESHOLD", "1024"},
                   {"LOG_LEVEL", "DEBUG"}};
  auto cfg = Load(env);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->api, "https://api.example.com:8443");
  EXPECT_EQ(cfg->pipeline.sender.ingest_url, "https://api.example.com:8443/v1/ingest");
  EXPECT_EQ(cfg->pipeline.sender.key, "env-key");
  EXPECT_EQ(cfg->pipeline.collector_id, "gw-7");
  EXPECT_EQ(cfg->pipeline.batch_size, 300u);
  EXPECT_EQ(cfg->pipeline.flush_interval, absl::Seconds(3));
  EXPECT_EQ(cfg->pipeline.limits.max_records, 5000u);
  EXPECT_EQ(cfg->pipeline.limits.max_wire_bytes, 1000000u);
  EXPECT_EQ(cfg->pipeline.limits.gzip_threshold, 1024u);
  EXPECT_EQ(cfg->log_level, LogLevel::kDebug);
}

TEST(ConfigTest, FlagsOverrideEnvironmentInBothForms) {
  const Env env = {{"API", "http://env-host:1"},
                   {"COLLECTOR_ID", "env-id"},
                   {"BATCH_SIZE", "300"},
                   {"FLUSH_INTERVAL", "3"},
                   {"MAX_RECORDS_PER_BATCH", "5000"},
                   {"MAX_PAYLOAD_SIZE", "1000000"},
                   {"GZIP_THRESHOLD", "1024"},
                   {"LOG_LEVEL", "DEBUG"}};
  const std::vector<std::pair<std::string, std::string>> flags = {{"api", "http://flag-host:2"},
                                                                  {"collector-id", "flag-id"},
                                                                  {"batch-size", "400"},
                                                                  {"flush-interval", "5"},
                                                                  {"max-records-per-batch", "6000"},
                                                                  {"max-payload-size", "2000000"},
                                                                  {"gzip-threshold", "2048"},
                                                                  {"log-level", "ERROR"}};
  for (bool equals_form : {true, false}) {
    SCOPED_TRACE(equals_form ? "--x=v" : "--x v");
    std::vector<std::string> args;
    for (const auto& [flag, value] : flags) {
      if (equals_form) {
        args.push_back(std::string("--").append(flag).append("=").append(value));
      } else {
        args.push_back("--" + flag);
        args.push_back(value);
      }
    }
    auto cfg = Load(env, args);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->api, "http://flag-host:2");
    EXPECT_EQ(cfg->pipeline.sender.ingest_url, "http://flag-host:2/v1/ingest");
    EXPECT_EQ(cfg->pipeline.collector_id, "flag-id");
    EXPECT_EQ(cfg->pipeline.batch_size, 400u);
    EXPECT_EQ(cfg->pipeline.flush_interval, absl::Seconds(5));
    EXPECT_EQ(cfg->pipeline.limits.max_records, 6000u);
    EXPECT_EQ(cfg->pipeline.limits.max_wire_bytes, 2000000u);
    EXPECT_EQ(cfg->pipeline.limits.gzip_threshold, 2048u);
    EXPECT_EQ(cfg->log_level, LogLevel::kError);
  }
}

// BATCH_SIZE as loaded, or 0 when loading fails.
size_t BatchSizeOf(const Env& env, const std::vector<std::string>& args = {}) {
  auto cfg = Load(env, args);
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  return cfg.ok() ? cfg->pipeline.batch_size : 0;
}

TEST(ConfigTest, FlagBeatsEnvBeatsDefaultPerSetting) {
  Env env;
  EXPECT_EQ(BatchSizeOf(env), 200u);
  env["BATCH_SIZE"] = "250";
  EXPECT_EQ(BatchSizeOf(env), 250u);
  EXPECT_EQ(BatchSizeOf(env, {"--batch-size=260"}), 260u);
  EXPECT_EQ(BatchSizeOf(env, {"--batch-size", "270"}), 270u);
  // The last occurrence of a flag wins.
  EXPECT_EQ(BatchSizeOf(env, {"--batch-size=1", "--batch-size=2"}), 2u);
}

TEST(ConfigTest, ApiTrailingSlashIsNotDoubled) {
  const Env env = {{"API", "http://h:8080/"}};
  auto cfg = Load(env);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.sender.ingest_url, "http://h:8080/v1/ingest");
}

TEST(ConfigTest, LogLevels) {
  const std::vector<std::pair<std::string, LogLevel>> levels = {{"DEBUG", LogLevel::kDebug},
                                                                {"INFO", LogLevel::kInfo},
                                                                {"WARN", LogLevel::kWarn},
                                                                {"ERROR", LogLevel::kError}};
  for (const auto& [name, level] : levels) {
    const Env env = {{"LOG_LEVEL", name}};
    auto cfg = Load(env);
    ASSERT_TRUE(cfg.ok()) << name << ": " << cfg.status();
    EXPECT_EQ(cfg->log_level, level) << name;
  }
}

TEST(ConfigTest, BatchSizeAboveMaxRecordsIsClampedWithWarning) {
  {
    const Env env = {{"BATCH_SIZE", "20000"}};
    auto cfg = Load(env);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->pipeline.batch_size, 10000u);
    ASSERT_FALSE(cfg->warnings.empty());
    EXPECT_THAT(cfg->warnings[0], HasSubstr("BATCH_SIZE"));
  }
  {
    const Env env = {{"MAX_RECORDS_PER_BATCH", "50"}};  // default BATCH_SIZE 200
    auto cfg = Load(env);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->pipeline.batch_size, 50u);
    EXPECT_EQ(cfg->pipeline.limits.max_records, 50u);
    EXPECT_FALSE(cfg->warnings.empty());
  }
  {
    const Env env = {{"BATCH_SIZE", "10000"}};  // equal: no clamp, no warning
    auto cfg = Load(env);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->pipeline.batch_size, 10000u);
    EXPECT_TRUE(cfg->warnings.empty());
  }
}

struct BadCase {
  std::string label;
  Env env;
  std::vector<std::string> args;
  std::vector<std::string> must_mention;
};

std::vector<BadCase> BadCases() {
  std::vector<BadCase> cases;
  for (const auto& [var, flag] : std::vector<std::pair<std::string, std::string>>{
           {"BATCH_SIZE", "--batch-size"},
           {"MAX_RECORDS_PER_BATCH", "--max-records-per-batch"},
           {"MAX_PAYLOAD_SIZE", "--max-payload-size"}}) {
    for (const char* value : {"abc", "0", "-5", "", "12x", "1e3"}) {
      cases.push_back({var + "=" + value, {{var, value}}, {}, {var, flag}});
    }
    cases.push_back({flag + "=0", {}, {flag + "=0"}, {var, flag}});
    cases.push_back({flag + " -1", {}, {flag, "-1"}, {var, flag}});
  }
  cases.push_back({"MAX_PAYLOAD_SIZE=100",
                   {{"MAX_PAYLOAD_SIZE", "100"}},
                   {},
                   {"MAX_PAYLOAD_SIZE", "--max-payload-size"}});
  for (const char* api : {"ftp://x", "not-a-url", "", "http://", "https://", "http:///path",
                          "telemetry-api:8080", "http://host name"}) {
    cases.push_back({std::string("API=") + api, {{"API", api}}, {}, {"API", "--api"}});
  }
  cases.push_back({"--api=ftp://x", {}, {"--api=ftp://x"}, {"API", "--api"}});
  for (const char* level : {"LOUD", "", "TRACE", "5"}) {
    cases.push_back({std::string("LOG_LEVEL=") + level,
                     {{"LOG_LEVEL", level}},
                     {},
                     {"LOG_LEVEL", "--log-level"}});
  }
  for (const char* interval : {"0", "-1", "abc", ""}) {
    cases.push_back({std::string("FLUSH_INTERVAL=") + interval,
                     {{"FLUSH_INTERVAL", interval}},
                     {},
                     {"FLUSH_INTERVAL", "--flush-interval"}});
  }
  for (const char* threshold : {"abc", "-1"}) {
    cases.push_back({std::string("GZIP_THRESHOLD=") + threshold,
                     {{"GZIP_THRESHOLD", threshold}},
                     {},
                     {"GZIP_THRESHOLD", "--gzip-threshold"}});
  }
  cases.push_back(
      {"COLLECTOR_ID empty", {{"COLLECTOR_ID", ""}}, {}, {"COLLECTOR_ID", "--collector-id"}});
  cases.push_back({"--bogus", {}, {"--bogus"}, {"--bogus"}});
  cases.push_back({"--bogus=1", {}, {"--bogus=1"}, {"--bogus"}});
  cases.push_back({"flag without value", {}, {"--batch-size"}, {"--batch-size"}});
  return cases;
}

TEST(ConfigTest, BadValuesFailNamingTheSetting) {
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(c.label);
    const std::string msg = ErrorOf(c.env, c.args);
    for (const std::string& name : c.must_mention) EXPECT_THAT(msg, HasSubstr(name));
  }
}

TEST(ConfigTest, SmallestPayloadHoldsOneWidestRecord) {
  // MAX_PAYLOAD_SIZE must let one record of the widest shape, in its
  // envelope, through; one byte less cannot.
  const size_t smallest = SmallestPayload("gw-local");
  {
    const Env env = {{"MAX_PAYLOAD_SIZE", std::to_string(smallest)}};
    auto cfg = Load(env);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->pipeline.limits.max_wire_bytes, smallest);
  }
  {
    const Env env = {{"MAX_PAYLOAD_SIZE", std::to_string(smallest - 1)}};
    EXPECT_THAT(ErrorOf(env), HasSubstr("MAX_PAYLOAD_SIZE"));
  }
  {
    // A longer collector id makes the envelope longer.
    const Env env = {{"MAX_PAYLOAD_SIZE", std::to_string(smallest)},
                     {"COLLECTOR_ID", "gw-local-but-longer"}};
    EXPECT_THAT(ErrorOf(env), HasSubstr("MAX_PAYLOAD_SIZE"));
  }
}

TEST(ConfigTest, KeyFlagIsRefused) {
  const Env env;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--key", "s3cr3t-value"},
                                               std::vector<std::string>{"--key=s3cr3t-value"}}) {
    const std::string msg = ErrorOf(env, args);
    EXPECT_THAT(msg, HasSubstr("KEY"));
    EXPECT_THAT(msg, HasSubstr("--key-file"));
    EXPECT_THAT(msg, Not(HasSubstr("s3cr3t")));
  }
}

TEST(ConfigTest, KeyNeverAppearsInErrors) {
  const std::string key = "K3y-Sekrit-Value";
  for (BadCase c : BadCases()) {
    SCOPED_TRACE(c.label);
    c.env["KEY"] = key;
    EXPECT_THAT(ErrorOf(c.env, c.args), Not(HasSubstr("Sekrit")));
  }
  // A key the config refuses (a control character) is not echoed either.
  for (const std::string& bad_key : {std::string("K3y\x01Sekrit"), std::string("K3y\nSekrit"),
                                     std::string("K3y\x7fSekrit"), std::string("K3y\rSekrit")}) {
    const Env env = {{"KEY", bad_key}};
    const std::string msg = ErrorOf(env);
    EXPECT_THAT(msg, HasSubstr("KEY"));
    EXPECT_THAT(msg, Not(HasSubstr("K3y")));
    EXPECT_THAT(msg, Not(HasSubstr("Sekrit")));
  }
  // Nor from a key file.
  const std::string path = TempFile("bad_key", "K3y\x02Sekrit\n");
  const Env env;
  const std::string msg = ErrorOf(env, {"--key-file", path});
  EXPECT_THAT(msg, Not(HasSubstr("Sekrit")));
}

TEST(ConfigTest, MistypedKeyFlagDoesNotEchoTheKey) {
  // An operator who passes the key to a flag that does not exist (the
  // variable's name, another spelling) gets an error that does not repeat it:
  // error messages end up in logs.
  const std::string key = "K3y-Sekrit-Value";
  for (const char* flag : {"--KEY=", "--Key=", "--api-key=", "--token=", "--bearer="}) {
    const std::string msg = ErrorOf(Env{}, {flag + key});
    EXPECT_THAT(msg, HasSubstr(std::string(flag).substr(0, std::string(flag).size() - 1)));
    EXPECT_THAT(msg, Not(HasSubstr("Sekrit"))) << flag;
  }
}

TEST(ConfigTest, KeyFileReadsTheFirstLine) {
  const std::string path = TempFile("key", "file-key-123\nsecond-line\n");
  const Env env = {{"KEY", "env-key"}};  // the flag wins over the variable
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--key-file", path},
                                               std::vector<std::string>{"--key-file=" + path}}) {
    auto cfg = Load(env, args);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->pipeline.sender.key, "file-key-123");
  }
  // Without a final newline.
  const std::string bare = TempFile("key_bare", "bare-key");
  auto cfg = Load(Env{}, {"--key-file", bare});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.sender.key, "bare-key");
}

TEST(ConfigTest, KeyFileProblemsFail) {
  const Env env;
  const std::string missing = nf2::testing::TempDir() + "/config_test_no_such_key_file";
  std::remove(missing.c_str());
  EXPECT_THAT(ErrorOf(env, {"--key-file", missing}), HasSubstr("--key-file"));
  const std::string empty = TempFile("empty_key", "");
  EXPECT_THAT(ErrorOf(env, {"--key-file", empty}), HasSubstr("--key-file"));
}

TEST(ConfigTest, EmptyKeyFails) {
  const Env env = {{"KEY", ""}};
  EXPECT_THAT(ErrorOf(env), HasSubstr("KEY"));
}

TEST(ConfigTest, HelpFlag) {
  const Env env;
  for (const char* flag : {"--help", "-h"}) {
    auto cfg = Load(env, {flag});
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_TRUE(cfg->help) << flag;
  }
  const std::string help = HelpText();
  for (const char* var :
       {"API", "KEY", "COLLECTOR_ID", "BATCH_SIZE", "FLUSH_INTERVAL", "MAX_RECORDS_PER_BATCH",
        "MAX_PAYLOAD_SIZE", "GZIP_THRESHOLD", "LOG_LEVEL"}) {
    EXPECT_THAT(help, HasSubstr(var));
  }
  for (const char* flag : {"--api", "--key-file", "--collector-id", "--batch-size",
                           "--flush-interval", "--max-records-per-batch", "--max-payload-size",
                           "--gzip-threshold", "--log-level", "--help"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
  for (const char* def :
       {"http://telemetry-api:8080", "gw-local", "5242880", "51200", "10000", "INFO"}) {
    EXPECT_THAT(help, HasSubstr(def));
  }
}

TEST(ConfigTest, GzipImplementationAndLevel) {
  auto cfg = Load({});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.gzip_impl, GzipImpl::kIsal);
  EXPECT_EQ(cfg->pipeline.gzip_level, 1);
  // Each implementation has its own range.
  cfg = Load({{"GZIP_LEVEL", "0"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.gzip_level, 0);
  cfg = Load({{"GZIP_IMPL", "libdeflate"}, {"GZIP_LEVEL", "12"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.gzip_impl, GzipImpl::kLibdeflate);
  EXPECT_THAT(ErrorOf({{"GZIP_LEVEL", "4"}}), HasSubstr("--gzip-level"));
  EXPECT_THAT(ErrorOf({{"GZIP_IMPL", "libdeflate"}, {"GZIP_LEVEL", "0"}}), HasSubstr("GZIP_LEVEL"));
  EXPECT_THAT(ErrorOf({{"GZIP_LEVEL", "4294967297"}}), HasSubstr("--gzip-level"));
  EXPECT_THAT(ErrorOf({{"GZIP_IMPL", "brotli"}}), HasSubstr("--gzip-impl"));
}

TEST(ConfigTest, RampSettings) {
  auto cfg = Load({{"GENERATE", "1000"},
                   {"DURATION", "3"},
                   {"RAMP", "4"},
                   {"RAMP_MAX_P99_MS", "250"},
                   {"RAMP_MAX_ERROR_RATIO", "0.05"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->ramp.steps, 4);
  ASSERT_TRUE(cfg->pipeline.generator.has_value());
  EXPECT_EQ(cfg->pipeline.generator->steps, 4);
  EXPECT_DOUBLE_EQ(cfg->ramp.max_p99_ms, 250);
  EXPECT_DOUBLE_EQ(cfg->ramp.max_error_ratio, 0.05);
  // Off by default.
  cfg = Load({{"GENERATE", "1000"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->ramp.steps, 0);
  EXPECT_EQ(cfg->pipeline.generator->steps, 1);

  EXPECT_THAT(ErrorOf({{"RAMP", "3"}}), HasSubstr("--ramp"));  // needs --generate
  EXPECT_THAT(ErrorOf({{"GENERATE", "1000"}, {"RAMP", "-1"}}), HasSubstr("RAMP"));
  EXPECT_THAT(ErrorOf({{"GENERATE", "1000"}, {"RAMP", "1001"}}), HasSubstr("RAMP"));
  // Each step must be long enough for batches to be sent in it.
  EXPECT_THAT(ErrorOf({{"GENERATE", "1000"}, {"DURATION", "1"}, {"RAMP", "3"}}),
              HasSubstr("--duration"));
  EXPECT_THAT(ErrorOf({{"GENERATE", "1000"}, {"RAMP", "3"}, {"RAMP_MAX_P99_MS", "0"}}),
              HasSubstr("RAMP_MAX_P99_MS"));
  EXPECT_THAT(ErrorOf({{"GENERATE", "1000"}, {"RAMP", "3"}, {"RAMP_MAX_ERROR_RATIO", "1.5"}}),
              HasSubstr("RAMP_MAX_ERROR_RATIO"));
  EXPECT_THAT(ErrorOf({{"GENERATE", "1e9"}, {"RAMP", "2"}}), HasSubstr("RAMP"));
}

TEST(ConfigTest, ApiUrlsLibcurlCannotUseFail) {
  for (const char* api : {"http://h:99999", "http://h:abc", "http://[::1", "http://[::1:8080",
                          "http://h:0", "https://h:65536/x"}) {
    SCOPED_TRACE(api);
    const std::string msg = ErrorOf({{"API", api}});
    EXPECT_THAT(msg, HasSubstr("API"));
    EXPECT_THAT(msg, HasSubstr("--api"));
  }
  for (const char* api :
       {"http://h:1", "https://h:65535", "http://[::1]:8080", "http://10.0.0.1"}) {
    auto cfg = Load({{"API", api}});
    EXPECT_TRUE(cfg.ok()) << api << ": " << cfg.status();
  }
}

TEST(ConfigTest, ApiWithUserinfoFailsWithoutEchoingIt) {
  for (const char* api :
       {"http://alice:Pa55w0rd@host:8080", "https://alice:Pa55w0rd@host/", "http://alice@host",
        "alice:Pa55w0rd@host:8080", "http://alice:Pa55w0rd@[::1"}) {
    SCOPED_TRACE(api);
    const std::string msg = ErrorOf({{"API", api}});
    EXPECT_THAT(msg, HasSubstr("API"));
    EXPECT_THAT(msg, Not(HasSubstr("Pa55w0rd")));
    EXPECT_THAT(msg, Not(HasSubstr("alice")));
  }
}

TEST(ConfigTest, UrlWithoutUserinfo) {
  EXPECT_EQ(UrlWithoutUserinfo("http://u:p@h:1/x@y"), "http://h:1/x@y");
  EXPECT_EQ(UrlWithoutUserinfo("http://h:1/x@y"), "http://h:1/x@y");
  EXPECT_EQ(UrlWithoutUserinfo("u:p@h"), "h");
  EXPECT_EQ(UrlWithoutUserinfo("https://a@b@h"), "https://h");
}

TEST(ConfigTest, CollectorIdMustBeUtf8) {
  for (const std::string& id : {std::string("gw-\xff"), std::string("gw-\xc3"),
                                std::string("gw-\xed\xa0\x80"), std::string("gw-\xc0\xaf")}) {
    const std::string msg = ErrorOf({{"COLLECTOR_ID", id}});
    EXPECT_THAT(msg, HasSubstr("COLLECTOR_ID"));
    EXPECT_THAT(msg, HasSubstr("--collector-id"));
  }
  auto cfg = Load({{"COLLECTOR_ID", "gw-\xc3\xa9t\xc3\xa9-\xf0\x9f\x98\x80"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
}

TEST(ConfigTest, TimeoutsBelowOneMillisecondFail) {
  for (const char* var : {"TIMEOUT", "CONNECT_TIMEOUT"}) {
    EXPECT_THAT(ErrorOf({{var, "0.0005"}}), HasSubstr(var));
    EXPECT_THAT(ErrorOf({{var, "1e-9"}}), HasSubstr(var));
    EXPECT_TRUE(Load({{var, "0.001"}}).ok()) << var;
  }
  auto cfg = Load({{"TIMEOUT", "0.001"}});
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->pipeline.sender.timeout, absl::Milliseconds(1));
}

TEST(ConfigTest, StatsIntervalIsOffOrAtLeastATenthOfASecond) {
  EXPECT_THAT(ErrorOf({{"STATS_INTERVAL", "1e-9"}}), HasSubstr("STATS_INTERVAL"));
  EXPECT_THAT(ErrorOf({{"STATS_INTERVAL", "0.09"}}), HasSubstr("--stats-interval"));
  auto off = Load({{"STATS_INTERVAL", "0"}});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->stats_interval, absl::ZeroDuration());
  auto tenth = Load({{"STATS_INTERVAL", "0.1"}});
  ASSERT_TRUE(tenth.ok()) << tenth.status();
  EXPECT_EQ(tenth->stats_interval, absl::Milliseconds(100));
}

TEST(ConfigTest, SpoolMustHoldOneBatch) {
  // One batch: MAX_PAYLOAD_SIZE plus the spool file's magic line (18),
  // fixed header (36) and CRC (4).
  const Env fits = {{"MAX_PAYLOAD_SIZE", "100000"}, {"SPOOL_MAX_BYTES", "100058"}};
  auto cfg = Load(fits);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->spool_max_bytes, 100058u);
  const Env too_small = {{"MAX_PAYLOAD_SIZE", "100000"}, {"SPOOL_MAX_BYTES", "100057"}};
  EXPECT_THAT(ErrorOf(too_small), HasSubstr("SPOOL_MAX_BYTES"));
  EXPECT_THAT(ErrorOf({{"SPOOL_MAX_BYTES", "1000"}}), HasSubstr("--spool-max-bytes"));
}

TEST(ConfigTest, MaxLineBytesBelowChunkBytesFails) {
  const std::string msg = ErrorOf({{"MAX_LINE_BYTES", "4096"}});  // CHUNK_BYTES 1 MiB
  EXPECT_THAT(msg, HasSubstr("MAX_LINE_BYTES"));
  EXPECT_THAT(msg, HasSubstr("CHUNK_BYTES"));
  auto cfg = Load({{"MAX_LINE_BYTES", "4096"}, {"CHUNK_BYTES", "4096"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.source.max_line_bytes, 4096u);
}

TEST(ConfigTest, LargeKeyFileIsRefusedWithoutReadingItAll) {
  // /dev/zero never ends: only a bounded read can refuse it.
  EXPECT_THAT(ErrorOf({{"KEY_FILE", "/dev/zero"}}), HasSubstr("KEY_FILE"));
  const std::string big = TempFile("big_key", "key\n" + std::string(20000, 'x'));
  const std::string msg = ErrorOf({}, {"--key-file", big});
  EXPECT_THAT(msg, HasSubstr("--key-file"));
  EXPECT_THAT(msg, Not(HasSubstr("xxxx")));
  // Up to 16 KiB is fine (a key followed by comments, say).
  const std::string ok = TempFile("ok_key", "key\n" + std::string(16000, 'x'));
  auto cfg = Load({}, {"--key-file", ok});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.sender.key, "key");
}

TEST(ConfigTest, SecondsAreDecimalOnly) {
  for (const char* var : {"FLUSH_INTERVAL", "TIMEOUT", "RETRY_MAX", "DRAIN_TIMEOUT"}) {
    for (const char* value : {"0x10", "0X1p3", "inf", "nan", "1s"}) {
      SCOPED_TRACE(std::string(var) + "=" + value);
      EXPECT_THAT(ErrorOf({{var, value}}), HasSubstr(var));
    }
  }
  auto cfg = Load({{"FLUSH_INTERVAL", "2.5"}, {"RETRY_MAX", "1e2"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.flush_interval, absl::Milliseconds(2500));
  EXPECT_EQ(cfg->pipeline.sender.retry_max, absl::Seconds(100));
}

TEST(CpuBudgetTest, ReadsCgroupV2Quota) {
  EXPECT_EQ(CpusFromCgroupV2("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV2("200000 100000\n"), 2u);
  EXPECT_EQ(CpusFromCgroupV2("150000 100000"), 2u);  // 1.5 CPUs: two threads can use them
  EXPECT_EQ(CpusFromCgroupV2("10000 100000"), 1u);
  EXPECT_EQ(CpusFromCgroupV2("garbage"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV2(""), std::nullopt);
}

TEST(CpuBudgetTest, ReadsCgroupV1Quota) {
  EXPECT_EQ(CpusFromCgroupV1("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV1("300000\n", "100000\n"), 3u);
  EXPECT_EQ(CpusFromCgroupV1("50000", "0"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV1("x", "100000"), std::nullopt);
}

unsigned AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return static_cast<unsigned>(CPU_COUNT(&set));
}

TEST(CpuBudgetTest, TheQuotaUnderTheCgroupRootCapsTheAffinityCount) {
  const std::string root = nf2::testing::TempDir() + "/config_test_cgroup";
  ::mkdir(root.c_str(), 0700);
  // No cgroup files at all: the affinity mask decides.
  EXPECT_EQ(CpuBudget(root), AffinityCpus());
  { std::ofstream(root + "/cpu.max") << "100000 100000\n"; }
  EXPECT_EQ(CpuBudget(root), 1u);
  { std::ofstream(root + "/cpu.max") << "max 100000\n"; }
  EXPECT_EQ(CpuBudget(root), AffinityCpus());
  // A quota above the affinity count does not raise it.
  { std::ofstream(root + "/cpu.max") << "6400000 100000\n"; }
  EXPECT_EQ(CpuBudget(root), AffinityCpus());
}

TEST(ConfigTest, MaxInFlightAutoIsBoundedByTheLimit) {
  auto cfg = Load({{"MAX_IN_FLIGHT", "auto"}, {"MAX_IN_FLIGHT_LIMIT", "32"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->pipeline.sender.adaptive_in_flight);
  EXPECT_EQ(cfg->pipeline.sender.max_in_flight, 32);
  auto fixed = Load({{"MAX_IN_FLIGHT", "7"}});
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_FALSE(fixed->pipeline.sender.adaptive_in_flight);
  EXPECT_EQ(fixed->pipeline.sender.max_in_flight, 7);
  EXPECT_THAT(ErrorOf({{"MAX_IN_FLIGHT", "lots"}}), HasSubstr("MAX_IN_FLIGHT"));
}

TEST(ConfigTest, ConnectionSettings) {
  auto cfg = Load({{"API", "https://10.0.0.5:8443"},
                   {"TLS_SERVER_NAME", "api.example"},
                   {"HTTP_VERSION", "1.1"},
                   {"PROXY", "http://proxy:3128"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const HttpConnectionOptions& c = cfg->pipeline.sender.connection;
  EXPECT_EQ(c.tls_server_name, "api.example");
  EXPECT_EQ(c.http_version, HttpVersion::kHttp11);
  EXPECT_EQ(c.proxy, "http://proxy:3128");
  EXPECT_THAT(ErrorOf({{"HTTP_VERSION", "3"}}), HasSubstr("HTTP_VERSION"));
  EXPECT_THAT(ErrorOf({{"CA_FILE", "/nonexistent/ca.pem"}}), HasSubstr("CA_FILE"));
}

TEST(ConfigTest, ProxyPasswordNeverInErrors) {
  const std::string msg = ErrorOf({{"PROXY", "http://user:s3cret@[bad"}});
  EXPECT_THAT(msg, HasSubstr("PROXY"));
  EXPECT_THAT(msg, Not(HasSubstr("s3cret")));
}

TEST(ConfigTest, ClientCertificateNeedsItsKey) {
  EXPECT_THAT(ErrorOf({{"CLIENT_CERT", "/dev/null"}}), HasSubstr("client-key"));
}

TEST(CpuBudgetTest, ThreadPoolsDefaultToTheBudget) {
  auto cfg = Load({});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.parser_threads, static_cast<int>(CpuBudget()));
}

}  // namespace
}  // namespace nf2

namespace nf2 {
namespace {

TEST(ConfigTest, RetryAfterIsCappedAtRetryAfterMaxOrRetryMax) {
  auto by_default = LoadConfig({}, [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  EXPECT_FALSE(by_default->pipeline.sender.retry_after_max.has_value());  // RETRY_MAX applies
  auto set =
      LoadConfig({"--retry-after-max=120"}, [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->pipeline.sender.retry_after_max, absl::Seconds(120));
  auto bad =
      LoadConfig({"--retry-after-max=0"}, [](const char*) -> const char* { return nullptr; });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("RETRY_AFTER_MAX"), std::string::npos);
}

}  // namespace
}  // namespace nf2

namespace nf2 {
namespace {

TEST(ConfigKafkaTest, BrokersSwitchTheInputToKafkaWithDefaults) {
  auto cfg = Load({}, {"--kafka-brokers", "k1:9092,k2:9092"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_TRUE(cfg->pipeline.kafka.has_value());
  const KafkaSourceOptions& k = *cfg->pipeline.kafka;
  EXPECT_EQ(k.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(k.topic, "flow-messages");
  EXPECT_EQ(k.group, "nf2ingest");
  EXPECT_EQ(k.format, ChunkFormat::kJsonLines);
  EXPECT_TRUE(k.start_earliest);
  EXPECT_TRUE(cfg->pipeline.source.inputs.empty());
  EXPECT_FALSE(Load({}).value().pipeline.kafka.has_value());
}

TEST(ConfigKafkaTest, OptionsRepeatAsFlagsAndSplitAtCommasThatStartAKey) {
  auto cfg = Load({{"KAFKA_BROKERS", "k:1"}},
                  {"--kafka-option", "fetch.wait.max.ms=50", "--kafka-option=client.rack=a,b",
                   "--kafka-format", "protobuf", "--kafka-start", "latest"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const KafkaSourceOptions& k = *cfg->pipeline.kafka;
  using Opt = std::pair<std::string, std::string>;
  EXPECT_EQ(k.options, (std::vector<Opt>{{"fetch.wait.max.ms", "50"}, {"client.rack", "a,b"}}));
  EXPECT_EQ(k.format, ChunkFormat::kDelimitedProtobuf);
  EXPECT_FALSE(k.start_earliest);
  cfg = Load({{"KAFKA_BROKERS", "k:1"},
              {"KAFKA_OPTIONS", "security.protocol=plaintext,fetch.min.bytes=1"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pipeline.kafka->options,
            (std::vector<Opt>{{"security.protocol", "plaintext"}, {"fetch.min.bytes", "1"}}));
}

TEST(ConfigKafkaTest, ARefusedOptionNamesTheSettingAndHidesSecrets) {
  EXPECT_THAT(ErrorOf({{"KAFKA_BROKERS", "k:1"}}, {"--kafka-option", "fetch.wait.max.ms=x"}),
              HasSubstr("--kafka-option / KAFKA_OPTIONS='fetch.wait.max.ms=x'"));
  const std::string secret =
      ErrorOf({{"KAFKA_BROKERS", "k:1"}, {"KAFKA_OPTIONS", "sasl.password=hunter2,bogus=1"}});
  EXPECT_THAT(secret, HasSubstr("bogus"));
  EXPECT_THAT(secret, Not(HasSubstr("hunter2")));
  const std::string on_command_line =
      ErrorOf({{"KAFKA_BROKERS", "k:1"}}, {"--kafka-option", "sasl.password=hunter2"});
  EXPECT_THAT(on_command_line, HasSubstr("KAFKA_OPTIONS"));
  EXPECT_THAT(on_command_line, Not(HasSubstr("hunter2")));
  EXPECT_THAT(ErrorOf({{"KAFKA_BROKERS", "k:1"}}, {"--kafka-option", "novalue"}),
              HasSubstr("KEY=VALUE"));
}

TEST(ConfigKafkaTest, KafkaExcludesOtherInputsAndNeedsBrokers) {
  const Env kafka = {{"KAFKA_BROKERS", "k:1"}};
  EXPECT_THAT(ErrorOf(kafka, {"in.jsonl"}), HasSubstr("--kafka-brokers"));
  EXPECT_THAT(ErrorOf(kafka, {"--generate", "100"}), HasSubstr("--generate"));
  EXPECT_THAT(ErrorOf(kafka, {"--follow"}), HasSubstr("--follow"));
  EXPECT_THAT(ErrorOf(kafka, {"--checkpoint-file", "/tmp/x"}), HasSubstr("--checkpoint-file"));
  EXPECT_THAT(ErrorOf(kafka, {"--replay", "/tmp"}), HasSubstr("--replay"));
  EXPECT_THAT(ErrorOf(kafka, {"--kafka-format", "avro"}), HasSubstr("--kafka-format"));
  EXPECT_THAT(ErrorOf({}, {"--kafka-topic", "t"}), HasSubstr("needs --kafka-brokers"));
  EXPECT_THAT(ErrorOf({}, {"--kafka-option", "a=b"}), HasSubstr("needs --kafka-brokers"));
}

TEST(ConfigTest, ListenTakesRepeatedFlagsOrAListAndBothAddressFamilies) {
  auto cfg = Load({}, {"--listen", "netflow://0.0.0.0:2055", "--listen=netflow://[::1]:9995"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->udp.listen.size(), 2u);
  EXPECT_EQ(cfg->udp.listen[0].ToString(), "0.0.0.0:2055");
  EXPECT_EQ(cfg->udp.listen[1].ToString(), "[::1]:9995");
  EXPECT_TRUE(cfg->pipeline.source.inputs.empty());
  EXPECT_EQ(cfg->udp.sockets_per_address, cfg->pipeline.parser_threads);
  EXPECT_EQ(cfg->udp.rcvbuf_bytes, 32 << 20);

  cfg = Load({{"LISTEN", "netflow://127.0.0.1:1, netflow://localhost:2"},
              {"UDP_SOCKETS", "3"},
              {"UDP_RCVBUF", "1048576"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->udp.listen.size(), 2u);
  EXPECT_EQ(cfg->udp.listen[1].host, "localhost");
  EXPECT_EQ(cfg->udp.sockets_per_address, 3);
  EXPECT_EQ(cfg->udp.rcvbuf_bytes, 1 << 20);
}

TEST(ConfigTest, BadListenUrlsFailNamingListen) {
  for (const char* url :
       {"udp://1.2.3.4:2055", "netflow://1.2.3.4", "netflow://:2055", "netflow://1.2.3.4:65536",
        "netflow://1.2.3.4:-1", "netflow://::1:2055", "netflow://[::1]2055"}) {
    EXPECT_THAT(ErrorOf({}, {"--listen", url}), HasSubstr("--listen / LISTEN")) << url;
  }
}

TEST(ConfigTest, ListenExcludesEveryOtherInput) {
  const std::string listen = "--listen=netflow://127.0.0.1:2055";
  EXPECT_THAT(ErrorOf({}, {listen, "flows.jsonl"}), HasSubstr("do not name inputs"));
  EXPECT_THAT(ErrorOf({}, {listen, "--generate=1000"}), HasSubstr("--generate"));
  EXPECT_THAT(ErrorOf({}, {listen, "--follow"}), HasSubstr("--follow"));
  EXPECT_THAT(ErrorOf({}, {listen, "--checkpoint-file=/tmp/cp"}), HasSubstr("--checkpoint-file"));
  EXPECT_THAT(ErrorOf({}, {listen, "--replay=/tmp"}), HasSubstr("--replay"));
  EXPECT_THAT(ErrorOf({{"KAFKA_BROKERS", "k:1"}}, {listen}), HasSubstr("--kafka-brokers"));
}

TEST(ConfigTest, UdpSettingsNeedListen) {
  EXPECT_THAT(ErrorOf({}, {"--udp-sockets=2"}), HasSubstr("only applies with --listen"));
  EXPECT_THAT(ErrorOf({{"UDP_RCVBUF", "65536"}}), HasSubstr("UDP_RCVBUF"));
  EXPECT_THAT(ErrorOf({}, {"--templates-file=/tmp/t"}), HasSubstr("--templates-file"));
  EXPECT_THAT(ErrorOf({}, {"--listen=netflow://127.0.0.1:2055",
                           "--templates-file=/nonexistent-dir/templates"}),
              HasSubstr("cannot write files in /nonexistent-dir"));
}

}  // namespace
}  // namespace nf2
