#!/usr/bin/env bash
# Benchmarks the `kafka` sink and source against librdkafka's mock cluster (3 brokers on 127.0.0.1,
# a process of its own: bench/mock_cluster.rs) beside kcat on the same cluster in the same run, and
# writes the results under "## Kafka connectors" in BENCHMARKS.md (between <!-- kafka-bench:start -->
# and <!-- kafka-bench:end -->, appended at the end if absent).
#
# Workload: lines of 100 bytes. Each run, on a fresh cluster:
#   - produce, $FLOWC_BENCH_LINES lines (default 1,000,000): kcat -P (acks=all) into topic `kc`, and
#     `flowc run` stdin -> kafka sink (acks = all, idempotent) into topic `fl`; each tool also produces
#     one line into topic `one`, its fixed cost (start, connect, flush, exit). The steady rate is
#     (N - 1) / (time for N - time for 1): start-up excluded for both tools alike.
#   - consume, $FLOWC_BENCH_CONSUME_LINES lines (default 100,000; librdkafka's mock cluster serves
#     only about the first 130,000 records of a topic back): kcat -P fills topic `c` (not timed), then
#     kcat -C -c N reads it, and `flowc run` kafka source (group) -> files, timed until the files hold
#     every line.
# Seconds are medians of $RUNS runs. kcat comes from Debian's package (apt install kcat).
#
# Usage: bench/kafka_bench.sh [--no-write]
set -euo pipefail
cd "$(dirname "$0")/.."
lines="${FLOWC_BENCH_LINES:-1000000}"
consume_lines="${FLOWC_BENCH_CONSUME_LINES:-100000}"
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
head -n "$consume_lines" "$scratch/data.txt" > "$scratch/consume.txt"
head -n 1 "$scratch/data.txt" > "$scratch/one.txt"

now() { date +%s.%N; }
results="$scratch/results.tsv"
: > "$results"
for ((r = 1; r <= runs; r++)); do
  work="$scratch/run$r"
  mkdir -p "$work"
  mkfifo "$work/hold"
  "$mock" 3 kc:3 fl:3 one:3 c:3 < "$work/hold" > "$work/bootstrap" &
  mock_pid=$!
  exec 9> "$work/hold"
  while [ ! -s "$work/bootstrap" ]; do sleep 0.05; done
  bs=$(head -n1 "$work/bootstrap")

  t0=$(now); kcat -P -b "$bs" -t one -X acks=all < "$scratch/one.txt"; t1=$(now)
  printf 'kcat\tproduce-1\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  t0=$(now); kcat -P -b "$bs" -t kc -X acks=all < "$scratch/data.txt"; t1=$(now)
  printf 'kcat\tproduce\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  cat > "$work/produce.flow" <<FLOW
source input = stdin { batch_size = 10_000 }
sink k = kafka { brokers = "$bs", topic = "fl" }
input -> k
FLOW
  sed 's/topic = "fl"/topic = "one"/' "$work/produce.flow" > "$work/produce1.flow"
  cat > "$work/consume.flow" <<FLOW
