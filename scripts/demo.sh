#!/usr/bin/env bash
# demo.sh — a short, real run of praline (called by `make demo` after the release build).
# Generates 1M LAION-like rows as 4 Parquet files under build/demo/, inspects one file, prints
# its canonical checksum (and, when node is installed, checks it with the three outside readers
# of ../shared/tools/pqcheck), decodes everything under a memory limit, then runs
# examples/laion/pipeline.yaml over the rows and prints the run report. Every step is
# timed. Idempotent: the data is deterministic and regenerated in place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${PRALINE_BIN:-build/praline}
out=${PRALINE_DEMO_DIR:-build/demo/laion}
rows=${PRALINE_DEMO_ROWS:-1000000}
shared=${PRALINE_SHARED:-../shared}
[[ -x $bin ]] || { echo "demo: $bin not found; run 'make all' first" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# runs a command, then prints its wall time and peak memory (GNU time when present)
timed() {
  echo "\$ $*"
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "   [%es wall, %MKB peak RSS]" "$@"
  else
    local t0=$SECONDS; "$@"; echo "   [$((SECONDS - t0))s wall]"
  fi
}

step "praline"
"$bin" --version

step "generate $rows LAION-like rows into $out (4 files, deterministic, seed 42)"
timed "$bin" generate laion --rows "$rows" --files 4 --seed 42 --out "$out"
ls -l "$out"

file=$out/part-00000.parquet
step "inspect the footer of $file"
timed "$bin" inspect "$file"

step "canonical checksum of $file (all values decoded by praline's reader)"
timed "$bin" inspect "$file" --checksum

if command -v node >/dev/null 2>&1 && [[ -x $shared/tools/pqcheck ]]; then
  step "the same file read by DuckDB, hyparquet and arrow-rs (pqcheck)"
  timed "$shared/tools/pqcheck" --quiet "$file"
else
  step "pqcheck skipped (needs node and $shared/tools/pqcheck)"
fi

step "decode all $rows rows with a 256MB memory limit, print nothing"
timed "$bin" cat "$out" --format null --memory-limit 256MB --stats

step "a few rows"
"$bin" cat "$file" --columns id,caption,width,height,language --limit 5

step "run examples/laion/pipeline.yaml (load, filter, derive, dedup, export) on the $rows rows"
base=${PRALINE_DEMO_BASE:-build/demo/base}
export_dir=${PRALINE_DEMO_OUT:-build/demo/laion-clean}
rm -rf "$base" "$export_dir"
timed env PRALINE_BASE="$base" PRALINE_LAION="$out" PRALINE_OUT="$export_dir" \
  "$bin" run examples/laion/pipeline.yaml --workers 2 --memory-limit 1GB --report build/demo/report.json
echo "report: build/demo/report.json"

step "the same pipeline again: every component is cached, nothing to do"
timed env PRALINE_BASE="$base" PRALINE_LAION="$out" PRALINE_OUT="$export_dir" \
  "$bin" run examples/laion/pipeline.yaml --workers 2 --memory-limit 1GB --quiet

step "where caption_len comes from (manifest of the derive component)"
grep -A2 '"caption_len"' "$base"/laion/laion-*/derive/manifest.json

echo
echo "demo: done (data in $out, pipeline runs in $base, export in $export_dir)"
