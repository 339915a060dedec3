#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever nf2ingest needs to build, test
# and benchmark that this machine does not have yet. Idempotent; run as root.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git ca-certificates curl time
  libcurl4-openssl-dev zlib1g-dev libdeflate-dev libisal-dev rapidjson-dev libsimdjson-dev
  libabsl-dev libconcurrentqueue-dev libreaderwriterqueue-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The Kafka input (librdkafka's consumer; its mock cluster runs the tests)
  # and kcat to look at a topic by hand.
  librdkafka-dev kcat
  # bench/bench_flow_message.cc: libprotobuf, the decoder the hand-written one is measured against.
  libprotobuf-dev protobuf-compiler
  python3 python3-requests nginx-light openssl
  # tests/integration/report_html_test.cc renders the load-test report headless.
  chromium
  # scripts/ci-hardening.sh: libFuzzer targets (clang + its runtimes) and
  # llvm-symbolizer for readable sanitizer stack traces.
  clang-14 libclang-rt-14-dev llvm-14
  # scripts/lint.sh: the format check and clang-tidy (run-clang-tidy-14 comes
  # with clang-tidy-14).
  clang-format-14 clang-tidy-14
  # tests/integration/netflow_exporters_test.cc: real NetFlow/IPFIX exporters
  # (softflowd, pmacctd's nfprobe) and an independent decoder (nfdump's nfcapd).
  softflowd pmacct nfdump
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all packages present" >&2
