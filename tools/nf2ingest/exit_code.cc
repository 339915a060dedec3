#include "tools/nf2ingest/exit_code.h"

namespace nf2 {

int ExitCode(const RunFacts& facts) {
  if (facts.tls_failed) return kExitTlsFailed;
  if (facts.key_refused) return kExitKeyRefused;
  if (facts.bad_config) return kExitBadConfig;
  if (facts.input_error) return kExitInputError;
  const pipeline::OutcomeSnapshot& s = facts.outcomes;
  // Outcomes that do not add up mean some line's fate is unknown: not delivered.
  if (!s.Balanced()) return kExitNotDelivered;
  if (s.rejected + s.spooled + s.undelivered > 0) return kExitNotDelivered;
  if (facts.replay_left) return kExitNotDelivered;
  return kExitOk;
}

}  // namespace nf2
