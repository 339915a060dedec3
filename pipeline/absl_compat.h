// Debian 12's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so our std::string_view values are converted explicitly
// where they meet Abseil.
#ifndef NF2INGEST_PIPELINE_ABSL_COMPAT_H_
#define NF2INGEST_PIPELINE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace nf2 {

inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace nf2

#endif  // NF2INGEST_PIPELINE_ABSL_COMPAT_H_
