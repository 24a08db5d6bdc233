#!/usr/bin/env bash
# Measures what `flowc run --metrics` costs and writes "## metrics overhead" in BENCHMARKS.md
# (between <!-- metrics-bench:start --> and <!-- metrics-bench:end -->, appended if absent).
#
# The same pipeline, stdin -> memory channel -> files (lines), on the same 5,000,000-line access log
# (bench/gen_workload.py), run $RUNS times without `--metrics` and $RUNS times with it, alternating, while
# a scraper (bench/scrape.py, one kept-alive connection as Prometheus keeps) GETs /metrics ten times a
# second (a hundred times Prometheus' default pace) and /api/nodes as often, so the endpoint works the
# whole run. Each run's output must be exactly the input, or the script
# fails. Reported: the median wall time of each, lines/s, and their ratio (the goal: at most 3% apart).
#
# Usage: bench/metrics_bench.sh [--no-write]   (env: FLOWC_BENCH_DIR, FLOWC_BENCH_LINES, RUNS, PORT,
# FLOWC_BIN: a flowc binary to use instead of building target/release/flowc)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
lines="${FLOWC_BENCH_LINES:-5000000}"
runs="${RUNS:-5}"
port="${PORT:-19187}"
write=1
[ "${1:-}" = "--no-write" ] && write=0

scratch="${FLOWC_BENCH_DIR:-${TMPDIR:-/tmp}}/flowc-metrics-bench-$$"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT

if [ -n "${FLOWC_BIN:-}" ]; then
  flowc="$FLOWC_BIN"
else
  cargo build --release >&2
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
  flowc="$target_dir/release/flowc"
fi

python3 bench/gen_workload.py "$scratch/data" --lines "$lines" --tcp-lines 0 --kafka-lines 0 >&2
input="$scratch/data/access.log"
in_md5=$(md5sum < "$input" | cut -d' ' -f1)
work="$scratch/work"
mkdir -p "$work"
cat > "$work/memory.flow" <<'EOF'
source r1 = stdin { batch_size = 10_000 }
channel c1 = memory { capacity = 100_000 }
sink k1 = files {
  path   = "out/"
  prefix = "part-"
  roll   = { size = 100MiB, interval = 0s, idle = 0s }
  format = lines
}
r1 -> c1 -> k1
EOF

results="$scratch/results.tsv"
: > "$results"
scrapes="$scratch/scrapes"

# run NAME [--metrics ADDR]: one timed run, output checked; with metrics, scraped while it goes
run() {
  local name=$1; shift
  rm -rf "$work/out" "$work/.flow"
  sync
  local t0 t1
  t0=$(date +%s.%N)
  if ! (cd "$work" && "$flowc" run --stats off --data-dir "$work/.flow" memory.flow "$@" < "$input" > /dev/null 2> "$work/stderr.txt"); then
    echo "metrics_bench: FAIL: flowc run ($name) exited non-zero:" >&2
    cat "$work/stderr.txt" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  local sum
  sum=$(cd "$work/out" && ls | sort -t- -k2 -n | xargs cat | md5sum | cut -d' ' -f1)
  if [ "$sum" != "$in_md5" ]; then
    echo "metrics_bench: FAIL: $name output md5 $sum differs from the input's $in_md5" >&2
    exit 1
  fi
  printf '%s\t%s\n' "$name" "$(echo "$t1 - $t0" | bc -l)" >> "$results"
  echo "metrics_bench: $name: $(echo "$t1 - $t0" | bc -l) s" >&2
}

: > "$scrapes"
# One scraper for the whole benchmark, started before the first run: during runs without `--metrics`
# it finds nothing listening (a refused connect every 100 ms), so both kinds of run share the machine
# with the same process, and no interpreter starts inside a timed run.
python3 bench/scrape.py "127.0.0.1:$port" "$scrapes" 0.1 &
scraper=$!
sleep 1
for ((i = 1; i <= runs; i++)); do
  run off
  run on --metrics "127.0.0.1:$port"
done
kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true
n_scrapes=$(wc -l < "$scrapes")
if [ "$n_scrapes" -lt "$runs" ]; then
  echo "metrics_bench: FAIL: only $n_scrapes scrapes answered during $runs runs with --metrics" >&2
  exit 1
fi

section="$scratch/section.md"
python3 - "$results" "$lines" "$(nproc)" "$(date -u +%Y-%m-%d)" "$runs" "$n_scrapes" > "$section" <<'PY'
import statistics, sys
path, n, cores, day, runs, scrapes = sys.argv[1:]
n, runs = int(n), int(runs)
secs = {"off": [], "on": []}
for line in open(path):
    name, s = line.split("\t")
    secs[name].append(float(s))
off, on = statistics.median(secs["off"]), statistics.median(secs["on"])
print("## metrics overhead")
print()
print("Measured by `bench/metrics_bench.sh` on %d cores, %s, release build: stdin (batch_size 10,000) →" % (int(cores), day))
print("memory channel → files, %d access-log lines, %d runs each way, alternating; with `--metrics`, a" % (n, runs))
print("scraper (one process for the whole benchmark, one kept-alive connection) fetched `/metrics` and")
print("`/api/nodes` ten times a second (%s scrapes answered in all). Every run's output was checked to be" % scrapes)
print("exactly the input. Seconds: medians.")
print()
print("| run | seconds (median) | lines/s | vs without |")
print("|---|---:|---:|---:|")
print("| without `--metrics` (baseline) | %.2f | %.0f | 1.00 |" % (off, n / off))
print("| with `--metrics`, scraped | %.2f | %.0f | %.3f |" % (on, n / on, off / on))
print()
verdict = "met" if abs(on - off) / off <= 0.03 else "not met"
print("Goal (issue 14): medians at most 3%% apart: **%s** (%.1f%% apart)." % (verdict, abs(on - off) / off * 100))
PY

cat "$section"
if [ "$write" = 1 ]; then
  python3 - BENCHMARKS.md "$section" <<'PY'
import sys
doc_path, sec_path = sys.argv[1:]
doc = open(doc_path).read()
sec = open(sec_path).read().rstrip("\n")
start, end = "<!-- metrics-bench:start -->", "<!-- metrics-bench:end -->"
block = start + "\n" + sec + "\n" + end
if start in doc and end in doc:
    doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + block + "\n"
open(doc_path, "w").write(doc)
PY
  echo "metrics_bench: wrote the metrics overhead section of BENCHMARKS.md" >&2
fi
