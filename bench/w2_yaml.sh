#!/usr/bin/env bash
# bench/w2_yaml: W2a and W2 three ways in the same run, 2 threads each, at 2GB and 512MB:
#   yaml  - `praline run bench/pipelines/<wl>.yaml --report FILE.json` (step 4 pipelines)
#   capi  - build/bench-<wl> --write-load (the step 3 C API doing the same work: its load writes
#           the loaded fields column-wise, as a YAML load does; bench/w2.sh runs it without)
#   duck  - node bench/duckdb_w2.mjs (DuckDB, threads=2, memory_limit as given)
# Each case runs REPS times (interleaved: yaml, capi, duck, yaml, ...); the best time is kept,
# and the peak RSS is the largest of the runs (/usr/bin/time -v). Row counts must be equal.
# A second line per case gives the medians (the machine is noisy: best against best and median
# against median together say more than either).
# DATA=DIR uses an existing laion set instead of generating one into build/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROWS=${ROWS:-10000000}; FILES=${FILES:-16}; THREADS=${THREADS:-2}; REPS=${REPS:-2}
WORKLOADS=${WORKLOADS:-"w2a w2"}; MEMS=${MEMS:-"2GB 512MB"}
src=${DATA:-$(laion_dataset "$ROWS" "$FILES")}
out=$BENCH_OUT/w2y
echo "bench/w2_yaml: $src, $THREADS threads, best of $REPS; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# run1 SYSTEM WL MEM -> prints "seconds rows_out peak_rss_bytes"
run1() {
  local sys=$1 wl=$2 mem=$3 t=$out/$1-$2.time j
  rm -rf "$out/$sys-$wl"; mkdir -p "$out/$sys-$wl"
  case $sys in
    yaml)
      W2_BASE=$out/$sys-$wl/base W2_INPUT=$src W2_OUT=$out/$sys-$wl/export \
        /usr/bin/time -v -o "$t" build/praline run "bench/pipelines/$wl.yaml" --no-cache --quiet \
        --workers "$THREADS" --memory-limit "$mem" --report "$out/$sys-$wl/report.json" >&2
      j=$(cat "$out/$sys-$wl/report.json")
      echo "$(jq -r .seconds <<<"$j") $(jq -r '.components[-1].rows_out' <<<"$j")" ;;
    capi)
      j=$(/usr/bin/time -v -o "$t" build/bench-$wl --input "$src" --out "$out/$sys-$wl" \
            --memory-limit "$mem" --workers "$THREADS" --writer-threads 2 --write-load 2>/dev/null | tail -1)
      echo "$(jq -r .seconds <<<"$j") $(jq -r .rows_out <<<"$j")" ;;
    duck)
      local flag=""; [ "$wl" = w2 ] && flag="--dedup"
      j=$(/usr/bin/time -v -o "$t" node bench/duckdb_w2.mjs --input "$src" --out "$out/$sys-$wl/out.parquet" \
            --threads "$THREADS" --memory-limit "$mem" $flag 2>/dev/null | tail -1 || true)
      # a failed COPY (out of memory) prints rows_out null: no time is kept for it
      if [ -z "$j" ] || [ "$(jq -r .rows_out <<<"$j")" = null ]; then echo "null null"
      else echo "$(jq -r .seconds <<<"$j") $(jq -r .rows_out <<<"$j")"; fi ;;
  esac | tr '\n' ' '
  echo "$(( $(peak_rss_kb "$t") * 1024 ))"
  rm -rf "$out/$sys-$wl"
}

for wl in $WORKLOADS; do
  for mem in $MEMS; do
    declare -A best=() rows=() rss=() all=()
    for ((r = 0; r < REPS; r++)); do
      for sys in yaml capi duck; do
        read -r s n m < <(run1 "$sys" "$wl" "$mem")
        echo "  $wl $mem $sys run $r: ${s}s rows $n rss $m (load $(cut -d' ' -f1 /proc/loadavg))" >&2
        rows[$sys]=$n
        [ "$s" != null ] && all[$sys]="${all[$sys]:-} $s"
        [ "${rss[$sys]:-0}" -lt "$m" ] && rss[$sys]=$m
        if [ "$s" != null ] && { [ -z "${best[$sys]:-}" ] || [ "$(echo "$s < ${best[$sys]}" | bc -l)" = 1 ]; }; then
          best[$sys]=$s
        fi
      done
    done
    d=${best[duck]:-}
    ry=$([ -n "$d" ] && echo "${best[yaml]} / $d" | bc -l || echo nan)
    rc=$([ -n "$d" ] && echo "${best[capi]} / $d" | bc -l || echo nan)
    same="rows equal"
    [ "${rows[yaml]}" = "${rows[capi]}" ] || same="ROWS DIFFER yaml ${rows[yaml]} capi ${rows[capi]}"
    [ "${rows[duck]}" = null ] || [ "${rows[duck]}" = "${rows[capi]}" ] || same="ROWS DIFFER duckdb ${rows[duck]} capi ${rows[capi]}"
    printf '%-4s %-6s yaml %.2fs rss %d | capi %.2fs rss %d | duckdb %ss rss %d | yaml/duck %.2f capi/duck %.2f yaml/capi %.2f | %s rows %s\n' \
      "$wl" "$mem" "${best[yaml]}" "${rss[yaml]}" "${best[capi]}" "${rss[capi]}" "${d:-FAILED}" "${rss[duck]}" \
      "$ry" "$rc" "$(echo "${best[yaml]} / ${best[capi]}" | bc -l)" "$same" "${rows[capi]}"
        my=$(med "${all[yaml]:-}"); mc=$(med "${all[capi]:-}"); md=$(med "${all[duck]:-}")
    printf '%-4s %-6s medians: yaml %.2fs capi %.2fs duckdb %ss | yaml/duck %s capi/duck %s yaml/capi %.2f (of %d runs)\n' \
      "$wl" "$mem" "$my" "$mc" "${md:-FAILED}" \
      "$([ -n "$md" ] && printf '%.2f' "$(echo "$my / $md" | bc -l)" || echo nan)" \
      "$([ -n "$md" ] && printf '%.2f' "$(echo "$mc / $md" | bc -l)" || echo nan)" \
      "$(echo "$my / $mc" | bc -l)" "$REPS"
    unset best rows rss all
  done
done
