// gzip behind one small interface: zlib (the baseline), libdeflate and Intel
// ISA-L's igzip (both faster for whole buffers, which is all we compress; the
// default is the fastest in bench/, see bench/README.md).
#ifndef NF2INGEST_STAGES_ENCODE_GZIP_H_
#define NF2INGEST_STAGES_ENCODE_GZIP_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nf2 {

enum class GzipImpl { kLibdeflate, kZlib, kIsal };

// nf2ingest's default (GZIP_IMPL): the fastest in bench_stages BM_BatchEncode.
inline constexpr GzipImpl kDefaultGzipImpl = GzipImpl::kIsal;

absl::StatusOr<GzipImpl> GzipImplFromName(std::string_view name);
std::string_view GzipImplName(GzipImpl impl);  // as GzipImplFromName takes it
// Checks that `level` is valid for `impl` (zlib 1..9, libdeflate 1..12,
// isal 0..3).
absl::Status ValidateGzipLevel(GzipImpl impl, int level);

class GzipCompressor {
 public:
  virtual ~GzipCompressor() = default;
  // Replaces `out` with the gzip member for `in`.
  virtual absl::Status Compress(std::string_view in, std::string* out) = 0;
};

// One compressor per thread: instances are not thread-safe.
std::unique_ptr<GzipCompressor> MakeGzipCompressor(GzipImpl impl, int level);

// Decompresses a gzip stream (zlib); fails past `max_output` bytes.
absl::StatusOr<std::string> Gunzip(std::string_view in, size_t max_output = 256u << 20);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_ENCODE_GZIP_H_
