#!/usr/bin/env bash
# bench/w2: W2a (load, filter width >= 256 and height >= 256 and caption is not null, derive
# caption_len, export zstd) and W2 (W2a + exact dedup on url keeping the smallest id), praline's
# engine against DuckDB in the same run, 2 threads each, at 2GB and 512MB. Peak RSS from
# /usr/bin/time -v. Row counts must match. DATA=DIR uses an existing laion set. REPS=N runs
# each case N times, praline and DuckDB interleaved, and keeps the best time of each (and the
# largest peak RSS), and prints the medians on a second line. WORKLOADS / MEMS pick the cases
# (default "w2a w2" / "2GB 512MB").
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROWS=${ROWS:-10000000}; FILES=${FILES:-16}; THREADS=${THREADS:-2}; REPS=${REPS:-1}
WORKLOADS=${WORKLOADS:-"w2a w2"}; MEMS=${MEMS:-"2GB 512MB"}
src=${DATA:-$(laion_dataset "$ROWS" "$FILES")}
num() { echo "$1" | sed -E "s/.*\"$2\": ?([0-9.]+|null).*/\\1/"; }
echo "bench/w2: $ROWS rows in $FILES files from $src, $THREADS threads" >&2
best() { if [ "$2" = null ] || { [ -n "$1" ] && [ "$(echo "$1 <= $2" | bc -l)" = 1 ]; }; then echo "$1"; else echo "$2"; fi; }
for wl in $WORKLOADS; do
  flag=""; [ "$wl" = w2 ] && flag="--dedup"
  for mem in $MEMS; do
    ps=""; ds=""; prss=0; drss=0; same="rows equal"; pall=""; dall=""
    for ((r = 0; r < REPS; r++)); do
      rm -rf "$BENCH_OUT/$wl-praline" "$BENCH_OUT/$wl-duck.parquet"
      p=$(/usr/bin/time -v -o "$BENCH_OUT/$wl-p.time" build/bench-$wl --input "$src" --out "$BENCH_OUT/$wl-praline" \
            --memory-limit "$mem" --workers "$THREADS" --writer-threads 2 | tail -1)
      d=$(/usr/bin/time -v -o "$BENCH_OUT/$wl-d.time" node bench/duckdb_w2.mjs --input "$src" \
            --out "$BENCH_OUT/$wl-duck.parquet" --threads "$THREADS" --memory-limit "$mem" $flag || true)
      echo "  $wl $mem run $r praline: $p" >&2; echo "  $wl $mem run $r duckdb:  $d" >&2
      ps=$(best "$ps" "$(num "$p" seconds)"); pr=$(num "$p" rows_out); pall="$pall $(num "$p" seconds)"
      dr=$(num "$d" rows_out); [ "$dr" = null ] || { ds=$(best "$ds" "$(num "$d" seconds)"); dall="$dall $(num "$d" seconds)"; }
      m=$(( $(peak_rss_kb "$BENCH_OUT/$wl-p.time") * 1024 )); [ "$m" -gt "$prss" ] && prss=$m
      m=$(( $(peak_rss_kb "$BENCH_OUT/$wl-d.time") * 1024 )); [ "$m" -gt "$drss" ] && drss=$m
      [ "$pr" = "$dr" ] || same="ROWS DIFFER ($pr vs $dr)"
    done
    ratio=$( [ -n "$ds" ] && echo "$ps / $ds" | bc -l || echo nan)
    printf '%-4s %-6s praline %.2fs rss %d | duckdb %ss rss %d | ratio %.2f | %s (best of %d)\n' \
      "$wl" "$mem" "$ps" "$prss" "${ds:-FAILED}" "$drss" "$ratio" "$same" "$REPS"
    pm=$(med "$pall"); dm=$(med "$dall")
    printf '%-4s %-6s medians: praline %.2fs | duckdb %ss | ratio %s\n' "$wl" "$mem" "$pm" "${dm:-FAILED}" \
      "$([ -n "$dm" ] && printf '%.2f' "$(echo "$pm / $dm" | bc -l)" || echo nan)"
  done
done
