#!/usr/bin/env bash
# End-to-end throughput: goflow2 JSON file → nf2ingest → ingest-sink --discard
# on loopback, BATCH_SIZE=5000, gzip on (default threshold), LOG_LEVEL=WARN.
#
#   bench/e2e.sh [--seed-compare] [records] [runs]
#
# records (default 1000000) flowgen lines are piped (`cat FILE |`) through
# nf2ingest `runs` times (default 3) under /usr/bin/time -v; every run prints
# records/s (wall), CPU seconds per million records (user + sys) and peak RSS,
# then the medians. Each run also times the fused ceiling loop of issue 4
# (bench_fused: simdjson + hand serialization + gzip L1 with nf2ingest's default
# compressor over 5000-record bodies, one loop per core, no queues, no HTTP)
# over the same file, and the ratio nf2ingest / fused is printed.
#
# --seed-compare also runs bench/seed_mapper.py (seed-style Python: json.loads,
# requests, gzip over 50 KB) and nf2ingest over SEED_RECORDS (default 200000)
# lines against the same sink, both at their defaults (BATCH_SIZE=200), and
# prints the speed-up in records/s.
#
# Builds nothing. BUILD_DIR (default `build`, relative to the current directory
# or the project root) must hold bin/{nf2ingest,ingest-sink,flowgen,bench_fused}:
#   cmake --build build --target benchmarks
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

SEED_COMPARE=0
POSITIONAL=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seed-compare) SEED_COMPARE=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*) echo "e2e: unknown option $1" >&2; exit 2 ;;
    *) POSITIONAL+=("$1") ;;
  esac
  shift
done
RECORDS=${POSITIONAL[0]:-1000000}
RUNS=${POSITIONAL[1]:-3}
SEED_RECORDS=${SEED_RECORDS:-200000}
[[ "$RECORDS" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ && "$SEED_RECORDS" =~ ^[1-9][0-9]*$ ]] ||
  { echo "e2e: records, runs and SEED_RECORDS must be positive integers" >&2; exit 2; }

BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -d "$BUILD_DIR/bin" && -d "$ROOT/$BUILD_DIR/bin" ]]; then BUILD_DIR="$ROOT/$BUILD_DIR"; fi
BIN=$(cd "$BUILD_DIR/bin" 2>/dev/null && pwd) || { echo "e2e: no $BUILD_DIR/bin" >&2; exit 2; }
for tool in nf2ingest ingest-sink flowgen bench_fused; do
  [[ -x "$BIN/$tool" ]] || { echo "e2e: $BIN/$tool missing (build the 'benchmarks' target)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "e2e: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nf2-e2e.XXXXXX")
SINK_PID=
cleanup() {
  if [[ -n "$SINK_PID" ]]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export KEY=e2e-bench-key  # the sink and both mappers read it

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) exit 1; printf "%.10g\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.*$1[=:] *\([0-9.]*\).*/\1/p" "$2" | tail -1; }

gen_corpus() {  # records seed file
  "$BIN/flowgen" --count "$1" --seed "$2" --out "$3" 2>/dev/null
  cat "$3" >/dev/null  # into the page cache
}

start_sink() {
  "$BIN/ingest-sink" --port 0 --discard >"$WORK/sink.out" 2>"$WORK/sink.err" &
  SINK_PID=$!
  for _ in $(seq 100); do
    URL=$(sed -n 's/^ingest-sink listening on \(http:[^ ]*\).*/\1/p' "$WORK/sink.out")
    [[ -n "$URL" ]] && return 0
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "e2e: ingest-sink did not start:" >&2; cat "$WORK/sink.err" >&2; exit 1
}

# run_mapper TAG EXPECTED CORPUS CMD... — pipes CORPUS through CMD under
# /usr/bin/time -v; sets RPS, CPU_PER_M, RSS_MIB, SECS, CPU.
run_mapper() {
  local tag=$1 expected=$2 corpus=$3
  shift 3
  local t0 t1 rc
  t0=$(date +%s%N)
  set +e
  cat "$corpus" | /usr/bin/time -v -o "$WORK/$tag.time" "$@" >/dev/null 2>"$WORK/$tag.err"
  rc=$?
  set -e
  t1=$(date +%s%N)
  local delivered
  delivered=$(sed -n 's/.*\[SUMMARY\].* delivered=\([0-9]*\).*/\1/p' "$WORK/$tag.err" | tail -1)
  if [[ $rc -ne 0 || "$delivered" != "$expected" ]]; then
    echo "e2e: $tag: exit $rc, delivered '${delivered}' of $expected records; its stderr:" >&2
    tail -20 "$WORK/$tag.err" >&2
    exit 1
  fi
  local user sys rss_kb
  user=$(field "User time (seconds)" "$WORK/$tag.time")
  sys=$(field "System time (seconds)" "$WORK/$tag.time")
  rss_kb=$(field "Maximum resident set size (kbytes)" "$WORK/$tag.time")
  read -r SECS RPS CPU CPU_PER_M RSS_MIB < <(awk -v t0="$t0" -v t1="$t1" -v n="$expected" \
    -v u="$user" -v s="$sys" -v r="$rss_kb" 'BEGIN {
      secs = (t1 - t0) / 1e9; cpu = u + s
      printf "%.3f %.0f %.2f %.3f %.1f\n", secs, n / secs, cpu, cpu / (n / 1e6), r / 1024 }')
}

