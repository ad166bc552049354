# Sourced by the bench scripts: the peer's node modules, a dataset, and peak-RSS timing.
BENCH_OUT=${BENCH_OUT:-$PWD/build/bench}
mkdir -p "$BENCH_OUT"
if [ ! -d bench/node_modules/@duckdb/node-api ]; then
  (cd bench && npm ci --silent --no-audit --no-fund)
fi
# laion_dataset ROWS FILES -> prints the directory (generated once, then reused)
laion_dataset() {
  local rows=$1 files=$2 dir="$BENCH_OUT/laion-$1-$2"
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"
    build/praline generate laion --rows "$rows" --files "$files" --out "$dir" --seed 1 >&2
    touch "$dir/.complete"
  fi
  echo "$dir"
}
# peak_rss_kb FILE: the "Maximum resident set size" line of a /usr/bin/time -v log
peak_rss_kb() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
# med "1.2 3.4 2.0" -> the median of the numbers (empty for none)
med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {if (NR) print (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
