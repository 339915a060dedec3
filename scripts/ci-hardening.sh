#!/usr/bin/env bash
# Hardening checks, run by .ci/run after the README's test command:
#   1. ASan + UBSan build (gcc): the unit and integration tests.
#   2. TSan build (gcc): the concurrency tests (ctest label `tsan`:
#      pipeline, ack tracker, HTTP sender, UDP source, NetFlow decoder state), a few times each.
#   3. libFuzzer build (clang-14, ASan + UBSan): every target in tests/fuzz,
#      run for a short while on a copy of its seed corpus (tests/fuzz/corpus/).
# Any failure, sanitizer report or fuzzer finding fails the script. Each build
# compiles only the targets its step runs. The builds are CMakePresets.json's
# asan, tsan and fuzz configure presets (`cmake --preset asan` reproduces one
# by hand, in build-asan).
#
# Environment (all optional):
#   NF2_HARDENING_BUILD_PREFIX  build dirs are <prefix>asan, <prefix>tsan and
#                               <prefix>fuzz (default: build-, in the project
#                               root, which .gitignore covers; the presets'
#                               own binaryDir); given to `cmake --preset` as -B
#   NF2_HARDENING_STEPS         which steps to run (default: "asan tsan fuzz")
#   NF2_FUZZ_SECONDS            seconds per fuzz target (default: 30)
#   NF2_TSAN_REPEAT             runs of each TSan test (default: 3)
#   NF2_JOBS                    parallel compile and test jobs (default: 2)
#
# To reproduce a fuzzer finding:
#   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=<prefix>fuzz/ubsan.supp \
#     <prefix>fuzz/bin/<target> <artifact file>
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

prefix=${NF2_HARDENING_BUILD_PREFIX:-$root/build-}
steps=${NF2_HARDENING_STEPS:-asan tsan fuzz}
fuzz_seconds=${NF2_FUZZ_SECONDS:-30}
tsan_repeat=${NF2_TSAN_REPEAT:-3}
jobs=${NF2_JOBS:-2}

asan_dir=${prefix}asan
tsan_dir=${prefix}tsan
fuzz_dir=${prefix}fuzz

timings=()
step_name=""
step_start=0

header() {
  step_name=$1
  step_start=$(date +%s)
  echo
  echo "======================================================================"
  echo "== ci-hardening: $1"
  echo "======================================================================"
}

done_step() {
  local took=$(($(date +%s) - step_start))
  timings+=("$(printf '%-44s %5ss' "$step_name" "$took")")
  echo "== ci-hardening: $step_name: OK (${took}s)"
  step_name=""
}

report() {
  local rc=$?
  if [ -n "$step_name" ]; then
    timings+=("$(printf '%-44s %5ss  FAILED' "$step_name" "$(($(date +%s) - step_start))")")
  fi
  echo
  echo "== ci-hardening: timings"
  local t
  for t in "${timings[@]}"; do echo "   $t"; done
  if [ "$rc" -ne 0 ]; then
    echo "== ci-hardening: FAILED${step_name:+ in: $step_name}" >&2
  else
    echo "== ci-hardening: all steps passed"
  fi
}
trap report EXIT

want() { [[ " $steps " == *" $1 "* ]]; }

