#!/usr/bin/env bash
# NetFlow/IPFIX end to end: flowgen exports over loopback UDP → nf2ingest
# --listen (decode, map, batch, gzip, POST) → ingest-sink --discard.
#
#   bench/netflow_e2e.sh [--version 5|9|10] [--seconds S] [--runs N] [RATE...]
#
# For each offered RATE (flow records per second, default "1000000 2000000
# 0"; 0 = flowgen as fast as it can send, the peak) and each of N runs
# (default 3), flowgen sends S seconds (default 10) of traffic from 4
# exporters with 30 flows per datagram; nf2ingest runs with BATCH_SIZE=5000,
# LOG_LEVEL=INFO (for its [NETFLOW] line) under /usr/bin/time. Per run it
# prints what flowgen offered, what nf2ingest delivered per second of
# flowgen's sending time, the datagrams the kernel dropped (SO_RXQ_OVFL) and
# nf2ingest's CPU seconds per million records; then the medians per rate.
#
# Everything shares this machine's cores: flowgen's own sending costs CPU that
# nf2ingest then does not have (reported, not hidden).
#
# Builds nothing. BUILD_DIR (default `build`) must hold
# bin/{nf2ingest,ingest-sink,flowgen}.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

VERSION=9
SECONDS_PER_RUN=10
RUNS=3
RATES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version) VERSION=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*) echo "netflow_e2e: unknown option $1" >&2; exit 2 ;;
    *) RATES+=("$1") ;;
  esac
  shift
done
[[ ${#RATES[@]} -gt 0 ]] || RATES=(1000000 2000000 0)
case "$VERSION" in
  5) MODE=--netflow-v5 ;;
  9) MODE=--netflow-v9 ;;
  10) MODE=--ipfix ;;
  *) echo "netflow_e2e: --version must be 5, 9 or 10" >&2; exit 2 ;;
esac
[[ "$SECONDS_PER_RUN" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] ||
  { echo "netflow_e2e: --seconds and --runs must be positive integers" >&2; exit 2; }

BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -d "$BUILD_DIR/bin" && -d "$ROOT/$BUILD_DIR/bin" ]]; then BUILD_DIR="$ROOT/$BUILD_DIR"; fi
BIN=$(cd "$BUILD_DIR/bin" 2>/dev/null && pwd) || { echo "netflow_e2e: no $BUILD_DIR/bin" >&2; exit 2; }
for tool in nf2ingest ingest-sink flowgen; do
  [[ -x "$BIN/$tool" ]] || { echo "netflow_e2e: $BIN/$tool missing" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "netflow_e2e: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nf2-netflow-e2e.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export KEY=netflow-bench-key

FLOWS=30
EXPORTERS=4
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) exit 1; printf "%.10g\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.*$1[=:] *\([0-9.]*\).*/\1/p" "$2" | tail -1; }

# wait_for FILE PATTERN — until FILE holds PATTERN (10 s at most).
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "netflow_e2e: '$2' never appeared in $1:" >&2; cat "$1" >&2; exit 1
}

start_sink() {
  "$BIN/ingest-sink" --port 0 --discard >"$WORK/sink.out" 2>"$WORK/sink.err" &
  PIDS+=($!)
  wait_for "$WORK/sink.out" "listening on"
  URL=$(sed -n 's/^ingest-sink listening on \(http:[^ ]*\).*/\1/p' "$WORK/sink.out")
}

