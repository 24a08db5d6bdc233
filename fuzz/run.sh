#!/usr/bin/env bash
# Fuzzes each target for a time budget (default 600 s each), starting from and growing its corpus in
# fuzz/corpus/<target>/, and prints a line of figures per target (executions, coverage, crashes).
# cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly && cargo install cargo-fuzz
#   fuzz/run.sh                 # every target, 600 s each
#   fuzz/run.sh 60 parse segment  # 60 s each, these targets only
# New corpus entries are replayed on stable by `cargo test --test fuzz_corpus` (serve_request by
# `cargo test -p flowc-server --test frames`). A crash leaves fuzz/artifacts/<target>/crash-*: turn it
# into a regression test by copying it into the corpus once fixed.
set -euo pipefail
cd "$(dirname "$0")"
budget="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(check import parse record_batch segment serve_request)
fi
# No sanitizer: the code is safe Rust (a panic is the finding), and librdkafka's configure script (built
# for the stdlib's Kafka connectors) fails under AddressSanitizer's flags.
cargo +nightly fuzz build -s none
mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log="logs/$target.log"
  set +e
  cargo +nightly fuzz run -s none "$target" "corpus/$target" -- \
    -max_total_time="$budget" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  crashes=$(ls "artifacts/$target" 2>/dev/null | grep -c '^crash-\|^oom-\|^timeout-' || true)
  echo "$target: ${budget}s, $execs executions, coverage $cov edges ($ft features), corpus $(ls "corpus/$target" | wc -l) files, exit $status, artifacts $crashes"
done
