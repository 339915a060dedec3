// JSON string escaping, for the few strings we write into JSON by hand
// (the collector id, log messages).
#ifndef NF2INGEST_PIPELINE_JSON_ESCAPE_H_
#define NF2INGEST_PIPELINE_JSON_ESCAPE_H_

#include <string>
#include <string_view>

namespace nf2 {

// The contents of a JSON string literal for `s` (without the quotes).
std::string JsonEscape(std::string_view s);

}  // namespace nf2

#endif  // NF2INGEST_PIPELINE_JSON_ESCAPE_H_
