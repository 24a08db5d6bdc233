#!/usr/bin/env bash
# Benchmarks `parse` in `flowc run` beside moving the same lines unparsed, and writes the results under
# "## flowc run: parse" in BENCHMARKS.md (between <!-- parse-bench:start --> and <!-- parse-bench:end -->,
# or with --before between <!-- parse-bench-before:start --> and <!-- parse-bench-before:end -->; each
# appended at the end if absent).
#
# Input: $FLOWC_BENCH_LINES (default 1,000,000) lines of each of bench/gen_workload.py's access log
# (combined format), json.log, syslog.log and logfmt.log (the same requests in those layouts). Measured
# in one run, into the same scratch directory:
#   - `cat access.log > out`                                                  (the floor)
#   - stdin -> memory -> files (lines): pass-through, the rate every ratio is against
#   - stdin -> parse combined as Access (11 typed fields) -> memory -> files, json and parquet
#   - stdin -> parse json / syslog / logfmt as a typed record -> memory -> files (json)
# Each: wall seconds (median of $RUNS), lines/s, rate as a share of pass-through's, peak RSS (GNU time's
# "Maximum resident set size", the largest of the runs). Checked every run: pass-through writes the input
# byte for byte; every parse row's summary shows each input line parsed (none rejected) and the sink
# written every record. A pipeline flowc refuses is reported as not running (and the script exits 1
# after writing, unless --before).
#
# Usage: bench/parse_bench.sh [--no-write] [--before]   (env: FLOWC_BENCH_DIR, FLOWC_BENCH_LINES, RUNS,
# FLOWC_BIN: a flowc binary to use instead of building target/release/flowc)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
lines="${FLOWC_BENCH_LINES:-1000000}"
runs="${RUNS:-3}"
write=1
marker=parse-bench
for arg in "$@"; do
  case "$arg" in
    --no-write) write=0 ;;
    --before) marker=parse-bench-before ;;
    *) echo "parse_bench: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [ ! -x /usr/bin/time ] || ! /usr/bin/time -v true >/dev/null 2>&1; then
  echo "parse_bench: GNU time is needed for peak RSS: apt-get install -y time" >&2
  exit 1
fi

scratch="${FLOWC_BENCH_DIR:-${TMPDIR:-/tmp}}/flowc-parse-bench-$$"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT

if [ -n "${FLOWC_BIN:-}" ]; then
  flowc="$FLOWC_BIN"
else
  cargo build --release -p flowc >&2
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$repo/$target" ;; esac
  flowc="$target/release/flowc"
fi

python3 bench/gen_workload.py "$scratch/data" --lines "$lines" --tcp-lines 0 --kafka-lines 0 \
  --json-lines "$lines" --syslog-lines "$lines" --logfmt-lines "$lines" > "$scratch/gen.txt"
cat "$scratch/gen.txt" >&2

work="$scratch/work"
mkdir -p "$work"
# sink_block FORMAT: the files sink every row writes into
sink_block() {
  cat <<EOF
channel c1 = memory { capacity = 100_000 }
sink k1 = files {
  path   = "out/"
  prefix = "part-"
  roll   = { size = 128MiB, interval = 0s, idle = 0s }
  format = $1
}
EOF
}
access_type='type Access = {
  host: string, ident: string, user: string, ts: timestamp, method: string, path: string,
  protocol: string, status: int, bytes: int?, referer: string, agent: string,
}'
{ echo 'source r1 = stdin { batch_size = 10_000 }'; sink_block lines; echo 'r1 -> c1 -> k1'; } > "$work/pass.flow"
for format in json parquet; do
  { echo "$access_type"; echo 'source r1 = stdin { batch_size = 10_000 }'; sink_block "$format"
    echo 'r1 | parse combined as Access -> c1 -> k1'; } > "$work/combined_$format.flow"
done
{ echo "$access_type"; echo 'source r1 = stdin { batch_size = 10_000 }'; sink_block json
  echo 'r1 | parse json as Access -> c1 -> k1'; } > "$work/json.flow"
{ echo 'type Sys = { ts: timestamp, host: string, app: string, procid: string?, msgid: string?, severity: string,'
  echo '  facility: string, structured_data: string?, message: string }'
  echo 'source r1 = stdin { batch_size = 10_000 }'; sink_block json
  echo 'r1 | parse syslog as Sys -> c1 -> k1'; } > "$work/syslog.flow"
{ echo 'type Entry = { ts: timestamp, level: string, host: string, method: string, path: string, status: int,'
  echo '  bytes: int?, took_ms: float, user: string, agent: string, msg: string }'
  echo 'source r1 = stdin { batch_size = 10_000 }'; sink_block json
  echo 'r1 | parse logfmt as Entry -> c1 -> k1'; } > "$work/logfmt.flow"

