#include "stages/netflow/datagram_chunk.h"

#include <algorithm>
#include <cstring>

#include "stages/flows/ip_text.h"

namespace nf2::netflow {

Exporter Exporter::FromIpv4(uint32_t ipv4, uint16_t port) {
  Exporter e;
  e.addr[10] = e.addr[11] = 0xff;
  e.addr[12] = static_cast<uint8_t>(ipv4 >> 24);
  e.addr[13] = static_cast<uint8_t>(ipv4 >> 16);
  e.addr[14] = static_cast<uint8_t>(ipv4 >> 8);
  e.addr[15] = static_cast<uint8_t>(ipv4);
  e.port = port;
  return e;
}

bool Exporter::is_ipv4() const { return IsIpv4Mapped(addr.data()); }

std::string Exporter::AddressText() const {
  IpText text;
  if (is_ipv4()) {
    FormatIpv4(addr.data() + 12, &text);
  } else {
    FormatIpv6(addr.data(), &text);
  }
  return std::string(text.view());
}

std::string Exporter::ToString() const {
  const std::string address = AddressText();
  const std::string port_text = std::to_string(port);
  return is_ipv4() ? address + ":" + port_text : "[" + address + "]:" + port_text;
}

size_t ExporterHash::operator()(const Exporter& e) const {
  // FNV-1a over the 18 bytes, then a final mix so the low bits (shard
  // choice) depend on every byte.
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : e.addr) h = (h ^ b) * 1099511628211ull;
  h = (h ^ (e.port & 0xff)) * 1099511628211ull;
  h = (h ^ (e.port >> 8)) * 1099511628211ull;
  h ^= h >> 29;
  return static_cast<size_t>(h);
}

void ResetDatagramChunk(LineChunk* chunk) {
  chunk->size = 0;
  chunk->format = ChunkFormat::kDatagrams;
}

void AppendDatagram(LineChunk* chunk, const Exporter& exporter, uint64_t received_unix_ns,
                    std::string_view bytes) {
  const auto length = static_cast<uint16_t>(std::min(bytes.size(), kMaxDatagramBytes));
  const size_t needed = chunk->size + kDatagramFrameHeader + length + kLinePadding;
  if (chunk->data.size() < needed) {
    // Grow geometrically: a source appends many small datagrams.
    chunk->data.resize(std::max(needed, chunk->data.size() * 2));
  }
  char* p = chunk->data.data() + chunk->size;
  std::memcpy(p, exporter.addr.data(), 16);
  std::memcpy(p + 16, &exporter.port, 2);
  std::memcpy(p + 18, &received_unix_ns, 8);
  std::memcpy(p + 26, &length, 2);
  std::memcpy(p + kDatagramFrameHeader, bytes.data(), length);
  chunk->size += kDatagramFrameHeader + length;
}

bool DatagramReader::Next(DatagramView* out) {
  if (pos_ >= data_.size()) return false;
  if (data_.size() - pos_ < kDatagramFrameHeader) {
    malformed_ = true;
    return false;
  }
  const char* p = data_.data() + pos_;
  uint16_t length = 0;
  std::memcpy(out->exporter.addr.data(), p, 16);
  std::memcpy(&out->exporter.port, p + 16, 2);
  std::memcpy(&out->received_unix_ns, p + 18, 8);
  std::memcpy(&length, p + 26, 2);
  if (data_.size() - pos_ - kDatagramFrameHeader < length) {
    malformed_ = true;
    return false;
  }
  out->bytes = data_.substr(pos_ + kDatagramFrameHeader, length);
  pos_ += kDatagramFrameHeader + length;
  return true;
}

}  // namespace nf2::netflow
