#!/usr/bin/env bash
# The main job end to end on this machine: start ingest-sink (a reference
# telemetry API), stream flowgen's goflow2 traffic through nf2ingest with the
# default settings, then print the sink's /v1/metrics.
#   usage: scripts/demo.sh [BUILD_DIR] [RECORDS]
set -euo pipefail
build=${1:-build}
count=${2:-200000}
bin="$build/bin"
work=$(mktemp -d)
trap 'kill "$sink_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin/ingest-sink" --port 0 --out "$work/received.jsonl" >"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
# The sink prints its address once it listens; wait for that line (bounded).
for _ in $(seq 1 100); do
  grep -q listening "$work/sink.out" 2>/dev/null && break
  sleep 0.05
done
api=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/sink.out")
[ -n "$api" ] || { echo "demo: ingest-sink did not start" >&2; cat "$work/sink.err" >&2; exit 1; }

echo "demo: ingest-sink at $api; sending $count goflow2 lines (1% junk, with container-log prefixes)"
start=$(date +%s.%N)
"$bin/flowgen" --count "$count" --junk-ratio 0.01 --docker-prefix --seed 42 \
  | API="$api" LOG_LEVEL=WARN "$bin/nf2ingest"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$count" 'BEGIN{printf "demo: nf2ingest finished in %.2f s (%.0f lines/s)\n", e-s, n/(e-s)}'
echo "demo: records the sink wrote to disk: $(wc -l <"$work/received.jsonl")"
echo "demo: GET $api/v1/metrics"
curl -s -H "Authorization: Bearer ${KEY:-TEST_KEY}" "$api/v1/metrics?window=300"
echo
