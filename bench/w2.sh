#!/usr/bin/env bash
# bench/w2: W2a (load, filter width >= 256 and height >= 256 and caption is not null, derive
# caption_len, export zstd) and W2 (W2a + exact dedup on url keeping the smallest id), praline's
# engine against DuckDB in the same run, 2 threads each, at 2GB and 512MB. Peak RSS from
# /usr/bin/time -v. Row counts must match. DATA=DIR uses an existing laion set.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROWS=${ROWS:-10000000}; FILES=${FILES:-16}; THREADS=${THREADS:-2}
src=${DATA:-$(laion_dataset "$ROWS" "$FILES")}
num() { echo "$1" | sed -E "s/.*\"$2\": ?([0-9.]+|null).*/\\1/"; }
echo "bench/w2: $ROWS rows in $FILES files from $src, $THREADS threads" >&2
for wl in w2a w2; do
  flag=""; [ "$wl" = w2 ] && flag="--dedup"
  for mem in 2GB 512MB; do
    rm -rf "$BENCH_OUT/$wl-praline" "$BENCH_OUT/$wl-duck.parquet"
    p=$(/usr/bin/time -v -o "$BENCH_OUT/$wl-p.time" build/bench-$wl --input "$src" --out "$BENCH_OUT/$wl-praline" \
          --memory-limit "$mem" --workers "$THREADS" --writer-threads 2 | tail -1)
    d=$(/usr/bin/time -v -o "$BENCH_OUT/$wl-d.time" node bench/duckdb_w2.mjs --input "$src" \
          --out "$BENCH_OUT/$wl-duck.parquet" --threads "$THREADS" --memory-limit "$mem" $flag || true)
    ps=$(num "$p" seconds); pr=$(num "$p" rows_out); prss=$(( $(peak_rss_kb "$BENCH_OUT/$wl-p.time") * 1024 ))
    ds=$(num "$d" seconds); dr=$(num "$d" rows_out); drss=$(( $(peak_rss_kb "$BENCH_OUT/$wl-d.time") * 1024 ))
    echo "  $wl $mem praline: $p" >&2; echo "  $wl $mem duckdb:  $d" >&2
    ratio=$( [ "$dr" != null ] && echo "$ps / $ds" | bc -l || echo nan)
    same=$( [ "$pr" = "$dr" ] && echo "rows equal" || echo "ROWS DIFFER ($pr vs $dr)")
    printf '%-4s %-6s praline %.2fs rss %d | duckdb %ss rss %d | ratio %.2f | %s\n' \
      "$wl" "$mem" "$ps" "$prss" "$ds" "$drss" "$ratio" "$same"
  done
done