# Suppressions: for findings in third-party code only, each with its reason.
write_suppressions() {
  local dir=$1
  mkdir -p "$dir"
  # UBSan. rapidjson 1.1.0 (Debian's rapidjson-dev) computes `stackTop_ +
  # n` on its still-null internal stack before the first allocation
  # (internal/stack.h, Stack::Reserve): clang reports "applying non-zero
  # offset to null pointer" on the first parse (gcc does not check this).
  # Fixed upstream after 1.1.0 (commit 16872af, Tencent/rapidjson#1724),
  # never released. Only pointer-overflow, only in rapidjson's own headers.
  cat >"$dir/ubsan.supp" <<'EOF'
pointer-overflow:/usr/include/rapidjson/*
EOF
  # TSan.
  # - moodycamel::ConcurrentQueue (Debian's libconcurrentqueue-dev, under
  #   pipeline/bounded_queue.h) recycles a slot after a dequeue and orders the
  #   next enqueue into it with std::atomic_thread_fence, which TSan does not
  #   model (gcc warns: -Wtsan). It then reports the producer's move into the
  #   slot racing with the consumer's earlier move out; upstream calls it a
  #   false positive (cameron314/concurrentqueue#49, #62, #254). Only frames
  #   of the queue's internal producer are matched: races on the data a queue
  #   item points to (our hand-offs) are still reported.
  # - libcpp-httplib.so (Debian's prebuilt cpp-httplib, not instrumented) is
  #   used by ingest-sink, the test server that sender_test spawns; memcpy /
  #   memcmp interceptors called from inside it race with its own
  #   uninstrumented synchronisation. Ignored only for calls made from that
  #   library; the sink's own code stays checked.
  cat >"$dir/tsan.supp" <<'EOF'
race:moodycamel::ConcurrentQueue*::ImplicitProducer::
called_from_lib:libcpp-httplib.so
EOF
}

symbolizer=""
for s in llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer; do
  if command -v "$s" >/dev/null 2>&1; then
    symbolizer=$(command -v "$s")
    break
  fi
done

# --- 1. ASan + UBSan ---------------------------------------------------------
if want asan; then
  header "ASan+UBSan: configure and build"
  cmake --preset asan -B "$asan_dir" >/dev/null
  write_suppressions "$asan_dir"
  # With benchmarks off, every target is a test or a program the integration
  # tests run: build them all.
  cmake --build "$asan_dir" -j"$jobs"
  done_step

  header "ASan+UBSan: unit and integration tests"
  ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$asan_dir/ubsan.supp" \
    ctest --test-dir "$asan_dir" -L 'unit|integration' --output-on-failure -j"$jobs" \
    --no-tests=error
  done_step
fi

# --- 2. TSan -----------------------------------------------------------------
if want tsan; then
  header "TSan: configure and build"
  cmake --preset tsan -B "$tsan_dir" >/dev/null
  write_suppressions "$tsan_dir"
  # sender_test depends on ingest-sink (the server it runs), built too.
  cmake --build "$tsan_dir" -j"$jobs" --target pipeline_test ack_tracker_test sender_test \
    udp_source_test netflow_state_test
  done_step

  header "TSan: the tests labelled tsan (x$tsan_repeat)"
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$tsan_dir/tsan.supp" \
    ctest --test-dir "$tsan_dir" -L tsan --output-on-failure -j"$jobs" --no-tests=error \
    --repeat until-fail:"$tsan_repeat"
  done_step
fi

# --- 3. libFuzzer ------------------------------------------------------------
if want fuzz; then
  header "fuzz: configure and build (clang-14)"
  cmake --preset fuzz -B "$fuzz_dir" >/dev/null
  write_suppressions "$fuzz_dir"
  cmake --build "$fuzz_dir" -j"$jobs" --target fuzzers
  done_step

  header "fuzz: ${fuzz_seconds}s per target"
  targets=()
  for bin in "$fuzz_dir"/bin/*_fuzz; do
    [ -x "$bin" ] && targets+=("$bin")
  done
  ((${#targets[@]})) || { echo "ci-hardening: no fuzz targets were built" >&2; exit 1; }
  run_dir=$(mktemp -d /tmp/nf2-fuzz.XXXXXX)
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$fuzz_dir/ubsan.supp"
  export ASAN_OPTIONS="detect_leaks=1"
  if [ -n "$symbolizer" ]; then export ASAN_SYMBOLIZER_PATH=$symbolizer; fi
  # The targets run side by side (one per core): each gets a copy of its seed
  # corpus, so the tree is never modified.
  pids=()
  for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    base=${name%_fuzz}
    seeds=""
    for c in "tests/fuzz/corpus/$base" "tests/fuzz/corpus/${base%_reader}"; do
      if [ -d "$c" ]; then seeds=$c; break; fi
    done
    mkdir -p "$run_dir/$name/corpus" "$run_dir/$name/artifacts"
    if [ -n "$seeds" ]; then
      cp -r "$seeds"/. "$run_dir/$name/corpus/"
    fi
    echo "fuzz: $name, seeds from ${seeds:-(none)} ($(ls "$run_dir/$name/corpus" | wc -l) files)"
    "$bin" -max_total_time="$fuzz_seconds" -timeout=25 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$run_dir/$name/artifacts/" \
      "$run_dir/$name/corpus" >"$run_dir/$name/log" 2>&1 &
    pids+=("$!")
  done
  failed=0
  for i in "${!targets[@]}"; do
    name=$(basename "${targets[$i]}")
    rc=0
    wait "${pids[$i]}" || rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run_dir/$name/log" | grep -o '[0-9]*$' || true)
    if [ "$rc" -ne 0 ] || compgen -G "$run_dir/$name/artifacts/*" >/dev/null; then
      failed=1
      echo "fuzz: $name FAILED (exit $rc); its log ends with:" >&2
      tail -n 60 "$run_dir/$name/log" >&2
      for a in "$run_dir/$name/artifacts"/*; do
        [ -f "$a" ] || continue
        echo "fuzz: $name: failing input $a (base64):" >&2
        head -c 4096 "$a" | base64 >&2
      done
    else
      echo "fuzz: $name: OK, ${runs:-?} inputs, no findings"
    fi
  done
  if [ "$failed" -ne 0 ]; then
    echo "fuzz: artifacts and logs kept in $run_dir" >&2
    exit 1
  fi
  rm -rf "$run_dir"
  done_step
fi
