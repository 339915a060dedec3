#!/usr/bin/env bash
# Kafka source throughput: flowgen flows produced into librdkafka's mock
# cluster (bin/kafka-mock, loopback) as goflow2 JSON or protobuf, consumed by
# one or two nf2ingest members of a fresh consumer group, delivered to
# ingest-sink --discard; and, for comparison, the same flows as a file piped
# into nf2ingest. BATCH_SIZE=5000, FLUSH_INTERVAL=0.1 (a stream has no EOF to
# flush the last partial batches), defaults otherwise.
#
#   bench/kafka.sh [records] [runs]
#
# records (default 300000) over PARTITIONS (default 16) partitions (the mock
# keeps 5 MiB per partition, lz4-compressed: keep records * ~150 bytes under
# PARTITIONS * 5 MiB). A Kafka run is timed from the moment every member has
# its partitions (the mock holds the first join ~3 s) until the sink has every
# record; the file run from start to exit. Each cell prints the median of
# `runs` (default 3) runs in records/s.
#
# Builds nothing: BUILD_DIR (default `build`) must hold bin/{nf2ingest,
# ingest-sink,flowgen,kafka-mock}.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RECORDS=${1:-300000}
RUNS=${2:-3}
PARTITIONS=${PARTITIONS:-16}
[[ "$RECORDS" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] ||
  { echo "kafka: records and runs must be positive integers" >&2; exit 2; }
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -d "$BUILD_DIR/bin" && -d "$ROOT/$BUILD_DIR/bin" ]]; then BUILD_DIR="$ROOT/$BUILD_DIR"; fi
BIN=$(cd "$BUILD_DIR/bin" 2>/dev/null && pwd) || { echo "kafka: no $BUILD_DIR/bin" >&2; exit 2; }
for tool in nf2ingest ingest-sink flowgen kafka-mock; do
  [[ -x "$BIN/$tool" ]] || { echo "kafka: $BIN/$tool missing" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nf2-kafka.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export KEY=kafka-bench-key

median() { sort -g | awk '{v[NR]=$1} END {printf "%.0f\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
now_ns() { date +%s%N; }

# wait_for FILE PATTERN [tenths] — polls until FILE has a line matching PATTERN.
wait_for() {
  for _ in $(seq "${3:-300}"); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "kafka: timed out waiting for '$2' in $1" >&2; tail -5 "$1" >&2; exit 1
}

start_sink() {  # sets URL
  "$BIN/ingest-sink" --port 0 --discard >"$WORK/sink.out" 2>"$WORK/sink.err" &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  wait_for "$WORK/sink.out" "listening on"
  URL=$(sed -n 's/^ingest-sink listening on \(http:[^ ]*\).*/\1/p' "$WORK/sink.out")
}

stop_sink() { kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; }

sink_records() {
  curl -s -H "Authorization: Bearer $KEY" "$URL/v1/metrics?window=300" |
    sed -n 's/.*"records_processed":\([0-9]*\).*/\1/p'
}

# start_mock FORMAT — a fresh cluster with the corpus produced; sets BOOTSTRAP.
start_mock() {
  local flag=
  [[ "$1" == protobuf ]] && flag=--protobuf
  rm -f "$WORK/ctl" && mkfifo "$WORK/ctl"
  "$BIN/kafka-mock" --partitions "$PARTITIONS" $flag <"$WORK/ctl" >"$WORK/mock.out" 2>"$WORK/mock.err" &
  MOCK_PID=$!
  PIDS+=("$MOCK_PID")
  exec 9>"$WORK/ctl"
  wait_for "$WORK/mock.out" BOOTSTRAP
  BOOTSTRAP=$(sed -n 's/^BOOTSTRAP //p' "$WORK/mock.out")
  echo "produce $WORK/flows.jsonl" >&9
  wait_for "$WORK/mock.out" "PRODUCED" 1200
  grep -q "PRODUCED $RECORDS errors=0" "$WORK/mock.out" ||
    { echo "kafka: produce failed: $(cat "$WORK/mock.out")" >&2; exit 1; }
}

stop_mock() { exec 9>&-; wait "$MOCK_PID" 2>/dev/null || true; }

# kafka_run FORMAT MEMBERS TAG — prints records/s.
kafka_run() {
  local format=$1 members=$2 tag=$3 pids=() i t0 t1 n
  start_sink
  for i in $(seq "$members"); do
    env API="$URL" BATCH_SIZE=5000 FLUSH_INTERVAL=0.1 LOG_LEVEL=INFO "$BIN/nf2ingest" --kafka-brokers "$BOOTSTRAP" \
      --kafka-group "$tag" --kafka-format "$format" --stats-interval 0 \
      --kafka-option session.timeout.ms=6000 --kafka-option heartbeat.interval.ms=500 \
      >/dev/null 2>"$WORK/$tag.$i.err" &
    pids+=($!)
  done
  for i in $(seq "$members"); do wait_for "$WORK/$tag.$i.err" "assigned partitions"; done
  t0=$(now_ns)
  for _ in $(seq 6000); do
    n=$(sink_records)
    [[ "${n:-0}" -ge "$VALID" ]] && break
    sleep 0.02
  done
  t1=$(now_ns)
  kill -TERM "${pids[@]}"
  wait "${pids[@]}" 2>/dev/null || true
  stop_sink
  [[ "${n:-0}" -ge "$VALID" ]] || { echo "kafka: $tag got $n of $VALID" >&2; exit 1; }
  awk -v n="$VALID" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f\n", n / ((b - a) / 1e9)}'
}

file_run() {  # prints records/s
  local t0 t1
  start_sink
  t0=$(now_ns)
  env API="$URL" BATCH_SIZE=5000 FLUSH_INTERVAL=0.1 LOG_LEVEL=WARN "$BIN/nf2ingest" --stats-interval 0 \
    <"$WORK/flows.jsonl" >/dev/null 2>"$WORK/file.err"
  t1=$(now_ns)
  stop_sink
  awk -v n="$VALID" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f\n", n / ((b - a) / 1e9)}'
}

"$BIN/flowgen" --count "$RECORDS" --seed 1 --out "$WORK/flows.jsonl" 2>"$WORK/flowgen.err"
VALID=$(sed -n 's/.* valid=\([0-9]*\).*/\1/p' "$WORK/flowgen.err")
echo "kafka: $(nproc) cores, $RECORDS flows ($VALID deliverable), $PARTITIONS partitions, $RUNS runs"

: >"$WORK/file.rps"
for r in $(seq "$RUNS"); do file_run >>"$WORK/file.rps"; done
echo "file (stdin) -> API:            $(median <"$WORK/file.rps") records/s  [$(paste -sd' ' "$WORK/file.rps")]"
for format in json protobuf; do
  start_mock "$format"
  for members in 1 2; do
    : >"$WORK/k.rps"
    for r in $(seq "$RUNS"); do kafka_run "$format" "$members" "g-$format-$members-$r" >>"$WORK/k.rps"; done
    printf 'kafka %-8s %d member(s) -> API: %s records/s  [%s]\n' "$format" "$members" \
      "$(median <"$WORK/k.rps")" "$(paste -sd' ' "$WORK/k.rps")"
  done
  stop_mock
done