results="$scratch/results.tsv"
: > "$results"
failed=0

# counts NODE: "in out errors" of NODE in the last run's summary (`  NAME  WHAT  in N  out N  errors N`)
counts() {
  awk -v node="$1" '$1 == node { for (i = 2; i < NF; i++) { if ($i == "in") a = $(i + 1); if ($i == "out") b = $(i + 1); if ($i == "errors") c = $(i + 1) } } END { print a, b, c }' "$work/stderr.txt"
}

# measure NAME KIND INPUT: KIND is cat or a .flow file name in $work
measure() {
  local name=$1 kind=$2 input=$3 i t0 t1 rss in_lines in_md5 n sum summary
  in_lines=$(wc -l < "$input")
  in_md5=$(md5sum < "$input" | cut -d' ' -f1)
  for ((i = 1; i <= runs; i++)); do
    rm -rf "$work/out" "$work/.flow" "$work/cat.out"
    sync
    if [ "$kind" = cat ]; then
      t0=$(date +%s.%N)
      /usr/bin/time -v -o "$work/time.txt" sh -c 'cat "$1" > "$2"' sh "$input" "$work/cat.out"
      t1=$(date +%s.%N)
      sum=$(md5sum < "$work/cat.out" | cut -d' ' -f1)
      [ "$sum" = "$in_md5" ] || { echo "parse_bench: FAIL: cat's copy differs" >&2; exit 1; }
    else
      t0=$(date +%s.%N)
      if ! /usr/bin/time -v -o "$work/time.txt" "$flowc" run --data-dir "$work/.flow" "$work/$kind" \
          < "$input" > "$work/stdout.txt" 2> "$work/stderr.txt"; then
        echo "parse_bench: $name does not run:" >&2
        cat "$work/stderr.txt" >&2
        printf '%s\t-\t-\t%s\n' "$name" "$(grep -m1 -E 'error|refused|not' "$work/stderr.txt" | tr '\t' ' ' | cut -c1-160)" >> "$results"
        failed=1
        return 0
      fi
      t1=$(date +%s.%N)
      if ls "$work/out" | grep -q '\.tmp$'; then
        echo "parse_bench: FAIL: $kind left in-use files: $(ls "$work/out")" >&2
        exit 1
      fi
      if [ "$name" = pass ]; then
        mapfile -t files < <(ls "$work/out" | sort -t- -k2 -n)
        sum=$( (cd "$work/out" && cat "${files[@]}") | md5sum | cut -d' ' -f1)
        [ "$sum" = "$in_md5" ] || { echo "parse_bench: FAIL: pass-through output differs from its input" >&2; exit 1; }
      else
        # The run's summary: the parse node took every line and rejected none; the sink got them all.
        summary=$(counts 'r1|parse#1')
        n=$(counts k1 | cut -d' ' -f1)
        if [ "$summary" != "$in_lines $in_lines 0" ] || [ "$n" != "$in_lines" ]; then
          echo "parse_bench: FAIL: $name did not parse and write all $in_lines lines (parse: in out errors = $summary; sink in: $n):" >&2
          cat "$work/stderr.txt" >&2
          exit 1
        fi
      fi
    fi
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    printf '%s\t%s\t%s\t%s\n' "$name" "$(echo "$t1 - $t0" | bc -l)" "$rss" "$in_lines" >> "$results"
    echo "parse_bench: $name run $i: $(echo "$t1 - $t0" | bc -l) s, max RSS $rss KiB" >&2
  done
}

measure cat cat "$scratch/data/access.log"
measure pass pass.flow "$scratch/data/access.log"
measure combined_json combined_json.flow "$scratch/data/access.log"
measure combined_parquet combined_parquet.flow "$scratch/data/access.log"
measure json json.flow "$scratch/data/json.log"
measure syslog syslog.flow "$scratch/data/syslog.log"
measure logfmt logfmt.flow "$scratch/data/logfmt.log"

section="$scratch/section.md"
python3 - "$results" "$scratch/gen.txt" "$(nproc)" "$(date -u +%Y-%m-%d)" "$runs" "$marker" \
  "$("$flowc" --version 2>/dev/null || echo flowc)" "$(git rev-parse --short HEAD)" "$(cut -d' ' -f1-3 /proc/loadavg)" > "$section" <<'PY'
import statistics, sys
path, gen, cores, day, runs, marker, version, commit, load = sys.argv[1:]
inputs = {}
for line in open(gen):
    f = line.split()
    inputs[f[0]] = {k: v for k, v in (w.split("=") for w in f[1:])}
