// libFuzzer target for the spool / dead-letter reader: DecodeBatchFile must
// reject any input with DataLoss, never crash, hang or over-allocate, and
// whatever it accepts must be exactly what EncodeBatchFile writes.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "stages/sinks/http/spool.h"

namespace {

void Check(std::string_view bytes) {
  absl::StatusOr<nf2::StoredBatch> got = nf2::DecodeBatchFile(bytes);
  if (!got.ok()) {
    if (!absl::IsDataLoss(got.status())) std::abort();  // every rejection is DataLoss
    return;
  }
  // The format has one encoding per batch: anything accepted re-encodes to
  // the same bytes, which also proves nothing was read past a field.
  if (nf2::EncodeBatchFile(got->batch, got->note) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes);
  // Random bytes almost never carry a matching CRC, which would hide every
  // check behind it from the fuzzer: also try the input with its last four
  // bytes replaced by the right CRC.
  if (size >= 4) {
    std::string fixed(bytes.substr(0, size - 4));
    const auto crc = static_cast<uint32_t>(
        crc32_z(crc32_z(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(fixed.data()), fixed.size()));
    for (int i = 0; i < 4; ++i) fixed.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
    Check(fixed);
  }
  return 0;
}
