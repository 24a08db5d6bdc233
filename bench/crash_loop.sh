#!/usr/bin/env bash
# The crash loop of tests/crash_loop.rs at a larger count: both durable pipelines killed with
# SIGKILL KILLS times (default 1000) at random moments while their input grows; prints, per
# pipeline, lines, kills, lost (must be 0) and duplicates, and the seed that replays the run.
#   bench/crash_loop.sh [KILLS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export FLOWC_CRASH_KILLS="${1:-1000}"
if [ -n "${2:-}" ]; then export FLOWC_CRASH_SEED="$2"; fi
cargo test --test crash_loop -- --nocapture --test-threads 1 2>&1 | grep -E 'FLOWC_CRASH_SEED|lines,|test result|panicked'
