// nf2ingest's exit code, decided in one place from what the run found, so the
// precedence between several failures is written down once and unit-tested.
//
// Precedence, most important first (the README's "Exit codes" says why):
//   5 TLS failed at start   > 4 the API refused the key   > 2 bad configuration   > 1 an input
//   could not be opened or read   > 3 records rejected, spooled, undelivered or not re-sent   > 0
//   everything mappable delivered.
#ifndef NF2INGEST_TOOLS_NF2INGEST_EXIT_CODE_H_
#define NF2INGEST_TOOLS_NF2INGEST_EXIT_CODE_H_

#include "pipeline/outcomes.h"

namespace nf2 {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInputError = 1;
inline constexpr int kExitBadConfig = 2;
inline constexpr int kExitNotDelivered = 3;
inline constexpr int kExitKeyRefused = 4;
inline constexpr int kExitTlsFailed = 5;

struct RunFacts {
  bool key_refused = false;  // the start-up health check got 401/403
  bool tls_failed = false;   // the start-up health check could not set up TLS
  bool bad_config = false;
  bool input_error = false;  // some input could not be opened or read
  pipeline::OutcomeSnapshot outcomes = {};
  bool replay_left = false;  // --replay ended with batches still in the store
};

int ExitCode(const RunFacts& facts);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_EXIT_CODE_H_
