#!/usr/bin/env bash
# Benchmarks the `files` sink writing Parquet on the local disk beside pyarrow writing the same rows,
# and writes the results under "## files sink: Parquet" in BENCHMARKS.md (between
# <!-- parquet-bench:start --> and <!-- parquet-bench:end -->, appended at the end if absent).
#
# Workload W1: 2,000,000 Apache combined-format access-log lines from bench/gen_workload.py. Measured in
# one run, on the same file, into the same scratch directory:
#   - `flowc run`: stdin -> parse combined as Access (11 typed fields) -> memory -> files (parquet, zstd,
#     row groups of 1,000,000 rows, rolled at 128 MiB);
#   - bench/pyarrow_parquet.py: the same rows parsed by a Python regular expression into the same
#     columns and types, written by pyarrow with zstd in row groups of 1,000,000 rows (the baseline),
#     whose seconds spent in pyarrow alone (table building and writing) are reported too.
# Each: wall seconds (median of $RUNS), rows/s, ratio to pyarrow, bytes written. flowc's files are read
# back with pyarrow: every row there, the column types as declared, or the script fails.
#
# Usage: bench/parquet_bench.sh [--no-write]   (env: FLOWC_BENCH_DIR scratch dir, FLOWC_BENCH_LINES, RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
lines="${FLOWC_BENCH_LINES:-2000000}"
runs="${RUNS:-3}"
write=1
[ "${1:-}" = "--no-write" ] && write=0

python3 -c "import pyarrow" 2>/dev/null || { echo "parquet_bench: pyarrow is needed: pip install pyarrow==18.1.0" >&2; exit 1; }

scratch="${FLOWC_BENCH_DIR:-${TMPDIR:-/tmp}}/flowc-parquet-bench-$$"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT

cargo build --release -p flowc >&2
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
flowc="$target/release/flowc"

python3 bench/gen_workload.py "$scratch/data" --lines "$lines" --tcp-lines 0 --kafka-lines 0 >&2
input="$scratch/data/access.log"
in_md5=$(md5sum < "$input" | cut -d' ' -f1)

work="$scratch/work"
mkdir -p "$work"
cat > "$work/parquet.flow" <<'FLOW'
type Access = {
  host: string, ident: string, user: string, ts: timestamp, method: string, path: string,
  protocol: string, status: int, bytes: int?, referer: string, agent: string,
}
source r1 = stdin { batch_size = 10_000 }
channel c1 = memory { capacity = 100_000 }
sink k1 = files {
  path   = "out/"
  format = parquet
  roll   = { size = 128MiB, interval = 0s, idle = 0s }
}
r1 | parse combined as Access -> c1 -> k1
FLOW
# The same pipeline into `null`: what reading and parsing cost, so the sink's own share shows.
sed -e '/^sink k1 = files {/,/^}/c\
sink k1 = null {}' "$work/parquet.flow" > "$work/null.flow"

