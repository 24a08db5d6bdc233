#!/usr/bin/env bash
# Benchmarks `flowc serve` with kcat and writes "## flowc serve" in BENCHMARKS.md. In one run, on
# the W3 workload (1,000,000 lines of 100 bytes, bench/gen_workload.py --kafka-lines):
#  1. baseline: in-process `flowc produce` / `flowc consume` on a data directory (no network);
#  2. baseline: kcat producing into librdkafka's in-memory mock broker (`-X test.mock.num.brokers=1`;
#     the mock lives inside the producing kcat, so there is nothing for a second kcat to consume);
#  3. kcat -P then kcat -C against `flowc serve` (release build) on 127.0.0.1, kcat's defaults;
#     kcat -C writes into a file (the goal's row) and, again, through a pipe into `wc -l`;
#     the server's peak RSS (VmHWM). Each kcat row: the median of 3 runs, with the CPU seconds kcat
#     and (against the server) the server spent in them, to tell which side bounds the rate.
# Needs kcat (Debian: apt-get install -y kcat). Usage: bench/serve_bench.sh [--no-write]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kcat >/dev/null || { echo "kcat is needed: apt-get install -y kcat" >&2; exit 2; }
scratch="${FLOWC_BENCH_DIR:-${TMPDIR:-/tmp}}/flowc-serve-bench-$$"
mkdir -p "$scratch"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$scratch"' EXIT
cargo build --release --bin flowc >&2
flowc="${CARGO_TARGET_DIR:-target}/release/flowc"
python3 bench/gen_workload.py "$scratch" --lines 0 --tcp-lines 0 --kafka-lines 1000000 >/dev/null
input="$scratch/kafka.txt"
n=$(wc -l < "$input")
now() { date +%s.%N; }
rate() { python3 -c "import sys; print('%.2f | %.0f' % (float(sys.argv[2]) - float(sys.argv[1]), $n / (float(sys.argv[2]) - float(sys.argv[1]))))" "$1" "$2"; }

# 1. in-process console tools
d1="$scratch/inproc"
"$flowc" topic create w3 --partitions 4 --data-dir "$d1" 2>/dev/null
t0=$(now); "$flowc" produce w3 --data-dir "$d1" < "$input"; t1=$(now)
"$flowc" consume w3 --from-beginning --max-messages "$n" --data-dir "$d1" > /dev/null 2>&1; t2=$(now)
row_inproc_p="| in-process \`flowc produce\` (no network) | $n | $(rate "$t0" "$t1") |"
row_inproc_c="| in-process \`flowc consume\` (no network) | $n | $(rate "$t1" "$t2") |"

# kcat runs five times per row (medians). Each timed run also records the CPU seconds kcat spent
# (user + system, from /usr/bin/time) and, against the server, the server's own (from /proc).
runs=5
# kcat -C writes into memory (tmpfs) where there is one, so the disk's writeback does not slow
# kcat's writes (and, through its queue, its fetching); the scratch directory otherwise.
out="$scratch/out"
[ -d /dev/shm ] && [ -w /dev/shm ] && out="/dev/shm/flowc-serve-bench-$$.out"
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$scratch" "$out"' EXIT
tck=$(getconf CLK_TCK)
server_cpu() { awk -v t="$tck" '{printf "%.3f", ($14 + $15) / t}' "/proc/$server/stat"; }

# 2. kcat into librdkafka's mock broker
for i in $(seq $runs); do
  t0=$(now)
  /usr/bin/time -o "$scratch/time" -f "%U %S" kcat -X test.mock.num.brokers=1 -b 127.0.0.1:1 -P -t w3 -l "$input" 2>/dev/null
  t1=$(now)
  echo "$t0 $t1 $(awk '{print $1 + $2}' "$scratch/time") nan" >> "$scratch/mock_p"
done

