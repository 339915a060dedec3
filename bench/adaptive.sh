#!/usr/bin/env bash
# MAX_IN_FLIGHT=auto against an API that serves 8 requests at once, 50 ms
# each (ingest-sink --capacity 8 --latency-ms 50), compared in the same run
# with fixed limits 1, 4, 8, 16, 64; then auto again while the API's
# capacity drops to 4 and comes back to 12 (--capacity-schedule).
# Prints one line per setting: records/s delivered and the share of 503s.
#
# usage: bench/adaptive.sh [BUILD_DIR]   (default: build)
set -euo pipefail
BIN=${1:-build}/bin
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
RATE=${RATE:-40000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# Starts a sink with the given extra flags; sets SINK_PID and SINK_URL.
start_sink() {
  "$BIN/ingest-sink" --port 0 --discard --retry-after 0 --latency-ms 50 "$@" \
    >"$work/sink.out" 2>"$work/sink.err" &
  SINK_PID=$!
  for _ in $(seq 100); do
    if [ -s "$work/sink.out" ]; then break; fi
    sleep 0.1
  done
  SINK_URL="http://127.0.0.1:$(head -1 "$work/sink.out" | sed 's/.*://')"
}

# One run of nf2ingest in load-test mode; prints "records/s 503-share".
measure() {
  local mif=$1
  shift
  start_sink "$@"
  local t0 t1
  t0=$(date +%s.%N)
  API=$SINK_URL KEY=TEST_KEY MAX_IN_FLIGHT=$mif DRAIN_TIMEOUT=5 STATS_INTERVAL=1 \
    RETRY_INITIAL=0.05 RETRY_MAX=0.5 BATCH_SIZE=100 \
    "$BIN/nf2ingest" --generate="$RATE" --duration="$SECONDS_PER_RUN" \
    2>"$work/nf2ingest.$mif.log" || true
  t1=$(date +%s.%N)
  curl -s -H "Authorization: Bearer TEST_KEY" "$SINK_URL/v1/metrics?window=3600" >"$work/m.json"
  kill "$SINK_PID"
  wait "$SINK_PID" 2>/dev/null || true
  python3 - "$work/m.json" "$t0" "$t1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
codes = m.get("status_counts", {})
total = sum(codes.values()) or 1
elapsed = float(sys.argv[3]) - float(sys.argv[2])
print(f"{m.get('records_processed', 0) / elapsed:10.0f} {codes.get('503', 0) / total:7.2%}")
PY
}

echo "capacity 8, 50 ms per request, ${SECONDS_PER_RUN}s at ${RATE} records/s offered"
printf '%-14s %10s %7s\n' MAX_IN_FLIGHT records/s 503s
for mif in 1 4 8 16 64 auto; do
  printf '%-14s %s\n' "$mif" "$(measure "$mif" --capacity 8)"
done
printf '%-14s %s\n' "auto 8>4>12" \
  "$(measure auto --capacity 8 --capacity-schedule "4@4,12@7")"
echo "limit over time in the last run ([LIVE] in_flight=current/limit):"
grep -o 'in_flight=[0-9]*/[0-9]*' "$work/nf2ingest.auto.log" | tr '\n' ' '
echo
