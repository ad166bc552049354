#!/usr/bin/env bash
# Runs each test binary given, two at a time, and prints a summary. Fails if any test fails.
set -uo pipefail
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=build/asan/test-logs; mkdir -p "$logdir"
fail=0; pids=(); names=()
run() { local t=$1 n; n=$(basename "$t"); start=$(date +%s)
  if "$t" >"$logdir/$n.log" 2>&1; then echo "PASS $n ($(( $(date +%s) - start ))s)"; else echo "FAIL $n (log: $logdir/$n.log)"; tail -30 "$logdir/$n.log"; return 1; fi; }
export -f run; export logdir
printf '%s\n' "$@" | xargs -P 2 -I{} bash -c 'run {}' || fail=1
[ $fail -eq 0 ] && echo "all tests passed" || { echo "SOME TESTS FAILED"; exit 1; }