run_fused() {  # corpus [threads] — sets FUSED_RPS
  local out
  out=$("$BIN/bench_fused" ${2:+--threads "$2"} "$1")
  FUSED_RPS=$(sed -n 's/.*records_per_s=\([0-9]*\).*/\1/p' <<<"$out")
}

echo "e2e: $(nproc) cores, $RECORDS records x $RUNS runs, build $BIN"
gen_corpus "$RECORDS" 1 "$WORK/corpus.jsonl"
echo "e2e: corpus $(du -m "$WORK/corpus.jsonl" | cut -f1) MB ($(awk -v b="$(stat -c %s "$WORK/corpus.jsonl")" -v n="$RECORDS" 'BEGIN{printf "%.0f", b/n}') bytes/line)"
start_sink
echo "e2e: sink $URL (--discard)"
echo

: >"$WORK/rps"; : >"$WORK/cpum"; : >"$WORK/rss"; : >"$WORK/fused"; : >"$WORK/ratio"
for i in $(seq "$RUNS"); do
  run_mapper "nf2.$i" "$RECORDS" "$WORK/corpus.jsonl" \
    env API="$URL" BATCH_SIZE=5000 LOG_LEVEL=WARN "$BIN/nf2ingest"
  run_fused "$WORK/corpus.jsonl"
  ratio=$(awk -v a="$RPS" -v b="$FUSED_RPS" 'BEGIN{printf "%.3f", a/b}')
  printf 'run %d: nf2ingest %9d records/s  %.2f s wall  CPU %5.2f s/M records  peak RSS %6.1f MiB | fused ceiling %9d records/s | ratio %s\n' \
    "$i" "$RPS" "$SECS" "$CPU_PER_M" "$RSS_MIB" "$FUSED_RPS" "$ratio"
  echo "$RPS" >>"$WORK/rps"; echo "$CPU_PER_M" >>"$WORK/cpum"; echo "$RSS_MIB" >>"$WORK/rss"
  echo "$FUSED_RPS" >>"$WORK/fused"; echo "$ratio" >>"$WORK/ratio"
done
run_fused "$WORK/corpus.jsonl" 1
FUSED1=$FUSED_RPS

M_RPS=$(median <"$WORK/rps"); M_CPU=$(median <"$WORK/cpum"); M_RSS=$(median <"$WORK/rss")
M_FUSED=$(median <"$WORK/fused"); M_RATIO=$(median <"$WORK/ratio")
echo
echo "median of $RUNS: nf2ingest $M_RPS records/s, $M_CPU CPU s per million records, peak RSS $M_RSS MiB"
echo "median of $RUNS: fused ceiling ($(nproc) threads) $M_FUSED records/s (one core: $FUSED1 records/s)"
echo "median of $RUNS: nf2ingest / fused = $M_RATIO (goal >= 0.5)"
RESULT="E2E_RESULT records=$RECORDS runs=$RUNS rps=$M_RPS cpu_s_per_m=$M_CPU rss_mib=$M_RSS fused_rps=$M_FUSED fused1_rps=$FUSED1 ratio=$M_RATIO"

if [[ $SEED_COMPARE -eq 1 ]]; then
  echo
  echo "seed comparison: $SEED_RECORDS records, both mappers at their defaults (BATCH_SIZE=200, gzip over 50 KB), same sink"
  gen_corpus "$SEED_RECORDS" 2 "$WORK/seed.jsonl"
  : >"$WORK/nf2d"
  for i in $(seq "$RUNS"); do
    run_mapper "nf2d.$i" "$SEED_RECORDS" "$WORK/seed.jsonl" env API="$URL" LOG_LEVEL=WARN "$BIN/nf2ingest"
    printf 'run %d: nf2ingest (defaults) %9d records/s  CPU %5.2f s/M records  peak RSS %6.1f MiB\n' \
      "$i" "$RPS" "$CPU_PER_M" "$RSS_MIB"
    echo "$RPS" >>"$WORK/nf2d"
  done
  NF2D=$(median <"$WORK/nf2d")
  run_mapper seed "$SEED_RECORDS" "$WORK/seed.jsonl" \
    env API="$URL" LOG_LEVEL=WARN python3 "$HERE/seed_mapper.py"
  printf 'seed_mapper.py:             %9d records/s  CPU %5.2f s/M records  peak RSS %6.1f MiB (%.1f s)\n' \
    "$RPS" "$CPU_PER_M" "$RSS_MIB" "$SECS"
  SPEEDUP=$(awk -v a="$NF2D" -v b="$RPS" 'BEGIN{printf "%.1f", a/b}')
  echo "speed-up over the seed mapper: ${SPEEDUP}x (nf2ingest median $NF2D vs $RPS records/s; goal >= 20x)"
  RESULT="$RESULT seed_rps=$RPS nf2_default_rps=$NF2D speedup=$SPEEDUP"
fi
echo
echo "$RESULT"
