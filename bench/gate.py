#!/usr/bin/env python3
"""Throughput gate: every stage's throughput as a ratio to memchr line splitting.

Runs bench_stages and bench_pipeline briefly and compares, for every benchmark,
its counter ratio_to_memchr (its records per CPU second over the records per
CPU second of memchr line splitting, measured on the same thread right after
each iteration: see PairedBaseline in bench_support.h) with the ratio recorded
in bench/baseline.json. A median ratio more than `tolerance` (20%) below the
recorded one fails the gate (exit 1). Ratios, not absolute times: the
machines are shared and noisy, and a neighbour slows the baseline and the
stage alike, though not always equally: on this shared VM the host's other
tenants have moved single ratios by up to -39% for an hour with nothing
changed. So --quick (CI) fails only below `quick_tolerance` (50%), which a
gross regression crosses (a record serialized twice: -61%); the 20% check is
for a full run on a quiet machine.

A benchmark that fails is measured again (5 fresh repetitions, judged on
their median alone) up to CONFIRMATION_ROUNDS times, so a burst of noise from
a neighbour has to outlast every round to fail the gate; a real regression
fails every round.

Usage: bench/gate.py [--quick] [--build-dir DIR] [--baseline FILE]
                     [--update [--runs N]] [--save DIR] [--no-retry]
                     [--tolerance F]
Standard library only.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINE_NAME = "BM_SplitLines_memchr"
CONFIRMATION_ROUNDS = 2

# Every benchmark the gate judges (regexes for --benchmark_filter). The
# two-thread pipeline is the largest that fits two cores; the N-thread run is
# for the README.
STAGE_FILTER = (
    "^(BM_SplitLines_memchr|BM_ParseChunk/.*|BM_MapSerialize.*|BM_BatchEncode/.*"
    "|BM_QueueHandoff.*|BM_FusedCeiling.*)$"
)
PIPELINE_FILTER = "^BM_Pipeline/threads:(1|2)/.*$"

# ~1.0-1.3 when its two threads sleep on futexes, ~5-6 when they run side by
# side and never sleep; which one a run gets depends on the neighbours.
BIMODAL = {"BM_QueueHandoff/real_time"}

# The same corpus in both modes, so one baseline.json serves both: 1024 lines
# (1 MB, four 256 KiB chunks) keep the stage benchmarks in cache, where the
# memory traffic of the neighbours matters least; 50 000 lines for the
# pipeline.
CORPUS_ENV = {"NF2_BENCH_RECORDS": "1024", "NF2_BENCH_PIPELINE_RECORDS": "50000"}


def find_binary(build_dir, name):
    for cand in (build_dir, os.path.join(ROOT, build_dir)):
        path = os.path.join(cand, "bin", name)
        if os.access(path, os.X_OK):
            return path
    sys.exit(f"gate: {name} not found under {build_dir}/bin (build the `benchmarks` target)")


def build_config(build_dir):
    """CMAKE_BUILD_TYPE and sanitizer options of the build, from CMakeCache.txt."""
    for cand in (build_dir, os.path.join(ROOT, build_dir)):
        path = os.path.join(cand, "CMakeCache.txt")
        if os.path.exists(path):
            conf = {}
            with open(path) as f:
                for line in f:
                    m = re.match(r"^(CMAKE_BUILD_TYPE|NF2_SANITIZE|NF2_TSAN|NF2_FUZZ):\w+=(.*)$", line)
                    if m:
                        conf[m.group(1)] = m.group(2).strip()
            return conf
    return {}


def check_build(args, baseline_build_type):
    conf = build_config(args.build_dir)
    if any(conf.get(k, "OFF").upper() in ("ON", "TRUE", "1") for k in
           ("NF2_SANITIZE", "NF2_TSAN", "NF2_FUZZ")):
        sys.exit("gate: this is a sanitizer/fuzz build; its throughput means nothing (use Release)")
    bt = conf.get("CMAKE_BUILD_TYPE")
    if bt and baseline_build_type and bt != baseline_build_type:
        print(f"gate: warning: build type {bt}, but the baseline was measured with "
              f"{baseline_build_type}", file=sys.stderr)
    return bt


def run_benchmark(binary, bench_filter, min_time, repetitions, save_dir=None):
    env = dict(os.environ)
    for k, v in CORPUS_ENV.items():
        env.setdefault(k, v)
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [
        binary,
        f"--benchmark_filter={bench_filter}",
        f"--benchmark_min_time={min_time}",
        f"--benchmark_repetitions={repetitions}",
        "--benchmark_enable_random_interleaving=true",
        f"--benchmark_out={out}",
        "--benchmark_out_format=json",
    ]
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            sys.exit(f"gate: {os.path.basename(binary)} failed (exit {proc.returncode})")
        with open(out) as f:
            report = json.load(f)
        if save_dir:
            os.makedirs(save_dir, exist_ok=True)
            name = f"{os.path.basename(binary)}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.json"
            with open(os.path.join(save_dir, name), "w") as f:
                json.dump(report, f, indent=1)
        return report
    finally:
        os.unlink(out)


def samples(report, into=None):
    """Adds each repetition's ratio_to_memchr and items_per_second, by name."""
    into = {} if into is None else into
    for b in report.get("benchmarks", []):
        if b.get("run_type") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            sys.exit(f"gate: {name} failed: {b.get('error_message')}")
        s = into.setdefault(name, {"ratio": [], "rate": []})
        s["rate"].append(float(b["items_per_second"]))
        if name != BASELINE_NAME:
            if "ratio_to_memchr" not in b:
                sys.exit(f"gate: {name} reports no ratio_to_memchr")
            s["ratio"].append(float(b["ratio_to_memchr"]))
    return into


