// nf2ingest's configuration: defaults, then environment variables (the
// seed's names), then flags. Validated once, before anything is read; every
// error names the setting.
#ifndef NF2INGEST_TOOLS_NF2INGEST_CONFIG_H_
#define NF2INGEST_TOOLS_NF2INGEST_CONFIG_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/log.h"
#include "pipeline/settings.h"
#include "stages/ingest/ingest_pipeline.h"
#include "stages/sources/udp/udp_source.h"
#include "tools/nf2ingest/ramp.h"

namespace nf2 {

struct Config {
  std::string api;  // base URL, no trailing slash
  PipelineOptions pipeline;
  LogLevel log_level = LogLevel::kInfo;
  absl::Duration drain_timeout = absl::Seconds(30);
  std::string spool_dir;  // empty: no spool
  uint64_t spool_max_bytes = 0;
  std::string dead_letter_dir;  // empty: rejected batches are only logged
  std::string replay_dir;       // --replay: send this store and exit
  std::string checkpoint_path;  // --checkpoint-file (empty: none)
  // --listen: NetFlow/IPFIX over UDP instead of input files (empty: none).
  UdpSourceOptions udp;
  std::string templates_path;  // --templates-file (empty: none)
  // Operating it.
  absl::Duration stats_interval = absl::Seconds(10);  // 0: no live view
  std::string metrics_host;                           // empty: no metrics endpoint
  int metrics_port = 0;                               // 0: any free port
  absl::Duration health_stall = absl::Seconds(60);
  std::string report_path;       // load-test mode: where to write the JSON report
  std::string report_html_path;  // load-test mode: where to write the HTML report
  RampOptions ramp;              // load-test mode: --ramp (steps == 0: off)
  LogFormat log_format = LogFormat::kText;
  bool help = false;
  std::vector<std::string> warnings;  // to log once logging is set up
};

// Parses argv (argv[0] is skipped) and the environment. Errors are
// InvalidArgument with a message that names the flag and variable.
absl::StatusOr<Config> LoadConfig(const std::vector<std::string>& args, const GetEnvFn& getenv);

// --help: every flag with its variable and default.
std::string HelpText();

// `url` without its userinfo ("user:password@"), for messages and logs.
// LoadConfig refuses an API URL that carries one; this is the second line
// of defence for anything that prints a URL.
std::string UrlWithoutUserinfo(std::string_view url);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_CONFIG_H_