rows, refused = {}, {}
for line in open(path):
    name, secs, rss, extra = line.rstrip("\n").split("\t")
    if secs == "-":
        refused[name] = extra
        continue
    r = rows.setdefault(name, {"secs": [], "rss": [], "lines": int(extra)})
    r["secs"].append(float(secs))
    r["rss"].append(int(rss))
labels = [
    ("cat", "access.log", "`cat access.log > out`"),
    ("pass", "access.log", "pass-through: stdin → memory → files (lines)"),
    ("combined_json", "access.log", "stdin → `parse combined as Access` → memory → files (json)"),
    ("combined_parquet", "access.log", "stdin → `parse combined as Access` → memory → files (parquet)"),
    ("json", "json.log", "stdin → `parse json as Access` → memory → files (json)"),
    ("syslog", "syslog.log", "stdin → `parse syslog as Sys` → memory → files (json)"),
    ("logfmt", "logfmt.log", "stdin → `parse logfmt as Entry` → memory → files (json)"),
]
def med(name):
    return statistics.median(rows[name]["secs"])
pass_rate = rows["pass"]["lines"] / med("pass")
title = "## flowc run: parse" + (" (before issue 17's parser work)" if marker.endswith("before") else "")
print(title)
print()
print("Measured by `bench/parse_bench.sh` on %s cores, %s, release build at `%s`, every row in the same run"
      % (cores, day, commit))
print("into the same scratch directory; load average at the end %s (another engineer's builds may share" % load)
print("the machine). Inputs from `bench/gen_workload.py` (%s lines each, the same requests in each layout):"
      % inputs["access.log"]["lines"])
print(", ".join("`%s` %s bytes (%s per line)" % (k, inputs[k]["bytes"], inputs[k]["avg"])
                for k in ["access.log", "json.log", "syslog.log", "logfmt.log"] if k in inputs) + ".")
print("Seconds: median of %s wall-clock runs (process start to exit, checking included); \"vs pass-through\" is"
      % runs)
print("the row's rate as a share of the pass-through row's rate in this run; peak RSS the largest of the runs.")
print("Each parse run parsed every line (none rejected) and its sink wrote every record.")
print()
print("| pipeline | input | lines | seconds | lines/s | vs pass-through | peak RSS (MiB) |")
print("|---|---|---:|---:|---:|---:|---:|")
for name, inp, label in labels:
    if name in refused:
        print("| %s | `%s` | — | — | does not run: %s | — | — |" % (label, inp, refused[name].replace("|", "\\|")))
        continue
    if name not in rows:
        continue
    s = med(name)
    rate = rows[name]["lines"] / s
    print("| %s | `%s` | %d | %.2f | %.0f | %.0f%% | %.1f |"
          % (label, inp, rows[name]["lines"], s, rate, 100 * rate / pass_rate, max(rows[name]["rss"]) / 1024.0))
print()
def goal(name, what, ok):
    if name in rows:
        rate = rows[name]["lines"] / med(name)
        print("- %s: %.0f lines/s, %.0f%% of pass-through: %s;" % (what, rate, 100 * rate / pass_rate,
                                                                  "met" if ok(rate) else "**not met**"))
    else:
        print("- %s: does not run, **not met**;" % what)
if not marker.endswith("before"):
    print("Goals (issue 17, 2-core machine):")
    print()
    goal("combined_json", "`parse combined` → JSON files ≥ 2 M lines/s and ≥ 30% of pass-through",
         lambda r: r >= 2e6 and r >= 0.3 * pass_rate)
    goal("json", "`parse json` ≥ 1 M lines/s", lambda r: r >= 1e6)
    peak = max(max(r["rss"]) for k, r in rows.items() if k != "cat") / 1024.0
    print("- peak RSS < 150 MiB: largest %.1f MiB, %s." % (peak, "met" if peak < 150 else "**not met**"))
PY

cat "$section"
if [ "$write" = 1 ]; then
  python3 - BENCHMARKS.md "$section" "$marker" <<'PY'
import sys
doc_path, sec_path, marker = sys.argv[1:]
doc = open(doc_path).read()
sec = open(sec_path).read().rstrip("\n")
start, end = "<!-- %s:start -->" % marker, "<!-- %s:end -->" % marker
block = start + "\n" + sec + "\n" + end
if start in doc and end in doc:
    a = doc.index(start)
    b = doc.index(end) + len(end)
    doc = doc[:a] + block + doc[b:]
else:
    doc = doc.rstrip("\n") + "\n\n" + block + "\n"
open(doc_path, "w").write(doc)
PY
  echo "parse_bench: wrote the $marker section of BENCHMARKS.md" >&2
fi
if [ "$failed" = 1 ] && [ "$marker" = parse-bench ]; then exit 1; fi
