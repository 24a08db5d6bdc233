#!/usr/bin/env bash
# Benchmarks the `kafka` sink and source against librdkafka's mock cluster (3 brokers on 127.0.0.1,
# a process of its own: bench/mock_cluster.rs) beside kcat on the same cluster in the same run, and
# writes the results under "## Kafka connectors" in BENCHMARKS.md (between <!-- kafka-bench:start -->
# and <!-- kafka-bench:end -->, appended at the end if absent).
#
# Workload: $FLOWC_BENCH_LINES lines (default 100,000) of 100 bytes: librdkafka's mock cluster serves only
# about the first 130,000 such records of a topic back (kcat and flowc alike stall there at 1,000,000).
# Each run, on a fresh cluster:
#   - kcat -P (acks=all, its defaults otherwise) of the file into topic `kc`; kcat -C -c N of it back;
#   - `flowc run`: stdin -> kafka sink (acks = all, idempotent) into topic `fl`; then
#     `flowc run`: kafka source (group) -> files, timed until the files hold every line.
# Seconds are medians of $RUNS runs. kcat comes from Debian's package (apt install kcat).
#
# Usage: bench/kafka_bench.sh [--no-write]
set -euo pipefail
cd "$(dirname "$0")/.."
lines="${FLOWC_BENCH_LINES:-100000}"
runs="${RUNS:-3}"
write=1
[ "${1:-}" = "--no-write" ] && write=0
command -v kcat >/dev/null || { echo "kafka_bench: kcat is needed (apt install kcat)" >&2; exit 1; }

cargo build --release -p flowc --bin flowc --example mock_cluster >&2
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$(pwd)/$target" ;; esac
flowc="$target/release/flowc"
mock="$target/release/examples/mock_cluster"
scratch=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$scratch"' EXIT

python3 -c "
import sys
n = int(sys.argv[1])
with open(sys.argv[2], 'w') as f:
    for i in range(n):
        f.write(('record-%012d-' % i).ljust(99, 'x') + '\n')
" "$lines" "$scratch/data.txt"

now() { date +%s.%N; }
results="$scratch/results.tsv"
: > "$results"
for ((r = 1; r <= runs; r++)); do
  work="$scratch/run$r"
  mkdir -p "$work"
  mkfifo "$work/hold"
  "$mock" 3 kc:3 fl:3 < "$work/hold" > "$work/bootstrap" &
  mock_pid=$!
  exec 9> "$work/hold"
  while [ ! -s "$work/bootstrap" ]; do sleep 0.05; done
  bs=$(head -n1 "$work/bootstrap")

  t0=$(now); kcat -P -b "$bs" -t kc -X acks=all < "$scratch/data.txt"; t1=$(now)
  printf 'kcat\tproduce\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  # kcat 1.7.1 (librdkafka 2.0.2) reading the mock cluster of librdkafka 2.12 has been seen to stall
  # part-way: its consume time counts only when it read everything within 20 s.
  t0=$(now); got=$(timeout 20 kcat -C -b "$bs" -t kc -o beginning -c "$lines" -q | wc -l || true); t1=$(now)
  if [ "$got" -eq "$lines" ]; then
    printf 'kcat\tconsume\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  else
    echo "kafka_bench: kcat read only $got of $lines records back from the mock cluster" >&2
    printf 'kcat\tconsume-incomplete\t%s\n' "$got" >> "$results"
  fi

  cat > "$work/produce.flow" <<FLOW
source input = stdin { batch_size = 10_000 }
sink k = kafka { brokers = "$bs", topic = "fl" }
input -> k
FLOW
  cat > "$work/consume.flow" <<FLOW
source k = kafka { brokers = "$bs", topics = ["fl"], group = "bench", format = lines, batch_size = 10_000 }
sink out = files { path = "out/" }
k -> out
FLOW
  t0=$(now)
  (cd "$work" && "$flowc" run produce.flow < "$scratch/data.txt" > /dev/null 2> produce.err) \
    || { echo "kafka_bench: flowc produce failed:" >&2; cat "$work/produce.err" >&2; exit 1; }
  t1=$(now)
  printf 'flowc\tproduce\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  t0=$(now)
  (cd "$work" && exec "$flowc" run consume.flow > /dev/null 2> consume.err) &
  consumer=$!
  while :; do
    got=$( (cat "$work"/out/* 2>/dev/null || true) | wc -l)
    [ "$got" -ge "$lines" ] && break
    kill -0 "$consumer" 2>/dev/null || { echo "kafka_bench: flowc consume exited:" >&2; cat "$work/consume.err" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(now)
  kill -TERM "$consumer"; wait "$consumer" || true
  printf 'flowc\tconsume\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  echo "kafka_bench: run $r done" >&2
  exec 9>&-
  wait "$mock_pid" || true
done

section="$scratch/section.md"
python3 - "$results" "$lines" "$(nproc)" "$(date -u +%Y-%m-%d)" "$runs" "$(kcat -V 2>&1 | head -1)" > "$section" <<'PY'
import statistics, sys
path, n, cores, day, runs, kcat_lib = sys.argv[1:]
n = int(n)
secs = {}
for line in open(path):
    tool, op, s = line.split("\t")
    secs.setdefault((tool, op), []).append(float(s))
med = {k: statistics.median(v) for k, v in secs.items()}
print("## Kafka connectors")
print()
print("Measured by `bench/kafka_bench.sh` on %s cores, %s, release build: %d records of 100 bytes through" % (cores, day, n))
print("librdkafka's mock cluster (3 brokers on 127.0.0.1, topics of 3 partitions, a process of its own), kcat")
print("(Debian's, %s) and flowc (librdkafka 2.12, bundled) against the same cluster in the same run." % kcat_lib)
print("Median of %s runs, each on a fresh cluster. Produce: the whole file, every record acknowledged" % runs)
print("(`acks=all`); consume: from the start until every record is out (kcat `-c N` to stdout, flowc into files).")
print()
print("| | kcat | flowc | flowc vs kcat (rate) |")
print("|---|---:|---:|---:|")
for op, label in [("produce", "produce (`kafka` sink)"), ("consume", "consume (`kafka` source → `files`)")]:
    f = med[("flowc", op)]
    if ("kcat", op) not in med:
        got = [int(x) for x in secs.get(("kcat", op + "-incomplete"), [0])]
        print("| %s | stalled (read %d of %d) | %.2f s, %.0f rec/s | — |" % (label, max(got), n, f, n / f))
        continue
    k = med[("kcat", op)]
    print("| %s | %.2f s, %.0f rec/s | %.2f s, %.0f rec/s | %.2f× |" % (label, k, n / k, f, n / f, k / f))
print()
print("Target: the `kafka` sink at least 80%% of kcat's produce rate (met: %s)." % ("yes" if med[("kcat", "produce")] / med[("flowc", "produce")] >= 0.8 else "no"))
PY
cat "$section"
if [ "$write" = 1 ]; then
  python3 - BENCHMARKS.md "$section" <<'PY'
import sys
doc, section = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
start, end = "<!-- kafka-bench:start -->", "<!-- kafka-bench:end -->"
block = start + "\n" + section + end
if start in text:
    text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text)
PY
fi
