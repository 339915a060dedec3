#!/usr/bin/env python3
"""A seed-style goflow2 -> flows.v1 mapper, for bench/e2e.sh --seed-compare.

What the seed did, in the straightforward Python way: read stdin line by line,
json.loads each line, map it per docs/contract.md section 2, collect BATCH_SIZE
records, gzip bodies larger than GZIP_THRESHOLD with gzip.compress, and POST
them with `requests` to {API}/v1/ingest with `Authorization: Bearer KEY`.
Same environment variables and defaults as the seed (API, KEY, COLLECTOR_ID,
BATCH_SIZE, GZIP_THRESHOLD, LOG_LEVEL). It keeps one requests.Session (kept-
alive connections), which flatters it a little. It also sends X-Batch-Records so
that `ingest-sink --discard` can count records; nothing else depends on it.

At the end it prints on stderr:
  [SUMMARY] lines=N delivered=N filtered=N invalid=N failed_batches=N
"""

import gzip
import ipaddress
import json
import os
import sys

import requests

# IANA protocol keywords 0..145 (stages/flows/proto_table.cc), goflow2's spelling.
IANA = [
    "HOPOPT", "ICMP", "IGMP", "GGP", "IPv4", "ST", "TCP", "CBT", "EGP", "IGP",
    "BBN-RCC-MON", "NVP-II", "PUP", "ARGUS", "EMCON", "XNET", "CHAOS", "UDP", "MUX",
    "DCN-MEAS", "HMP", "PRM", "XNS-IDP", "TRUNK-1", "TRUNK-2", "LEAF-1", "LEAF-2", "RDP",
    "IRTP", "ISO-TP4", "NETBLT", "MFE-NSP", "MERIT-INP", "DCCP", "3PC", "IDPR", "XTP",
    "DDP", "IDPR-CMTP", "TP++", "IL", "IPv6", "SDRP", "IPv6-Route", "IPv6-Frag", "IDRP",
    "RSVP", "GRE", "DSR", "BNA", "ESP", "AH", "I-NLSP", "SWIPE", "NARP", "MOBILE",
    "TLSP", "SKIP", "IPv6-ICMP", "IPv6-NoNxt", "IPv6-Opts", "any host internal protocol",
    "CFTP", "any local network", "SAT-EXPAK", "KRYPTOLAN", "RVD", "IPPC",
    "any distributed file system", "SAT-MON", "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP",
    "BR-SAT-MON", "SUN-ND", "WB-MON", "WB-EXPAK", "ISO-IP", "VMTP", "SECURE-VMTP", "VINES",
    "TTP", "NSFNET-IGP", "DGP", "TCF", "EIGRP", "OSPFIGP", "Sprite-RPC", "LARP", "MTP",
    "AX.25", "IPIP", "MICP", "SCC-SP", "ETHERIP", "ENCAP", "any private encryption scheme",
    "GMTP", "IFMP", "PNNI", "PIM", "ARIS", "SCPS", "QNX", "A/N", "IPComp", "SNP",
    "Compaq-Peer", "IPX-in-IP", "VRRP", "PGM", "any 0-hop protocol", "L2TP", "DDX", "IATP",
    "STP", "SRP", "UTI", "SMP", "SM", "PTP", "ISIS over IPv4", "FIRE", "CRTP", "CRUDP",
    "SSCOPMCE", "IPLT", "SPS", "PIPE", "SCTP", "FC", "RSVP-E2E-IGNORE", "Mobility Header",
    "UDPLite", "MPLS-in-IP", "manet", "HIP", "Shim6", "WESP", "ROHC", "Ethernet",
    "AGGFRAG", "NSH",
]
PROTO = {name: n for n, name in enumerate(IANA)}
PROTO.update({"ICMPv6": 58, "IPv6-ICMPv6": 58, "IP": 4, "IPTM": 84, "OSPF": 89, "ISIS": 124,
              "MH": 135, "Use for experimentation and testing": 253, "Reserved": 255})
MAPPED_TYPES = {"NETFLOW_V5", "NETFLOW_V9", "IPFIX"}


class Invalid(Exception):
    pass


