#!/usr/bin/env bash
# The style and static-analysis habits CI enforces (.ci/run runs this):
#   1. clang-format: every C++ file of ours (git ls-files) must already be
#      formatted as .clang-format says (`clang-format -i <file>` fixes it).
#   2. clang-tidy (.clang-tidy at the root), every finding an error, over
#      every .cc of ours: production code (pipeline/, stages/, tools/) and
#      also tests/ and bench/. Tests are code we maintain and read: a
#      use-after-move or a dangling string_view there hides a broken
#      assertion, and the noise gtest's macros would add is kept out by the
#      check options (cognitive complexity ignores macros), not by skipping
#      the files. Headers are checked through the sources that include them
#      (HeaderFilterRegex).
# clang-tidy reads a clang-14 compile database from the `lint` preset
# (CMakePresets.json), configured only, never built: no build is needed
# first, and the fuzz targets (clang-only) are in it too.
#
# Environment (all optional):
#   NF2_JOBS       parallel clang-tidy processes (default: 2)
#   NF2_LINT_DIR   the lint preset's build dir (default: build-lint)
# Arguments: file paths limit clang-tidy (and the format check) to those files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${NF2_JOBS:-2}
lint_dir=${NF2_LINT_DIR:-$root/build-lint}

start=$(date +%s)

if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.cc' '*.h')
fi
((${#files[@]})) || { echo "lint: no C++ files" >&2; exit 1; }

# --- 1. clang-format -----------------------------------------------------------
echo "lint: clang-format-14 --dry-run -Werror (${#files[@]} files)"
if ! clang-format-14 --dry-run -Werror "${files[@]}"; then
  echo "lint: the files above are not formatted; run: clang-format -i <file>" >&2
  exit 1
fi
format_done=$(date +%s)
echo "lint: clang-format OK ($((format_done - start))s)"

# --- 2. clang-tidy -------------------------------------------------------------
sources=()
for f in "${files[@]}"; do
  case $f in
    pipeline/*.cc | stages/*.cc | tools/*.cc | tests/*.cc | bench/*.cc) sources+=("$f") ;;
  esac
done
((${#sources[@]})) || { echo "lint: no sources for clang-tidy"; exit 0; }

# A .clang-tidy that does not parse makes clang-tidy fall back to its default
# checks and pass: refuse to go on.
if clang-tidy-14 --dump-config "${sources[0]}" -- 2>&1 >/dev/null | grep -q 'error'; then
  clang-tidy-14 --dump-config "${sources[0]}" -- >/dev/null
  echo "lint: .clang-tidy does not parse (above)" >&2
  exit 1
fi

cmake --preset lint -B "$lint_dir" >/dev/null
# The one build step lint makes: protoc's generated headers (bench/), which
# sources of ours include. Seconds, no compiler involved.
cmake --build "$lint_dir" --target nf2_generated_sources >/dev/null
db=$lint_dir/compile_commands.json
[ -f "$db" ] || { echo "lint: $db was not written" >&2; exit 1; }
# A source missing from the database would be checked with guessed flags:
# every one of ours must belong to a target.
missing=()
for f in "${sources[@]}"; do
  grep -q "\"file\": \"$root/$f\"" "$db" || missing+=("$f")
done
if ((${#missing[@]})); then
  echo "lint: not in any target (add it to a CMakeLists.txt or delete it): ${missing[*]}" >&2
  exit 1
fi

echo "lint: clang-tidy over ${#sources[@]} sources, $jobs at a time"
if command -v run-clang-tidy-14 >/dev/null 2>&1; then
  # run-clang-tidy takes regexes; anchor each path so only that file matches.
  patterns=()
  for f in "${sources[@]}"; do
    patterns+=("^$(printf '%s' "$root/$f" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$")
  done
  set +e
  run-clang-tidy-14 -quiet -p "$lint_dir" -j "$jobs" -clang-tidy-binary "$(command -v clang-tidy-14)" \
    "${patterns[@]}" 2>&1 \
    | grep -v -E '^[0-9]+ warnings? generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^[^ ]*clang-tidy-14 '
  status=("${PIPESTATUS[@]}")
  set -e
  # grep only hides the per-file command lines; the verdict is run-clang-tidy's.
  rc=${status[0]}
else
  rc=0
  printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -n 4 clang-tidy-14 -p "$lint_dir" --quiet || rc=$?
fi
end=$(date +%s)
if [ "$rc" -ne 0 ]; then
  echo "lint: clang-tidy found problems (above); fix them or NOLINT(<check>) with the reason" >&2
  exit 1
fi
echo "lint: clang-tidy OK ($((end - format_done))s); lint total $((end - start))s"
