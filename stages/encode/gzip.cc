#include "stages/encode/gzip.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"

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
  LibdeflateCompressor(const LibdeflateCompressor&) = delete;
  LibdeflateCompressor& operator=(const LibdeflateCompressor&) = delete;

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

// Intel ISA-L's igzip: at its level 1 about twice libdeflate's level-1 speed
// on flows.v1 bodies, for ~4% more bytes (bench_stages BM_BatchEncode).
// Levels 0..3; each needs its own work buffer, kept with the compressor.
class IsalCompressor final : public GzipCompressor {
 public:
  explicit IsalCompressor(int level) : level_(level) {
    static constexpr uint32_t kLevelBuf[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                             ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
    if (level_ >= 0 && level_ <= 3 && kLevelBuf[level_] > 0) {
      level_buf_size_ = kLevelBuf[level_];
      level_buf_.reset(new uint8_t[level_buf_size_]);
    }
  }

  absl::Status Compress(std::string_view in, std::string* out) override {
    if (in.size() > std::numeric_limits<uint32_t>::max() / 2) {
      return absl::InvalidArgumentError("gzip input too large for igzip");
    }
    // Incompressible input is written as stored blocks (5 bytes per 64 KiB);
    // if the estimate is ever short, the second try cannot be.
    size_t bound = in.size() + in.size() / 16 + 1024;
    for (int attempt = 0; attempt < 2; ++attempt, bound = 2 * in.size() + 4096) {
      if (scratch_size_ < bound) {
        scratch_.reset(new uint8_t[bound]);
        scratch_size_ = bound;
      }
      isal_zstream zs;  // NOLINT(cppcoreguidelines-pro-type-member-init): the init call sets it
      isal_deflate_stateless_init(&zs);
      zs.level = static_cast<uint32_t>(level_);
      zs.level_buf = level_buf_.get();
      zs.level_buf_size = level_buf_size_;
      zs.gzip_flag = IGZIP_GZIP;
      zs.end_of_stream = 1;
      zs.flush = NO_FLUSH;
      zs.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
      zs.avail_in = static_cast<uint32_t>(in.size());
      zs.next_out = scratch_.get();
      zs.avail_out = static_cast<uint32_t>(bound);
      const int rc = isal_deflate_stateless(&zs);
      if (rc == COMP_OK) {
        out->assign(reinterpret_cast<const char*>(scratch_.get()), zs.total_out);
        return absl::OkStatus();
      }
      if (rc != STATELESS_OVERFLOW) {
        return absl::InternalError(absl::StrCat("isal_deflate_stateless failed (", rc, ")"));
      }
    }
    return absl::InternalError("isal_deflate_stateless: output larger than twice the input");
  }

 private:
  int level_;
  std::unique_ptr<uint8_t[]> level_buf_;
  uint32_t level_buf_size_ = 0;
  std::unique_ptr<uint8_t[]> scratch_;
  size_t scratch_size_ = 0;
};

}  // namespace

absl::StatusOr<GzipImpl> GzipImplFromName(std::string_view name) {
  if (name == "libdeflate") return GzipImpl::kLibdeflate;
  if (name == "zlib") return GzipImpl::kZlib;
  if (name == "isal") return GzipImpl::kIsal;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown gzip implementation '", Av(name), "' (want isal, libdeflate or zlib)"));
}

std::string_view GzipImplName(GzipImpl impl) {
  switch (impl) {
    case GzipImpl::kLibdeflate:
      return "libdeflate";
    case GzipImpl::kZlib:
      return "zlib";
    case GzipImpl::kIsal:
      return "isal";
  }
  return "?";
}

absl::Status ValidateGzipLevel(GzipImpl impl, int level) {
  int min = 1, max = 12;
  if (impl == GzipImpl::kZlib) max = 9;
  if (impl == GzipImpl::kIsal) min = 0, max = 3;
  if (level < min || level > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("level ", level, " is outside ", min, "..", max));
  }
  return absl::OkStatus();
}

std::unique_ptr<GzipCompressor> MakeGzipCompressor(GzipImpl impl, int level) {
  switch (impl) {
    case GzipImpl::kZlib:
      return std::make_unique<ZlibCompressor>(level);
    case GzipImpl::kIsal:
      return std::make_unique<IsalCompressor>(level);
    case GzipImpl::kLibdeflate:
      break;
  }
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
    const size_t step = std::min<size_t>(size_t{64} * 1024, max_output + 1 - out.size());
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
