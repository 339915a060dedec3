#include "stages/gzip.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "stages/absl_compat.h"

namespace nf2 {
namespace {

class ZlibCompressor final : public GzipCompressor {
 public:
  explicit ZlibCompressor(int level) : level_(level) {}

  absl::Status Compress(std::string_view in, std::string* out) override {
    z_stream zs{};
    // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
    if (deflateInit2(&zs, level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return absl::InternalError("deflateInit2 failed");
    }
    out->resize(deflateBound(&zs, in.size()) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out->data());
    zs.avail_out = static_cast<uInt>(out->size());
    int rc = deflate(&zs, Z_FINISH);
    out->resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return absl::InternalError("zlib deflate did not finish");
    return absl::OkStatus();
  }

 private:
  int level_;
};

class LibdeflateCompressor final : public GzipCompressor {
 public:
  explicit LibdeflateCompressor(int level) : c_(libdeflate_alloc_compressor(level)) {}
  ~LibdeflateCompressor() override { libdeflate_free_compressor(c_); }

  absl::Status Compress(std::string_view in, std::string* out) override {
    if (!c_) return absl::InternalError("libdeflate_alloc_compressor failed");
    // Compress into a reused, never zero-filled scratch buffer, then copy
    // out only the (much smaller) result.
    const size_t bound = libdeflate_gzip_compress_bound(c_, in.size());
    if (scratch_size_ < bound) {
      scratch_.reset(new char[bound]);
      scratch_size_ = bound;
    }
    size_t n = libdeflate_gzip_compress(c_, in.data(), in.size(), scratch_.get(), bound);
    if (n == 0) return absl::InternalError("libdeflate_gzip_compress failed");
    out->assign(scratch_.get(), n);
    return absl::OkStatus();
  }

 private:
  libdeflate_compressor* c_;
  std::unique_ptr<char[]> scratch_;
  size_t scratch_size_ = 0;
};

}  // namespace

absl::StatusOr<GzipImpl> GzipImplFromName(std::string_view name) {
  if (name == "libdeflate") return GzipImpl::kLibdeflate;
  if (name == "zlib") return GzipImpl::kZlib;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown gzip implementation '", Av(name), "' (want libdeflate or zlib)"));
}

absl::Status ValidateGzipLevel(GzipImpl impl, int level) {
  const int max = impl == GzipImpl::kZlib ? 9 : 12;
  if (level < 1 || level > max) {
    return absl::InvalidArgumentError(absl::StrCat("level ", level, " is outside 1..", max));
  }
  return absl::OkStatus();
}

std::unique_ptr<GzipCompressor> MakeGzipCompressor(GzipImpl impl, int level) {
  if (impl == GzipImpl::kZlib) return std::make_unique<ZlibCompressor>(level);
  return std::make_unique<LibdeflateCompressor>(level);
}

absl::StatusOr<std::string> Gunzip(std::string_view in, size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError("inflateInit2 failed");
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() > max_output) {
      inflateEnd(&zs);
      return absl::ResourceExhaustedError("gzip output too large");
    }
    // Never inflate past the limit: ask for at most what is left of it
    // (plus one byte, to tell "exactly at the limit" from "over it").
    const size_t step = std::min<size_t>(64 * 1024, max_output + 1 - out.size());
    size_t old = out.size();
    out.resize(old + step);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(step);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return absl::DataLossError("invalid gzip data");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return absl::DataLossError("truncated gzip data");
    }
  }
  inflateEnd(&zs);
  if (out.size() > max_output) return absl::ResourceExhaustedError("gzip output too large");
  return out;
}

}  // namespace nf2