source k = kafka { brokers = "$bs", topics = ["c"], group = "bench", format = lines, batch_size = 10_000 }
sink out = files { path = "out/" }
k -> out
FLOW
  for f in produce1:one produce:data; do
    flow=${f%%:*}; input=${f##*:}
    t0=$(now)
    (cd "$work" && "$flowc" run "$flow.flow" < "$scratch/$input.txt" > /dev/null 2> "$flow.err") \
      || { echo "kafka_bench: flowc $flow failed:" >&2; cat "$work/$flow.err" >&2; exit 1; }
    t1=$(now)
    op=produce; [ "$flow" = produce1 ] && op=produce-1
    printf 'flowc\t%s\t%s\n' "$op" "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  done
  kcat -P -b "$bs" -t c -X acks=all < "$scratch/consume.txt"
  # kcat 1.7.1 (librdkafka 2.0.2) reading the mock cluster of librdkafka 2.12 has been seen to stall
  # part-way: its consume time counts only when it read everything within 20 s.
  t0=$(now); got=$(timeout 20 kcat -C -b "$bs" -t c -o beginning -c "$consume_lines" -q | wc -l || true); t1=$(now)
  if [ "$got" -eq "$consume_lines" ]; then
    printf 'kcat\tconsume\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  else
    echo "kafka_bench: kcat read only $got of $consume_lines records back from the mock cluster" >&2
    printf 'kcat\tconsume-incomplete\t%s\n' "$got" >> "$results"
  fi

  t0=$(now)
  (cd "$work" && exec "$flowc" run consume.flow > /dev/null 2> consume.err) &
  consumer=$!
  deadline=$(( $(date +%s) + 60 ))
  while :; do
    got=$( (cat "$work"/out/* 2>/dev/null || true) | wc -l)
    [ "$got" -ge "$consume_lines" ] && break
    # The mock cluster has been seen to stop serving part-way (kcat's reads stall the same way).
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "kafka_bench: flowc read only $got of $consume_lines records back within 60 s" >&2
      break
    fi
    kill -0 "$consumer" 2>/dev/null || { echo "kafka_bench: flowc consume exited:" >&2; cat "$work/consume.err" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(now)
  kill -TERM "$consumer"; wait "$consumer" || true
  if [ "$got" -ge "$consume_lines" ]; then
    printf 'flowc\tconsume\t%s\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  else
    printf 'flowc\tconsume-incomplete\t%s\n' "$got" >> "$results"
  fi
  echo "kafka_bench: run $r done" >&2
  exec 9>&-
  wait "$mock_pid" || true
done

section="$scratch/section.md"
python3 - "$results" "$lines" "$consume_lines" "$(nproc)" "$(date -u +%Y-%m-%d)" "$runs" "$(kcat -V 2>&1 | sed -n 's/^Version \([0-9.]*\) .*\(librdkafka [0-9.]*\).*/\1, \2/p')" > "$section" <<'PY'
import statistics, sys
path, n, nc, cores, day, runs, kcat_lib = sys.argv[1:]
n, nc = int(n), int(nc)
secs = {}
for line in open(path):
    tool, op, s = line.split("\t")
    secs.setdefault((tool, op), []).append(float(s))
med = {k: statistics.median(v) for k, v in secs.items()}
def steady(tool):
    # Per run (the fixed cost of that run subtracted from its own produce), then the median.
    pairs = zip(secs[(tool, "produce")], secs[(tool, "produce-1")])
    return statistics.median((n - 1) / (big - one) for big, one in pairs)
print("## Kafka connectors")
print()
print("Measured by `bench/kafka_bench.sh` on %s cores, %s, release build, against librdkafka's mock cluster" % (cores, day))
print("(3 brokers on 127.0.0.1, topics of 3 partitions, a process of its own), kcat (Debian's, %s) and" % kcat_lib)
print("flowc (librdkafka 2.12, bundled) on the same cluster in the same run; median of %s runs, each on a" % runs)
print("fresh cluster. Records of 100 bytes. Produce: %d records, every one acknowledged (`acks=all`);" % n)
print("the steady rate excludes each tool's fixed cost (start, connect, flush, exit), measured by producing")
print("one record just before: (N − 1) / (t(N) − t(1)) per run, then the median. Consume: %d records from the start until every one is out" % nc)
print("(kcat `-c N` to stdout, flowc through a consumer group into files); the mock cluster serves only")
print("about 130,000 records of a topic back, so consume is measured on fewer.")
print()
print("| | kcat | flowc | flowc vs kcat (rate) |")
print("|---|---:|---:|---:|")
k, f = med[("kcat", "produce")], med[("flowc", "produce")]
print("| produce %d (`kafka` sink), wall | %.2f s, %.0f rec/s | %.2f s, %.0f rec/s | %.2f× |" % (n, k, n / k, f, n / f, k / f))
k1, f1 = med[("kcat", "produce-1")], med[("flowc", "produce-1")]
print("| produce 1 (fixed cost) | %.3f s | %.3f s | |" % (k1, f1))
ks, fs = steady("kcat"), steady("flowc")
print("| produce, steady rate | %.0f rec/s | %.0f rec/s | %.2f× |" % (ks, fs, fs / ks))
if ("flowc", "consume") not in med:
    got = [int(x) for x in secs.get(("flowc", "consume-incomplete"), [0])]
    print("| consume %d (`kafka` source → `files`) | — | stalled (read %d) | — |" % (nc, max(got)))
    f = None
else:
    f = med[("flowc", "consume")]
if f is None:
    pass
elif ("kcat", "consume") not in med:
    got = [int(x) for x in secs.get(("kcat", "consume-incomplete"), [0])]
    print("| consume %d (`kafka` source → `files`) | stalled (read %d) | %.2f s, %.0f rec/s | — |" % (nc, max(got), f, nc / f))
else:
    k = med[("kcat", "consume")]
    print("| consume %d (`kafka` source → `files`) | %.2f s, %.0f rec/s | %.2f s, %.0f rec/s | %.2f× |" % (nc, k, nc / k, f, nc / f, k / f))
print()
print("Target: the `kafka` sink at least 80%% of kcat's produce rate: steady rate %.2f× (met: %s), wall %.2f×." % (fs / ks, "yes" if fs / ks >= 0.8 else "no", med[("kcat", "produce")] / med[("flowc", "produce")]))
PY
cat "$results" >&2
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
