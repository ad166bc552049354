#!/usr/bin/env bash
# bench/reader: praline cat --format null vs a DuckDB query that decodes the same columns,
# 2 threads, same files, same run. Also records praline's peak RSS under --memory-limit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
# cpu_seconds FILE: user + system seconds of a /usr/bin/time -v log
cpu_seconds() { awk -F": " '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"; }
ROWS=${ROWS:-10000000}; FILES=${FILES:-16}; THREADS=${THREADS:-2}; RUNS=${RUNS:-3}
LIMIT=${LIMIT:-256MB}
# DATA=DIR reuses an existing dataset (e.g. /tmp/laion10m from `praline generate laion
# --rows 10000000 --files 16`); otherwise one is generated once under build/bench.
if [ -n "${DATA:-}" ]; then src=$DATA; else src=$(laion_dataset "$ROWS" "$FILES"); fi
echo "bench/reader: $(ls "$src"/*.parquet | wc -l) files in $src, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for cols in all width; do
  bp=""; bd=""; bpc=""; bdc=""; bpi=""
  for i in $(seq "$RUNS"); do
    colarg=(); [ "$cols" = all ] || colarg=(--columns "$cols")
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$BENCH_OUT/cat.time" build/praline cat "$src" --format null --threads "$THREADS" \
      --memory-limit "$LIMIT" --stats "${colarg[@]}" 2>"$BENCH_OUT/cat.stats"
    ps=$(echo "$(date +%s.%N) - $t0" | bc -l)
    # in-process time (--stats: open to last batch), comparable to DuckDB's query timer
    pin=$(sed -nE 's/.* in ([0-9.]+)s .*/\1/p' "$BENCH_OUT/cat.stats")
    rss=$(( $(peak_rss_kb "$BENCH_OUT/cat.time") * 1024 ))
    pcpu=$(cpu_seconds "$BENCH_OUT/cat.time")
    d=$(/usr/bin/time -v -o "$BENCH_OUT/duck.time" node bench/duckdb_peer.mjs read --input "$src" --threads "$THREADS" --columns "$cols")
    ds=$(echo "$d" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
    dcpu=$(cpu_seconds "$BENCH_OUT/duck.time")
    # CPU seconds (user+sys) are steadier than wall time on a shared machine; DuckDB's include
    # node's start-up and loading the extension, its wall time is the query alone.
    echo "  run $i ($cols): praline ${ps}s (in-process ${pin}s, cpu ${pcpu}s) peak_rss=$rss | duckdb ${ds}s (process cpu ${dcpu}s)" >&2
    { [ -z "$bp" ] || [ "$(echo "$ps < $bp" | bc -l)" = 1 ]; } && { bp=$ps; brss=$rss; }
    { [ -z "$bd" ] || [ "$(echo "$ds < $bd" | bc -l)" = 1 ]; } && bd=$ds
    { [ -z "$bpi" ] || [ "$(echo "$pin < $bpi" | bc -l)" = 1 ]; } && bpi=$pin
    { [ -z "$bpc" ] || [ "$(echo "$pcpu < $bpc" | bc -l)" = 1 ]; } && bpc=$pcpu
    { [ -z "$bdc" ] || [ "$(echo "$dcpu < $bdc" | bc -l)" = 1 ]; } && bdc=$dcpu
  done
  printf 'reader (%s) praline %.3fs | duckdb %.3fs | time ratio %.2f | praline peak RSS %d bytes (limit %s) | cpu praline %.2fs, duckdb process %.2fs | praline in-process %.3fs, ratio %.2f\n' \
    "$cols" "$bp" "$bd" "$(echo "$bp / $bd" | bc -l)" "$brss" "$LIMIT" "$bpc" "$bdc" "$bpi" "$(echo "$bpi / $bd" | bc -l)"
done
