#include "stages/flows/proto_table.h"

#include <array>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace nf2 {
namespace {

// IANA "Assigned Internet Protocol Numbers", keyword column. Numbers without a
// keyword carry IANA's description, which is what goflow2 prints for them.
constexpr std::array<std::string_view, 146> kIanaKeywords = {
    "HOPOPT",
    "ICMP",
    "IGMP",
    "GGP",
    "IPv4",
    "ST",
    "TCP",
    "CBT",
    "EGP",
    "IGP",  // 0-9
    "BBN-RCC-MON",
    "NVP-II",
    "PUP",
    "ARGUS",
    "EMCON",
    "XNET",
    "CHAOS",
    "UDP",
    "MUX",  // 10-18
    "DCN-MEAS",
    "HMP",
    "PRM",
    "XNS-IDP",
    "TRUNK-1",
    "TRUNK-2",
    "LEAF-1",
    "LEAF-2",
    "RDP",  // 19-27
    "IRTP",
    "ISO-TP4",
    "NETBLT",
    "MFE-NSP",
    "MERIT-INP",
    "DCCP",
    "3PC",
    "IDPR",
    "XTP",  // 28-36
    "DDP",
    "IDPR-CMTP",
    "TP++",
    "IL",
    "IPv6",
    "SDRP",
    "IPv6-Route",
    "IPv6-Frag",
    "IDRP",  // 37-45
    "RSVP",
    "GRE",
    "DSR",
    "BNA",
    "ESP",
    "AH",
    "I-NLSP",
    "SWIPE",
    "NARP",
    "MOBILE",  // 46-55
    "TLSP",
    "SKIP",
    "IPv6-ICMP",
    "IPv6-NoNxt",
    "IPv6-Opts",
    "any host internal protocol",  // 56-61
    "CFTP",
    "any local network",
    "SAT-EXPAK",
    "KRYPTOLAN",
    "RVD",
    "IPPC",  // 62-67
    "any distributed file system",
    "SAT-MON",
    "VISA",
    "IPCV",
    "CPNX",
    "CPHB",
    "WSN",
    "PVP",  // 68-75
    "BR-SAT-MON",
    "SUN-ND",
    "WB-MON",
    "WB-EXPAK",
    "ISO-IP",
    "VMTP",
    "SECURE-VMTP",
    "VINES",  // 76-83
    "TTP",
    "NSFNET-IGP",
    "DGP",
    "TCF",
    "EIGRP",
    "OSPFIGP",
    "Sprite-RPC",
    "LARP",
    "MTP",  // 84-92
    "AX.25",
    "IPIP",
    "MICP",
    "SCC-SP",
    "ETHERIP",
    "ENCAP",
    "any private encryption scheme",  // 93-99
    "GMTP",
    "IFMP",
    "PNNI",
    "PIM",
    "ARIS",
    "SCPS",
    "QNX",
    "A/N",
    "IPComp",
    "SNP",  // 100-109
    "Compaq-Peer",
    "IPX-in-IP",
    "VRRP",
    "PGM",
    "any 0-hop protocol",
    "L2TP",
    "DDX",
    "IATP",  // 110-117
    "STP",
    "SRP",
    "UTI",
    "SMP",
    "SM",
    "PTP",
    "ISIS over IPv4",
    "FIRE",
    "CRTP",
    "CRUDP",  // 118-127
    "SSCOPMCE",
    "IPLT",
    "SPS",
    "PIPE",
    "SCTP",
    "FC",
    "RSVP-E2E-IGNORE",
    "Mobility Header",  // 128-135
    "UDPLite",
    "MPLS-in-IP",
    "manet",
    "HIP",
    "Shim6",
    "WESP",
    "ROHC",
    "Ethernet",  // 136-143
    "AGGFRAG",
    "NSH",  // 144-145
};

// Other spellings seen in goflow2 output over its versions.
constexpr std::pair<std::string_view, uint8_t> kAliases[] = {
    {"ICMPv6", 58},    {"IPv6-ICMPv6", 58}, {"IP", 4},
    {"IPTM", 84},      {"OSPF", 89},        {"Use for experimentation and testing", 253},
    {"Reserved", 255}, {"ISIS", 124},       {"MH", 135},
};

const absl::flat_hash_map<std::string_view, uint8_t>& NameTable() {
  static const auto* table = [] {
    auto* t = new absl::flat_hash_map<std::string_view, uint8_t>();
    for (size_t i = 0; i < kIanaKeywords.size(); ++i) {
      t->emplace(kIanaKeywords[i], static_cast<uint8_t>(i));
    }
    for (const auto& [name, number] : kAliases) t->emplace(name, number);
    return t;
  }();
  return *table;
}

}  // namespace

std::optional<uint8_t> ProtoNumberFromName(std::string_view name) {
  // The common case first: no hashing for the protocols that are most flows.
  if (name == "TCP") return 6;
  if (name == "UDP") return 17;
  const auto& table = NameTable();
  auto it = table.find(name);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

std::string_view ProtoNameFromNumber(uint8_t number) {
  if (number < kIanaKeywords.size()) return kIanaKeywords[number];
  return "unassigned";
}

}  // namespace nf2