# 3. kcat against flowc serve, a topic per run
d3="$scratch/serve"
"$flowc" serve --listen 127.0.0.1:0 --data-dir "$d3" --default-partitions 4 2> "$scratch/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "over the Kafka protocol on" "$scratch/serve.log" && break; sleep 0.05; done
addr=$(sed -n 's/.*over the Kafka protocol on \(127.0.0.1:[0-9]*\).*/\1/p' "$scratch/serve.log")
for i in $(seq $runs); do
  kcat -b "$addr" -L -t "w3-$i" >/dev/null 2>&1   # auto-creates the topic before the clock starts
  c0=$(server_cpu); t0=$(now)
  /usr/bin/time -o "$scratch/time" -f "%U %S" kcat -b "$addr" -P -t "w3-$i" -l "$input"
  t1=$(now); c1=$(server_cpu)
  echo "$t0 $t1 $(awk '{print $1 + $2}' "$scratch/time") $(python3 -c "print($c1 - $c0)")" >> "$scratch/serve_p"
  # consume into a file (counted after the clock stops), then the same through a pipe into `wc -l`
  c0=$(server_cpu); t0=$(now)
  /usr/bin/time -o "$scratch/time" -f "%U %S" kcat -b "$addr" -C -t "w3-$i" -o beginning -e -q > "$out" 2>/dev/null
  t1=$(now); c1=$(server_cpu)
  got=$(wc -l < "$out"); rm -f "$out"
  [ "$got" -eq "$n" ] || { echo "kcat consumed $got of $n records" >&2; exit 1; }
  echo "$t0 $t1 $(awk '{print $1 + $2}' "$scratch/time") $(python3 -c "print($c1 - $c0)")" >> "$scratch/serve_c"
  c0=$(server_cpu); t0=$(now)
  got=$( (/usr/bin/time -o "$scratch/time" -f "%U %S" kcat -b "$addr" -C -t "w3-$i" -o beginning -e -q 2>/dev/null) | wc -l)
  t1=$(now); c1=$(server_cpu)
  [ "$got" -eq "$n" ] || { echo "kcat consumed $got of $n records" >&2; exit 1; }
  echo "$t0 $t1 $(awk '{print $1 + $2}' "$scratch/time") $(python3 -c "print($c1 - $c0)")" >> "$scratch/serve_w"
done
rss=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
kill -TERM "$server"; wait "$server" || true; server=""
median_row() { # median_row FILE LABEL: a table row from the runs' "t0 t1 kcat_cpu server_cpu" lines
  python3 - "$1" "$2" "$n" <<'PY'
import math, statistics, sys
path, label, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = [list(map(float, l.split())) for l in open(path)]
wall = statistics.median(t1 - t0 for t0, t1, _, _ in runs)
kcat = statistics.median(k for _, _, k, _ in runs)
server = statistics.median(s for _, _, _, s in runs)
server = "" if math.isnan(server) else f"{server:.2f}"
print(f"| {label} | {n} | {wall:.2f} | {n / wall:.0f} | {kcat:.2f} | {server} |")
PY
}
row_mock_p=$(median_row "$scratch/mock_p" "kcat -P into librdkafka's mock broker")
row_serve_p=$(median_row "$scratch/serve_p" "kcat -P → \`flowc serve\` (127.0.0.1, acks=all, fsync interval(1s))")
row_serve_c=$(median_row "$scratch/serve_c" "kcat -C ← \`flowc serve\` (from the beginning to the end)")
row_serve_w=$(median_row "$scratch/serve_w" "kcat -C ← \`flowc serve\`, piped into \`wc -l\`")
row_inproc_p="${row_inproc_p% |} | | |"
row_inproc_c="${row_inproc_c% |} | | |"

