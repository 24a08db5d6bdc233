#!/usr/bin/env bash
# The long run of the log's crash simulation (runtime/src/log/crash_sim.rs), release build, two threads.
# Prints seeds, crash cases, seconds, cases/s and the failing seeds (each replays with
# FLOWC_SIM_SEED=S cargo test -p flowc-runtime --lib crash_sim).
# Usage: bench/crash_sim.sh [SEEDS (default 200000)] [FIRST (default: a random start, printed)]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-200000}"
first="${2:-$(( ($(date +%s) % 100000) * 100000 ))}"
echo "crash sim: seeds $first..$((first + seeds)) (release)" >&2
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
FLOWC_SIM_SEEDS="$seeds" FLOWC_SIM_FIRST="$first" nice cargo test --release -q -p flowc-runtime --lib \
  crash_sim::no_acknowledged_record_is_lost -- --nocapture >"$out" 2>&1 || status=$?
grep '^crash sim:' "$out" || { cat "$out"; exit 1; }
if [ "$status" -ne 0 ]; then
  grep '^seed ' "$out" | head -20
  echo "failures found (replay one with FLOWC_SIM_SEED=S)" >&2
  exit 1
fi
echo "no failures" >&2
