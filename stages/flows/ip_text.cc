#include "stages/flows/ip_text.h"

#include <array>
#include <cstring>

namespace nf2 {
namespace {

// Decimal text of every octet, so an address is four 4-byte copies (a quarter
// of the decoder's time went into dividing octets by 10 and 100).
struct OctetText {
  char text[4];
  uint8_t size;
};

constexpr std::array<OctetText, 256> MakeOctetTable() {
  std::array<OctetText, 256> t{};
  for (unsigned v = 0; v < 256; ++v) {
    OctetText& o = t[v];
    if (v >= 100) o.text[o.size++] = static_cast<char>('0' + v / 100);
    if (v >= 10) o.text[o.size++] = static_cast<char>('0' + v / 10 % 10);
    o.text[o.size++] = static_cast<char>('0' + v % 10);
  }
  return t;
}

constexpr std::array<OctetText, 256> kOctets = MakeOctetTable();

char* PutOctet(char* p, uint8_t v) {
  const OctetText& o = kOctets[v];
  std::memcpy(p, o.text, 4);  // the buffer has room; only `size` bytes count
  return p + o.size;
}

char* PutHexGroup(char* p, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned nibble = (v >> shift) & 15;
    if (nibble != 0 || started || shift == 0) {
      *p++ = kHex[nibble];
      started = true;
    }
  }
  return p;
}

// The longest run of at least two zero groups: [*begin, *begin + *len).
void LongestZeroRun(const unsigned* groups, int* begin, int* len) {
  *begin = -1;
  *len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > *len && j - i >= 2) {
      *begin = i;
      *len = j - i;
    }
    i = j;
  }
}

char* PutIpv4(char* p, const uint8_t* bytes) {
  p = PutOctet(p, bytes[0]);
  for (int i = 1; i < 4; ++i) {
    *p++ = '.';
    p = PutOctet(p, bytes[i]);
  }
  return p;
}

char* PutIpv6(char* p, const uint8_t* bytes) {
  if (IsIpv4Mapped(bytes)) {
    static constexpr char kMappedPrefix[] = {':', ':', 'f', 'f', 'f', 'f', ':'};
    std::memcpy(p, kMappedPrefix, sizeof kMappedPrefix);
    return PutIpv4(p + sizeof kMappedPrefix, bytes + 12);
  }
  unsigned groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = (unsigned{bytes[2 * i]} << 8) | bytes[2 * i + 1];
  int run_begin = 0;
  int run_len = 0;
  LongestZeroRun(groups, &run_begin, &run_len);
  bool after_run = false;
  for (int i = 0; i < 8; ++i) {
    if (i == run_begin) {
      *p++ = ':';
      *p++ = ':';
      i += run_len - 1;
      after_run = true;
      continue;
    }
    if (i > 0 && !after_run) *p++ = ':';
    after_run = false;
    p = PutHexGroup(p, groups[i]);
  }
  return p;
}

void Finish(char* end, IpText* out) {
  *end = '\0';
  out->size = static_cast<uint8_t>(end - out->text);
}

}  // namespace

bool IsIpv4Mapped(const uint8_t* bytes) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes, kPrefix, sizeof kPrefix) == 0;
}

void FormatIpv4(const uint8_t* bytes, IpText* out) { Finish(PutIpv4(out->text, bytes), out); }

void FormatIpv6(const uint8_t* bytes, IpText* out) { Finish(PutIpv6(out->text, bytes), out); }

bool FormatIpBytes(std::string_view bytes, IpText* out) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() == 4) {
    FormatIpv4(b, out);
  } else if (bytes.size() == 16) {
    FormatIpv6(b, out);
  } else {
    return false;
  }
  return true;
}

}  // namespace nf2
