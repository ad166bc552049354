#!/usr/bin/env bash
# bench/reader: praline cat --format null vs a DuckDB query that decodes the same columns,
# 2 threads, same files, same run. Also records praline's peak RSS under --memory-limit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROWS=${ROWS:-10000000}; FILES=${FILES:-16}; THREADS=${THREADS:-2}; RUNS=${RUNS:-3}
LIMIT=${LIMIT:-256MB}
src=$(laion_dataset "$ROWS" "$FILES")
for cols in all width; do
  bp=""; bd=""
  for i in $(seq "$RUNS"); do
    colarg=(); [ "$cols" = all ] || colarg=(--columns "$cols")
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$BENCH_OUT/cat.time" build/praline cat "$src" --format null --threads "$THREADS" \
      --memory-limit "$LIMIT" "${colarg[@]}"
    ps=$(echo "$(date +%s.%N) - $t0" | bc -l)
    rss=$(( $(peak_rss_kb "$BENCH_OUT/cat.time") * 1024 ))
    d=$(node bench/duckdb_peer.mjs read --input "$src" --threads "$THREADS" --columns "$cols")
    ds=$(echo "$d" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
    echo "  run $i ($cols): praline ${ps}s peak_rss=$rss | duckdb ${ds}s" >&2
    { [ -z "$bp" ] || [ "$(echo "$ps < $bp" | bc -l)" = 1 ]; } && { bp=$ps; brss=$rss; }
    { [ -z "$bd" ] || [ "$(echo "$ds < $bd" | bc -l)" = 1 ]; } && bd=$ds
  done
  printf 'reader (%s) praline %.3fs | duckdb %.3fs | time ratio %.2f | praline peak RSS %d bytes (limit %s)\n' \
    "$cols" "$bp" "$bd" "$(echo "$bp / $bd" | bc -l)" "$brss" "$LIMIT"
done
