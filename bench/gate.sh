#!/usr/bin/env bash
# The throughput gate (see gate.py and README.md). Builds nothing: build the
# `benchmarks` target first. BUILD_DIR (default `build`) holds bin/bench_stages.
#   bench/gate.sh --quick        # CI: < 2 min on 2 cores, exit 1 on a gross regression
#   bench/gate.sh                # longer runs
#   bench/gate.sh --update --runs 3   # re-record bench/baseline.json on this machine
set -euo pipefail
exec python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gate.py" "$@"