def measure(args, names=None, reps=None):
    """Runs the gate's benchmarks (or only `names`) and returns their samples."""
    if args.quick:
        min_time, pipeline_min_time, default_reps = "0.2", "0.2", 3
    else:
        min_time, pipeline_min_time, default_reps = "1.0", "1.0", 5
    reps = reps or default_reps
    stage_filter, pipeline_filter = STAGE_FILTER, PIPELINE_FILTER
    if names is not None:
        exact = lambda ns: "^(" + "|".join(re.escape(n) for n in ns) + ")$" if ns else None
        stage_filter = exact([n for n in names if not n.startswith("BM_Pipeline")])
        pipeline_filter = exact([n for n in names if n.startswith("BM_Pipeline")])
    into = {}
    for binary, flt, mt in (("bench_stages", stage_filter, min_time),
                            ("bench_pipeline", pipeline_filter, pipeline_min_time)):
        if flt:
            report = run_benchmark(find_binary(args.build_dir, binary), flt, mt, reps, args.save)
            samples(report, into)
    return into


def judge(name, want, s, tol):
    """(verdict, failed) for one benchmark."""
    if want is None:
        return "new (not in baseline)", False
    if s is None or not s["ratio"]:
        return "FAIL (did not run)", True
    got = statistics.median(s["ratio"])
    change = f"{(got / want - 1) * 100:+.0f}%"
    if got < want * (1.0 - tol):
        return f"FAIL ({change})", True
    if got > want * (1.0 + tol):
        return f"ok, faster ({change}; consider --update)", False
    return f"ok ({change})", False


