// flows.v1 serialization: compact JSON, keys in the order docs/contract.md §2 fixes.
#ifndef NF2INGEST_STAGES_FLOWS_FLOW_RECORD_JSON_H_
#define NF2INGEST_STAGES_FLOWS_FLOW_RECORD_JSON_H_

#include <string>

#include "stages/flows/flow_record.h"

namespace nf2 {

// The longest record AppendFlowRecordJson can write (every field at its
// widest), used to check that MAX_PAYLOAD_SIZE can hold one record.
size_t MaxFlowRecordJsonSize();

// Appends the record; writes at most MaxFlowRecordJsonSize() bytes.
void AppendFlowRecordJson(const FlowRecord& rec, std::string* out);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_FLOWS_FLOW_RECORD_JSON_H_