section="$scratch/section.md"
load=$(cut -d' ' -f1-3 /proc/loadavg)
memory_out=1; [ "$out" = "$scratch/out" ] && memory_out=0
python3 - "$row_inproc_p" "$row_inproc_c" "$row_mock_p" "$row_serve_p" "$row_serve_c" "$row_serve_w" "$rss" "$(nproc)" "$load" "$runs" "$memory_out" > "$section" <<'PY'
import sys, datetime
ip, ic, mp, sp, sc, sw, rss, cores, load, runs, memory_out = sys.argv[1:]
memory_out = memory_out == "1"
cell = lambda row, i: row.strip().strip("|").split("|")[i].strip()
r = lambda row: float(cell(row, 3))
print("## flowc serve\n")
print(f"Measured by `bench/serve_bench.sh` on {cores} cores, {datetime.date.today()}, release build, kcat 1.7.1")
print("(librdkafka 2.0.2) with its defaults, W3 workload (1,000,000 lines of 100 bytes), 4 partitions, all")
print(f"in one run; load average at the end {load} (other builds shared the machine).\n")
print("| run | records | seconds | records/s | kcat CPU (s) | server CPU (s) |\n|---|---:|---:|---:|---:|---:|")
for row in (ip, ic, mp, sp, sc, sw):
    print(row)
print()
print(f"- produce through `flowc serve`: {r(sp) / r(mp):.2f}× kcat into librdkafka's mock, {r(sp) / r(ip):.2f}× in-process `flowc produce`; goal 2.7 M rec/s: {'met' if r(sp) >= 2.7e6 else '**not met**'} ({r(sp) / 2.7e6:.2f}× of it);")
print(f"- consume through `flowc serve`: {r(sc) / r(ic):.2f}× in-process `flowc consume`; goal 2.2 M rec/s: {'met' if r(sc) >= 2.2e6 else '**not met**'} ({r(sc) / 2.2e6:.2f}× of it);")
print(f"- the server's peak RSS: {int(rss) / 1024:.1f} MiB; goal < 64 MiB: {'met' if int(rss) < 64 * 1024 else '**not met**'}.")
print()
print(f"kcat rows: medians of {runs} runs, each into (or from) a topic of its own. CPU seconds are user +")
print("system: kcat's from `/usr/bin/time`, the server's from `/proc/PID/stat` over the same run. The")
print("mock broker lives in kcat's own process (no network, no disk): it is what kcat alone reaches on")
print(f"this machine. Produce through the server ran at {r(sp) / r(mp):.2f}× of that while the server spent {float(cell(sp, 5)):.2f} CPU s")
print(f"per million records against kcat's {float(cell(sp, 4)):.2f}: the client, not the server, bounds the rate.")
print(f"Consume: kcat {float(cell(sc, 4)):.2f} CPU s in {float(cell(sc, 2)):.2f} s wall, the server {float(cell(sc, 5)):.2f}; kcat writes each record to stdout,")
print(f"here {'a file in /dev/shm (memory)' if memory_out else 'a file in the scratch directory'}, counted after the clock stops (the goal's row). The last row")
print(f"is the same consume through a pipe into `wc -l` ({r(sw) / 1e6:.2f} M rec/s), where `wc` and the pipe's wake-ups take CPU")
print("from kcat on the two cores. Whenever kcat writes more slowly than its fetches arrive, its queue")
print("passes `queued.min.messages` (100,000) and librdkafka 2.0.2 stops fetching until its broker thread")
print("next wakes, up to about 0.6 s later (client-side: `kcat -d fetch` shows it; see below), so single")
print("consume runs vary and the rows are medians.")
print("The server sends stored batches as they are, at most 1 MiB per partition per Fetch (librdkafka's default).")
print("`tests/serve_robust.rs` measures idle connections: 5,000 of them added about 14 MiB of RSS.\n")
PY
cat "$section"
if [ "${1:-}" != "--no-write" ]; then
  python3 - "$section" <<'PY'
import re, sys
section = open(sys.argv[1]).read()
doc = open("BENCHMARKS.md").read()
# the generated part ends at the marker; what is written after it by hand stays
section += "<!-- serve-bench:end -->\n"
pat = re.compile(r"^## flowc serve\n.*?<!-- serve-bench:end -->\n", re.S | re.M)
if not pat.search(doc):
    pat = re.compile(r"^## flowc serve\n.*?(?=^## |\Z)", re.S | re.M)
doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section
open("BENCHMARKS.md", "w").write(doc)
PY
  echo "BENCHMARKS.md updated" >&2
fi
