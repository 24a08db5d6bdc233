#!/usr/bin/env bash
# What the log's file layer (`log::io::Storage`, every file operation through `Arc<dyn Storage>`)
# costs: runtime/benches/log_bench.rs built from the commit before the layer (BEFORE, default 300a29b)
# and from the working tree, run alternately ROUNDS times on tmpfs (/dev/shm), where no disk hides
# the CPU the log spends per record; per row the median records/s of each, their ratio, and the
# geometric mean of the ratios. Writes the "log file layer overhead" section of BENCHMARKS.md.
# Usage: bench/log_io_overhead.sh [--no-write]
#   env: BEFORE (commit), ROUNDS (default 5), FLOWC_BENCH_RECORDS (default 5,000,000),
#        LOG_BENCH_BEFORE (an already built before binary: skips building it)
set -euo pipefail
cd "$(dirname "$0")/.."
before_commit="${BEFORE:-300a29b}"
rounds="${ROUNDS:-5}"
records="${FLOWC_BENCH_RECORDS:-5000000}"
scratch="$(mktemp -d /dev/shm/flowc-log-io-XXXXXX)"
trap 'rm -rf "$scratch"; git worktree remove --force "$scratch-before" 2>/dev/null || true' EXIT

bench_exe() { # the log_bench executable cargo builds in the current directory
  cargo bench -p flowc-runtime --bench log_bench --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "log_bench":
        print(m["executable"])'
}
cargo bench -p flowc-runtime --bench log_bench --no-run >&2
after="$(bench_exe)"
if [ -n "${LOG_BENCH_BEFORE:-}" ]; then
  before="$LOG_BENCH_BEFORE"
else
  git worktree add --detach "$scratch-before" "$before_commit" >&2
  target="${CARGO_TARGET_DIR:-$PWD/target}/log-io-before"
  (cd "$scratch-before" && CARGO_TARGET_DIR="$target" cargo bench -p flowc-runtime --bench log_bench --no-run >&2)
  before="$(cd "$scratch-before" && CARGO_TARGET_DIR="$target" bench_exe)"
fi

for round in $(seq 1 "$rounds"); do
  for which in before after; do
    exe="$before"; [ "$which" = after ] && exe="$after"
    echo "round $round/$rounds: $which" >&2
    FLOWC_BENCH_DIR="$scratch" FLOWC_BENCH_RECORDS="$records" "$exe" 2>/dev/null | grep -E '^\| (append|read)' >"$scratch/$which-$round.md"
  done
done

section="$scratch/section.md"
python3 - "$scratch" "$rounds" "$records" "$before_commit" "$(git rev-parse --short HEAD)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$section" <<'PY'
import datetime, math, statistics, sys
scratch, rounds, records, before_commit, head, cores, load = sys.argv[1:]
rounds = int(rounds)
def rates(which):
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(f"{scratch}/{which}-{r}.md"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.setdefault(cells[0], []).append(float(cells[3]))
    return rows
before, after = rates("before"), rates("after")
print("<!-- log-io-bench:start -->")
print("## Embedded log: the file layer's overhead")
print()
print(f"Measured by `bench/log_io_overhead.sh` on {cores} cores, {datetime.date.today()}: `log_bench` built")
print(f"from `{before_commit}` (before every file operation went through `log::io::Storage`) and from `{head}`,")
print(f"run alternately {rounds} times each on tmpfs (`/dev/shm`: no disk, so the CPU the log spends per")
print(f"record is what is measured), {int(records):,} records per append row (a fifth for `always`);")
print(f"load average at the end {load}. Records/s: medians of the {rounds} runs.")
print()
print("| row | before (records/s) | after (records/s) | after / before | spread of the runs (max / min) |")
print("|---|---:|---:|---:|---:|")
ratios = {"append": [], "read": []}
for row in before:
    if row not in after:
        continue
    b, a = statistics.median(before[row]), statistics.median(after[row])
    ratios[row.split(",")[0]].append(a / b)
    spread = max(max(before[row]) / min(before[row]), max(after[row]) / min(after[row]))
    print(f"| {row} | {b:.0f} | {a:.0f} | {a / b:.3f} | {spread:.2f} |")
print()
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
ga, gr = gm(ratios["append"]), gm(ratios["read"])
print(f"Geometric mean of after / before: appends **{ga:.3f}**, reads **{gr:.3f}**. Goal (issue 15): the")
print(f"layer costs nothing measurable, `log_bench` within 2%: {'met' if min(ga, gr) >= 0.98 else '**not met**'}. The after build holds")
print(f"every change to the log since `{before_commit}`, not only the layer (the spread column shows how much")
print("one row moves between runs of one binary on this machine).")
print("<!-- log-io-bench:end -->")
PY
cat "$section"
if [ "${1:-}" != "--no-write" ]; then
  python3 - "$section" <<'PY'
import re, sys
section = open(sys.argv[1]).read().strip() + "\n"
text = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- log-io-bench:start -->.*?<!-- log-io-bench:end -->\n", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    anchor = "<!-- lsp-bench:start -->"
    text = text.replace(anchor, section + "\n" + anchor, 1) if anchor in text else text + "\n" + section
open("BENCHMARKS.md", "w").write(text)
PY
fi