class Filtered(Exception):
    pass


def uint(rec, key, hi, default=0):
    v = rec.get(key, None)
    if key not in rec:
        return default
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > hi:
        raise Invalid(key)
    return v


def address(rec, key):
    v = rec.get(key)
    if not isinstance(v, str) or not v:
        raise Invalid(key)
    try:
        ipaddress.ip_address(v)
    except ValueError:
        raise Invalid(key)
    return v


def map_record(line):
    line = line.strip()
    if line and not line.startswith("{") and "| " in line:
        line = line.split("| ", 1)[1].strip()  # container-log prefix
    try:
        rec = json.loads(line)
    except ValueError:
        raise Invalid("json")
    if not isinstance(rec, dict):
        raise Invalid("json")
    if rec.get("type") not in MAPPED_TYPES:
        if isinstance(rec.get("type"), str):
            raise Filtered()
        raise Invalid("type")
    u64 = 2**64 - 1
    ts_ns = uint(rec, "time_flow_start_ns", u64)
    if ts_ns == 0:
        ts_ns = uint(rec, "time_received_ns", u64)
    proto = rec.get("proto", 0)
    if isinstance(proto, str):
        proto = PROTO.get(proto, 0)
    elif isinstance(proto, bool) or not isinstance(proto, int) or not 0 <= proto <= 255:
        raise Invalid("proto")
    out = {
        "ts": ts_ns // 1_000_000_000,
        "src_ip": address(rec, "src_addr"),
        "dst_ip": address(rec, "dst_addr"),
        "src_port": uint(rec, "src_port", 65535),
        "dst_port": uint(rec, "dst_port", 65535),
        "proto": proto,
        "bytes": uint(rec, "bytes", u64),
        "packets": uint(rec, "packets", u64),
    }
    in_if = uint(rec, "in_if", 2**32 - 1)
    out_if = uint(rec, "out_if", 2**32 - 1)
    if in_if:
        out["ingress_if"] = in_if
    if out_if:
        out["egress_if"] = out_if
    return out


def main():
    api = os.environ.get("API", "http://telemetry-api:8080").rstrip("/")
    key = os.environ.get("KEY", "TEST_KEY")
    collector_id = os.environ.get("COLLECTOR_ID", "gw-local")
    batch_size = int(os.environ.get("BATCH_SIZE", "200"))
    gzip_threshold = int(os.environ.get("GZIP_THRESHOLD", "51200"))
    quiet = os.environ.get("LOG_LEVEL", "INFO").upper() in ("WARN", "ERROR")
    url = api + "/v1/ingest"
    session = requests.Session()
    counts = {"lines": 0, "delivered": 0, "filtered": 0, "invalid": 0, "failed_batches": 0}

    def send(records):
        body = json.dumps({"records": records, "collector_id": collector_id,
                           "format": "flows.v1"}, separators=(",", ":")).encode()
        headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json",
                   "X-Batch-Records": str(len(records))}
        if len(body) > gzip_threshold:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        try:
            r = session.post(url, data=body, headers=headers, timeout=30)
        except requests.RequestException as e:
            print(f"[INGEST][ERR] Request failed: {e}", file=sys.stderr)
            counts["failed_batches"] += 1
            return
        if 200 <= r.status_code < 300:
            counts["delivered"] += len(records)
            if not quiet:
                print(f"[INGEST] sent {len(records)} status={r.status_code}", file=sys.stderr)
        else:
            print(f"[INGEST][ERR] HTTP {r.status_code}", file=sys.stderr)
            counts["failed_batches"] += 1

    if not quiet:
        print(f"Starting NetFlow mapper (seed-style Python): api={api}", file=sys.stderr)
    batch = []
    for line in sys.stdin:
        counts["lines"] += 1
        try:
            batch.append(map_record(line))
        except Filtered:
            counts["filtered"] += 1
            continue
        except Invalid:
            counts["invalid"] += 1
            continue
        if len(batch) >= batch_size:
            send(batch)
            batch = []
    if batch:
        send(batch)
    print("[SUMMARY] " + " ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)
    return 0 if counts["failed_batches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
