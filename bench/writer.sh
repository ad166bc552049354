#!/usr/bin/env bash
# bench/writer: the same in-memory table written by praline and by DuckDB, zstd, 2 threads.
# Both load the laion dataset into memory first (untimed); only the write is timed.
# praline writes one file per thread; DuckDB's COPY writes one file with its own threads.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROWS=${ROWS:-4000000}; FILES=${FILES:-8}; THREADS=${THREADS:-2}; RUNS=${RUNS:-3}
src=$(laion_dataset "$ROWS" "$FILES")
echo "bench/writer: $ROWS rows from $src, codec zstd, $THREADS threads, best of $RUNS" >&2
num() { echo "$1" | sed -E "s/.*\"$2\": ?([0-9.]+).*/\\1/"; }
bp=""; bd=""
for i in $(seq "$RUNS"); do
  rm -rf "$BENCH_OUT/w-praline" "$BENCH_OUT/w-duck.parquet"
  p=$(build/bench-writer --input "$src" --out "$BENCH_OUT/w-praline" --codec zstd --threads "$THREADS" | tail -1)
  d=$(node bench/duckdb_peer.mjs write --input "$src" --out "$BENCH_OUT/w-duck.parquet" --codec zstd --threads "$THREADS")
  echo "  run $i: praline $p" >&2; echo "  run $i: duckdb  $d" >&2
  ps=$(num "$p" seconds); ds=$(num "$d" seconds)
  { [ -z "$bp" ] || [ "$(echo "$ps < $bp" | bc -l)" = 1 ]; } && { bp=$ps; pb=$(num "$p" bytes); }
  { [ -z "$bd" ] || [ "$(echo "$ds < $bd" | bc -l)" = 1 ]; } && { bd=$ds; db=$(num "$d" bytes); }
done
printf 'writer  praline %.3fs %d bytes | duckdb %.3fs %d bytes | time ratio %.2f | size ratio %.3f\n' \
  "$bp" "$pb" "$bd" "$db" "$(echo "$bp / $bd" | bc -l)" "$(echo "$pb / $db" | bc -l)"
