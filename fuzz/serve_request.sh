#!/usr/bin/env bash
# Fuzzes flowc serve's request decoder for a while (default 60 s), starting from the real clients'
# requests in fuzz/corpus/serve_request/. cargo-fuzz needs a nightly toolchain:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# New corpus entries it keeps are replayed by `cargo test -p flowc-server --test frames`.
set -euo pipefail
cd "$(dirname "$0")"
exec cargo +nightly fuzz run serve_request corpus/serve_request -- -max_total_time="${1:-60}" -max_len=65536