def update(args, runs):
    names = sorted(set().union(*runs))
    ratios, rates = {}, {}
    for n in names:
        per_run = [r[n] for r in runs if n in r]
        rates[n] = round(statistics.median(statistics.median(s["rate"]) for s in per_run))
        if n != BASELINE_NAME:
            # A bimodal benchmark is recorded at its low mode (the lowest
            # sample), so the other mode can never fail it.
            pick = min if n in BIMODAL else statistics.median
            ratios[n] = round(pick(pick(s["ratio"]) for s in per_run), 6)
    old = {}
    if os.path.exists(args.baseline):
        with open(args.baseline) as f:
            old = json.load(f)
    doc = {
        "comment": "ratio_to_memchr per benchmark (records per CPU second over memchr line "
                   "splitting's, paired on the same thread), median of `runs` gate runs on "
                   "the machine below. bench/gate.sh fails when a ratio falls more than "
                   "`tolerance` below (`quick_tolerance` with --quick, as in CI). "
                   "Re-record with: bench/gate.sh --update --runs 5",
        "baseline": BASELINE_NAME,
        "tolerance": old.get("tolerance", 0.20),
        "quick_tolerance": old.get("quick_tolerance", 0.50),
        "ratios": ratios,
        "measured": {
            "host": os.uname().nodename,
            "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d"),
            "mode": "quick" if args.quick else "full",
            "build_type": getattr(args, "build_type", None),
            "runs": len(runs),
            "corpus": CORPUS_ENV,
            "records_per_second": rates,
        },
    }
    with open(args.baseline, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"gate: wrote {len(ratios)} ratios ({len(runs)} runs) to {args.baseline}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="0.2 s per benchmark, 3 repetitions (CI; under 2 min on 2 cores)")
    ap.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", "build"))
    ap.add_argument("--baseline", default=os.path.join(HERE, "baseline.json"))
    ap.add_argument("--update", action="store_true",
                    help="record the measured ratios (median over --runs) as the baseline")
    ap.add_argument("--runs", type=int, default=1, help="with --update: gate runs to take")
    ap.add_argument("--save", metavar="DIR", help="keep the raw Google Benchmark JSON here")
    ap.add_argument("--tolerance", type=float,
                    help="fail below (1 - this) x baseline (default: baseline.json's "
                         "quick_tolerance with --quick, else its tolerance)")
    ap.add_argument("--no-retry", action="store_true",
                    help="fail on the first measurement (no confirmation run)")
    args = ap.parse_args()
    started = time.monotonic()

    if args.update:
        args.build_type = check_build(args, None)
        update(args, [measure(args) for _ in range(max(1, args.runs))])
        return 0

    with open(args.baseline) as f:
        baseline = json.load(f)
    check_build(args, baseline.get("measured", {}).get("build_type"))
    tol = args.tolerance
    if tol is None:
        key = "quick_tolerance" if args.quick else "tolerance"
        tol = float(baseline.get(key, baseline.get("tolerance", 0.20)))
    expected = baseline["ratios"]
    got = measure(args)
    names = sorted((set(expected) | set(got)) - {BASELINE_NAME})
    failing = [n for n in names if judge(n, expected.get(n), got.get(n), tol)[1]]
    retried = set()
    for _ in range(0 if args.no_retry else CONFIRMATION_ROUNDS):
        if not failing:
            break
        print(f"gate: {len(failing)} below the baseline, measuring them again: "
              + ", ".join(failing), flush=True)
        fresh = measure(args, failing, reps=5)
        for n in failing:
            got[n] = fresh.get(n)
        retried |= set(failing)
        failing = [n for n in failing if judge(n, expected.get(n), got.get(n), tol)[1]]

    base_rate = statistics.median(got[BASELINE_NAME]["rate"]) if BASELINE_NAME in got else 0
    print(f"{BASELINE_NAME}: {base_rate / 1e6:.1f} M records/s; a ratio more than "
          f"{tol * 100:.0f}% below its baseline fails")
    w = max(len(n) for n in names)
    print(f"{'benchmark':<{w}}  {'baseline':>9}  {'measured':>9}  {'M rec/s':>8}  verdict")
    failed = False
    for n in names:
        verdict, bad = judge(n, expected.get(n), got.get(n), tol)
        failed |= bad
        s = got.get(n)
        measured = f"{statistics.median(s['ratio']):9.5f}" if s and s["ratio"] else f"{'-':>9}"
        rate = f"{statistics.median(s['rate']) / 1e6:8.3f}" if s else f"{'-':>8}"
        want = f"{expected[n]:9.5f}" if n in expected else f"{'-':>9}"
        if n in retried:
            verdict += f" [re-measured, {len(s['ratio'])} samples]"
        print(f"{n:<{w}}  {want}  {measured}  {rate}  {verdict}")
    print(f"gate: {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