# run_once TAG RATE — sets OFFERED DELIVERED RPS DROPS CPU_PER_M SEND_S
run_once() {
  local tag=$1 rate=$2 packets
  if [[ $rate -gt 0 ]]; then
    packets=$((rate * SECONDS_PER_RUN / FLOWS))
  else
    packets=$((3000000 * SECONDS_PER_RUN / FLOWS))  # as fast as possible: a fixed amount
  fi
  env API="$URL" BATCH_SIZE=5000 LOG_LEVEL=INFO STATS_INTERVAL=0 \
    /usr/bin/time -v -o "$WORK/$tag.time" "$BIN/nf2ingest" --listen netflow://127.0.0.1:0 \
    >/dev/null 2>"$WORK/$tag.err" &
  local nf=$!
  PIDS+=("$nf")
  wait_for "$WORK/$tag.err" "sockets each"  # the end of the [NETFLOW] listening line
  local port
  port=$(sed -n 's/.*\[NETFLOW\] listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/$tag.err")
  local t0 t1
  t0=$(date +%s%N)
  "$BIN/flowgen" "$MODE" "127.0.0.1:$port" --count "$packets" --flows "$FLOWS" \
    --exporters "$EXPORTERS" --flow-rate "$rate" --template-interval 1 2>"$WORK/$tag.flowgen"
  t1=$(date +%s%N)
  # What the kernel still holds is read before the stop drains the pipeline.
  sleep 1
  # /usr/bin/time passes no signals on: the stop goes to nf2ingest itself.
  kill -TERM "$(pgrep -P "$nf")"
  wait "$nf" || true
  OFFERED=$(field "flows" "$WORK/$tag.flowgen")
  DELIVERED=$(sed -n 's/.*\[SUMMARY\].* delivered=\([0-9]*\).*/\1/p' "$WORK/$tag.err" | tail -1)
  DROPS=$(sed -n 's/.*\[NETFLOW\].* kernel_drops=\([0-9]*\).*/\1/p' "$WORK/$tag.err" | tail -1)
  local user sys
  user=$(field "User time (seconds)" "$WORK/$tag.time")
  sys=$(field "System time (seconds)" "$WORK/$tag.time")
  read -r SEND_S RPS CPU_PER_M < <(awk -v t0="$t0" -v t1="$t1" -v n="$DELIVERED" -v u="$user" \
    -v s="$sys" 'BEGIN { secs = (t1 - t0) / 1e9
      printf "%.2f %.0f %.3f\n", secs, n / secs, (n > 0) ? (u + s) / (n / 1e6) : 0 }')
}

echo "netflow_e2e: $(nproc) cores, version $VERSION, $EXPORTERS exporters, $FLOWS flows/datagram," \
  "${SECONDS_PER_RUN} s x $RUNS runs per rate, build $BIN"
echo "netflow_e2e: net.core.rmem_max=$(sysctl -n net.core.rmem_max 2>/dev/null || echo '?')" \
  "(nf2ingest asks for 32 MiB per socket; as root it gets it)"
start_sink
SUMMARY=""
for rate in "${RATES[@]}"; do
  : >"$WORK/rps"; : >"$WORK/drops"; : >"$WORK/cpum"; : >"$WORK/offered"
  label=$([[ $rate -gt 0 ]] && echo "$rate/s" || echo "flat out")
  for i in $(seq "$RUNS"); do
    run_once "r$rate.$i" "$rate"
    offered_rps=$(awk -v n="$OFFERED" -v s="$SEND_S" 'BEGIN{printf "%.0f", n/s}')
    printf 'rate %-9s run %d: offered %9d records/s (%d in %.2f s)  delivered %9d records/s (%d)  kernel drops %d datagrams  CPU %.3f s/M records\n' \
      "$label" "$i" "$offered_rps" "$OFFERED" "$SEND_S" "$RPS" "$DELIVERED" "$DROPS" "$CPU_PER_M"
    echo "$RPS" >>"$WORK/rps"; echo "$DROPS" >>"$WORK/drops"; echo "$CPU_PER_M" >>"$WORK/cpum"
    echo "$offered_rps" >>"$WORK/offered"
  done
  line="rate $label: median offered $(median <"$WORK/offered") records/s, delivered $(median <"$WORK/rps") records/s, kernel drops $(median <"$WORK/drops") datagrams, CPU $(median <"$WORK/cpum") s/M records"
  echo "$line"
  SUMMARY+="$line"$'\n'
done
echo
printf '%s' "$SUMMARY"
