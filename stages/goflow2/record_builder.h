// Turns the top-level fields of one goflow2 JSON object into a FlowRecord,
// applying docs/contract.md §1-2: which keys matter, their ranges, and when a record
// is filtered or invalid. Every JSON parser feeds this one class, so the
// parsers cannot disagree on the mapping rules.
#ifndef NF2INGEST_STAGES_GOFLOW2_RECORD_BUILDER_H_
#define NF2INGEST_STAGES_GOFLOW2_RECORD_BUILDER_H_

#include <array>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "stages/flows/flow_record.h"

namespace nf2 {

enum class LineVerdict : uint8_t { kRecord, kFiltered, kInvalid };

struct ParseResult {
  LineVerdict verdict = LineVerdict::kInvalid;
  // Why the line is invalid (a static string), empty otherwise.
  std::string_view error;
  // `proto` was a name outside the IANA table (mapped to 0).
  bool unknown_proto = false;
};

// The goflow2 keys the mapping reads. Everything else is ignored.
enum class Field : uint8_t {
  kNone,
  kType,
  kTimeFlowStartNs,
  kTimeReceivedNs,
  kSrcAddr,
  kDstAddr,
  kSrcPort,
  kDstPort,
  kProto,
  kBytes,
  kPackets,
  kInIf,
  kOutIf,
  kCount
};

// The goflow2 key of each Field.
struct MappedKey {
  std::string_view name;
  Field field;
};
inline constexpr MappedKey kMappedKeys[] = {
    {"type", Field::kType},
    {"time_flow_start_ns", Field::kTimeFlowStartNs},
    {"time_received_ns", Field::kTimeReceivedNs},
    {"src_addr", Field::kSrcAddr},
    {"dst_addr", Field::kDstAddr},
    {"src_port", Field::kSrcPort},
    {"dst_port", Field::kDstPort},
    {"proto", Field::kProto},
    {"bytes", Field::kBytes},
    {"packets", Field::kPackets},
    {"in_if", Field::kInIf},
    {"out_if", Field::kOutIf},
};
static_assert(std::size(kMappedKeys) == static_cast<size_t>(Field::kCount) - 1,
              "every Field but kNone has exactly one goflow2 key");

namespace internal {
// Bit n of entry c: a mapped key starts with c and is n bytes long.
constexpr std::array<uint64_t, 128> MappedKeyLengths() {
  std::array<uint64_t, 128> t{};
  for (const MappedKey& k : kMappedKeys) {
    t[static_cast<unsigned char>(k.name[0]) & 127] |= uint64_t{1} << k.name.size();
  }
  return t;
}
inline constexpr std::array<uint64_t, 128> kMappedKeyLengths = MappedKeyLengths();
}  // namespace internal

class RecordBuilder {
 public:
  // The Field of a top-level key, kNone for keys the mapping ignores. Runs
  // for every key of every line (goflow2 writes 50), hence inline and in two
  // steps: a table says whether any mapped key has this first letter and
  // length (of goflow2's 38 other keys, 3 pass), and only those are compared.
  static Field Lookup(std::string_view key) {
    if (key.empty() || key.size() >= 64 ||
        ((internal::kMappedKeyLengths[static_cast<unsigned char>(key[0]) & 127] >> key.size()) &
         1) == 0) {
      return Field::kNone;
    }
    return LookupCandidate(key);
  }

  void Reset();
  // A non-negative JSON integer that fits in 64 bits.
  void OnUnsigned(Field field, uint64_t value);
  // A JSON string (already unescaped).
  void OnString(Field field, std::string_view value);
  // Any other JSON value: negative or fractional numbers, numbers too large,
  // booleans, null, arrays, objects.
  void OnOther(Field field);

  // Decides the line's fate and, for kRecord, fills `out`.
  ParseResult Finish(FlowRecord* out);

 private:
  static Field LookupCandidate(std::string_view key);

  void SetError(Field field, std::string_view why);
  void ClearError(Field field);
  void SetAddress(Field field, IpText* slot, std::string_view value);

  uint32_t present_ = 0;  // bit per Field
  uint32_t errors_ = 0;   // bit per Field: last value seen was unusable
  std::string_view first_error_[static_cast<int>(Field::kCount)] = {};
  enum class TypeKind : uint8_t { kAbsent, kMapped, kOther } type_ = TypeKind::kAbsent;
  bool unknown_proto_ = false;
  uint64_t time_flow_start_ns_ = 0;
  uint64_t time_received_ns_ = 0;
  FlowRecord rec_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_GOFLOW2_RECORD_BUILDER_H_