results="$scratch/results.tsv"
: > "$results"
for ((i = 1; i <= runs; i++)); do
  rm -rf "$work/out" "$work/.flow" "$work/py.parquet"
  sync
  t0=$(date +%s.%N)
  "$flowc" run --data-dir "$work/.flow" "$work/parquet.flow" < "$input" > /dev/null 2> "$work/stderr.txt" \
    || { echo "parquet_bench: FAIL: flowc run exited non-zero:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  t1=$(date +%s.%N)
  check=$(python3 - "$work/out" "$lines" <<'PY'
import glob, os, sys
import pyarrow.parquet as pq
files = sorted(glob.glob(os.path.join(sys.argv[1], "*")))
assert files and all(f.endswith(".parquet") for f in files), files
rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
assert rows == int(sys.argv[2]), "flowc wrote %d rows, expected %s" % (rows, sys.argv[2])
schema = pq.read_schema(files[0])
types = {f.name: str(f.type) for f in schema}
assert types["ts"] == "timestamp[ms, tz=UTC]" and types["status"] == "int64" and types["bytes"] == "int64", types
print("%d\t%d" % (len(files), sum(os.path.getsize(f) for f in files)))
PY
  )
  printf 'flowc\t%s\t%s\t\n' "$(echo "$t1 - $t0" | bc -l)" "$check" >> "$results"
  echo "parquet_bench: flowc run $i: $(echo "$t1 - $t0" | bc -l) s, files/bytes $check" >&2

  t0=$(date +%s.%N)
  "$flowc" run --data-dir "$work/.flow" "$work/null.flow" < "$input" > /dev/null 2> "$work/stderr.txt" \
    || { echo "parquet_bench: FAIL: flowc run (null) exited non-zero:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  t1=$(date +%s.%N)
  printf 'null\t%s\t0\t0\t\n' "$(echo "$t1 - $t0" | bc -l)" >> "$results"

  t0=$(date +%s.%N)
  py=$(python3 bench/pyarrow_parquet.py "$input" "$work/py.parquet")
  t1=$(date +%s.%N)
  IFS=$'\t' read -r py_rows py_parse py_write py_bytes <<< "$py"
  [ "$py_rows" -eq "$lines" ] || { echo "parquet_bench: FAIL: pyarrow parsed $py_rows rows" >&2; exit 1; }
  printf 'pyarrow\t%s\t1\t%s\t%s\n' "$(echo "$t1 - $t0" | bc -l)" "$py_bytes" "$py_write" >> "$results"
  echo "parquet_bench: pyarrow run $i: $(echo "$t1 - $t0" | bc -l) s (write $py_write s), $py_bytes bytes" >&2
done

section="$scratch/section.md"
python3 - "$results" "$lines" "$(stat -c %s "$input")" "$in_md5" "$(nproc)" "$(date -u +%Y-%m-%d)" "$runs" \
  "$(python3 -c 'import pyarrow; print(pyarrow.__version__)')" > "$section" <<'PY'
import statistics, sys
path, n, nbytes, md5, cores, day, runs, pa_version = sys.argv[1:]
n, nbytes = int(n), int(nbytes)
rows = {}
for line in open(path):
    name, secs, files, size, write = line.rstrip("\n").split("\t")
    r = rows.setdefault(name, {"secs": [], "files": files, "bytes": int(size), "write": []})
    r["secs"].append(float(secs))
    if write:
        r["write"].append(float(write))
base = statistics.median(rows["pyarrow"]["secs"])
print("## files sink: Parquet")
print()
print("Measured by `bench/parquet_bench.sh` on %s cores, %s, release build, both writers in the same run on"
      % (cores, day))
print("the same input into the same scratch filesystem. Input: %d lines, %d bytes, Apache combined format"
      % (n, nbytes))
print("from `bench/gen_workload.py` (md5 `%s`), parsed into 11 typed columns (`ts` a timestamp, `status`" % md5)
print("and `bytes` int64). Both write zstd Parquet in row groups of up to 1,000,000 rows. flowc's files were")
print("read back with pyarrow %s: every row, the declared types. Seconds: median of %s wall-clock runs" % (pa_version, runs))
print("(flowc: process start to exit, reading stdin, checking, parsing and writing; pyarrow: the Python")
print("script, parsing with a regular expression, then building the table and writing it).")
print()
print("| writer | rows | seconds | rows/s | vs pyarrow (time) | bytes written | files |")
print("|---|---:|---:|---:|---:|---:|---:|")
labels = {
    "flowc": "`flowc run`: stdin → `parse combined` → memory → `files` (parquet)",
    "null": "`flowc run`: the same into `null` (no file written)",
    "pyarrow": "Python `re` + pyarrow `write_table` (baseline)",
}
for name in ["pyarrow", "flowc", "null"]:
    r = rows[name]
    s = statistics.median(r["secs"])
    print("| %s | %d | %.2f | %.0f | %.2f× | %d | %s |" % (labels[name], n, s, n / s, s / base, r["bytes"], r["files"]))
w = statistics.median(rows["pyarrow"]["write"])
print()
print("Of pyarrow's time, %.2f s (%.0f rows/s) is building the Arrow table and writing the Parquet file; the"
      % (w, n / w))
f = statistics.median(rows["flowc"]["secs"])
z = statistics.median(rows["null"]["secs"])
print("rest is Python parsing the lines. flowc's figure includes reading and parsing, which the `null` row")
print("measures alone: writing Parquet (with its crash journal) adds %.2f s of wall-clock time. The sink"
      % (f - z))
print("encodes on another core while the parser works, so the pipeline is bound by `parse combined`,")
print("not by the Parquet writer.")
PY

cat "$section"
if [ "$write" = 1 ]; then
  python3 - "$section" <<'PY'
import re, sys
section = open(sys.argv[1]).read().rstrip("\n")
doc = open("BENCHMARKS.md").read()
block = "<!-- parquet-bench:start -->\n" + section + "\n<!-- parquet-bench:end -->"
if "<!-- parquet-bench:start -->" in doc:
    doc = re.sub(r"<!-- parquet-bench:start -->.*?<!-- parquet-bench:end -->", lambda m: block, doc, flags=re.S)
else:
    doc = doc.rstrip("\n") + "\n\n" + block + "\n"
open("BENCHMARKS.md", "w").write(doc)
PY
  echo "parquet_bench: BENCHMARKS.md updated" >&2
fi
