#!/usr/bin/env bash
# Benchmarks the `files` sink writing Parquet objects to an S3 server beside pyarrow writing the same
# rows to the same server, and writes the results under "## files sink: Parquet on S3" in BENCHMARKS.md
# (between <!-- s3-bench:start --> and <!-- s3-bench:end -->, appended at the end if absent).
#
# Workload W1: 2,000,000 Apache combined-format access-log lines from bench/gen_workload.py. The S3
# server is moto (`pip install 'moto[server]'`), started here on a free port of 127.0.0.1, so the numbers
# measure the writers against the same local server, not a network. Measured in one run:
#   - `flowc run`: stdin -> parse combined as Access (11 typed fields) -> memory -> files on
#     s3://bench/flowc/ (parquet, zstd, row groups of 1,000,000, rolled at 128 MiB: multipart uploads);
#   - bench/pyarrow_s3.py: the same rows parsed by a Python regular expression, encoded by pyarrow with
#     the same codec and row groups and uploaded by boto3 (the baseline; its write time alone shown too).
# Each: wall seconds (median of $RUNS), rows/s, ratio to pyarrow, bytes stored. flowc's objects are read
# back with pyarrow: every row there, the declared column types, or the script fails.
#
# Usage: bench/s3_bench.sh [--no-write]   (env: FLOWC_BENCH_DIR scratch dir, FLOWC_BENCH_LINES, RUNS,
# FLOWC_BIN a flowc binary to use instead of building one)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
lines="${FLOWC_BENCH_LINES:-2000000}"
runs="${RUNS:-3}"
write=1
[ "${1:-}" = "--no-write" ] && write=0

python3 -c "import pyarrow, moto, boto3" 2>/dev/null || {
  echo "s3_bench: pyarrow, moto[server] and boto3 are needed: pip install pyarrow==18.1.0 'moto[server]==5.2.1'" >&2
  exit 1
}

scratch="${FLOWC_BENCH_DIR:-${TMPDIR:-/tmp}}/flowc-s3-bench-$$"
mkdir -p "$scratch"
moto_pid=""
trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$scratch"' EXIT

if [ -n "${FLOWC_BIN:-}" ]; then
  flowc="$FLOWC_BIN" # an already built binary (a check of this script; numbers need a release build)
else
  cargo build --release -p flowc >&2
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$repo/$target" ;; esac
  flowc="$target/release/flowc"
fi

python3 bench/gen_workload.py "$scratch/data" --lines "$lines" --tcp-lines 0 --kafka-lines 0 >&2
input="$scratch/data/access.log"
in_md5=$(md5sum < "$input" | cut -d' ' -f1)

python3 -u -m moto.server -H 127.0.0.1 -p 0 2> "$scratch/moto.log" > /dev/null &
moto_pid=$!
for _ in $(seq 1 300); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$scratch/moto.log" | head -1 | cut -d: -f3 || true)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "s3_bench: moto did not start:" >&2; cat "$scratch/moto.log" >&2; exit 1; }
endpoint="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
s3py() {
  python3 - "$endpoint" "$@" <<PY
import sys, boto3, json
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
$S3PY
PY
}
S3PY='s3.create_bucket(Bucket="bench")' s3py

work="$scratch/work"
mkdir -p "$work"
cat > "$work/s3.flow" <<FLOW
type Access = {
  host: string, ident: string, user: string, ts: timestamp, method: string, path: string,
  protocol: string, status: int, bytes: int?, referer: string, agent: string,
}
source r1 = stdin { batch_size = 10_000 }
channel c1 = memory { capacity = 100_000 }
sink k1 = files {
  path     = "s3://bench/flowc/"
  format   = parquet
  roll     = { size = 128MiB, interval = 0s, idle = 0s }
  endpoint = "$endpoint"
  allow_http = true
}
r1 | parse combined as Access -> c1 -> k1
FLOW

check_flowc() {
  python3 - "$endpoint" "$lines" <<'PY'
import sys
import pyarrow.fs as pfs, pyarrow.parquet as pq
s3 = pfs.S3FileSystem(endpoint_override=sys.argv[1].split("://")[1], scheme="http", access_key="bench",
                      secret_key="bench", region="us-east-1")
files = [f for f in s3.get_file_info(pfs.FileSelector("bench/flowc", recursive=True)) if f.type == pfs.FileType.File]
assert files and all(f.path.endswith(".parquet") for f in files), [f.path for f in files]
rows = sum(pq.ParquetFile(f.path, filesystem=s3).metadata.num_rows for f in files)
assert rows == int(sys.argv[2]), "flowc wrote %d rows, expected %s" % (rows, sys.argv[2])
types = {f.name: str(f.type) for f in pq.read_schema(files[0].path, filesystem=s3)}
assert types["ts"] == "timestamp[ms, tz=UTC]" and types["status"] == "int64" and types["bytes"] == "int64", types
print("%d\t%d" % (len(files), sum(f.size for f in files)))
for f in files:
    s3.delete_file(f.path)
PY
}

results="$scratch/results.tsv"
: > "$results"
for ((i = 1; i <= runs; i++)); do
  rm -rf "$work/.flow"
  t0=$(date +%s.%N)
  "$flowc" run --data-dir "$work/.flow" "$work/s3.flow" < "$input" > /dev/null 2> "$work/stderr.txt" \
    || { echo "s3_bench: FAIL: flowc run exited non-zero:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  t1=$(date +%s.%N)
  check=$(check_flowc)
  printf 'flowc\t%s\t%s\t\n' "$(echo "$t1 - $t0" | bc -l)" "$check" >> "$results"
  echo "s3_bench: flowc run $i: $(echo "$t1 - $t0" | bc -l) s, objects/bytes $check" >&2

  t0=$(date +%s.%N)
  py=$(python3 bench/pyarrow_s3.py "$input" "$endpoint" "bench/pyarrow/part-$i.parquet")
  t1=$(date +%s.%N)
  IFS=$'\t' read -r py_rows py_parse py_write py_bytes <<< "$py"
  [ "$py_rows" -eq "$lines" ] || { echo "s3_bench: FAIL: pyarrow parsed $py_rows rows" >&2; exit 1; }
  printf 'pyarrow\t%s\t1\t%s\t%s\n' "$(echo "$t1 - $t0" | bc -l)" "$py_bytes" "$py_write" >> "$results"
  echo "s3_bench: pyarrow run $i: $(echo "$t1 - $t0" | bc -l) s (write $py_write s), $py_bytes bytes" >&2
done

section="$scratch/section.md"
python3 - "$results" "$lines" "$(stat -c %s "$input")" "$in_md5" "$(nproc)" "$(date -u +%Y-%m-%d)" "$runs" \
  "$(python3 -c 'import pyarrow, moto; print(pyarrow.__version__, moto.__version__)')" > "$section" <<'PY'
import statistics, sys
path, n, nbytes, md5, cores, day, runs, versions = sys.argv[1:]
n, nbytes = int(n), int(nbytes)
pa_version, moto_version = versions.split()
rows = {}
for line in open(path):
    name, secs, files, size, write = line.rstrip("\n").split("\t")
    r = rows.setdefault(name, {"secs": [], "files": files, "bytes": int(size), "write": []})
    r["secs"].append(float(secs))
    if write:
        r["write"].append(float(write))
base = statistics.median(rows["pyarrow"]["secs"])
print("## files sink: Parquet on S3")
print()
print("Measured by `bench/s3_bench.sh` on %s cores, %s, release build, both writers in the same run on the same" % (cores, day))
print("input against the same S3 server: moto %s on 127.0.0.1 (a local stand-in, so this measures the" % moto_version)
print("writers and the S3 protocol, not a network). Input: %d lines, %d bytes, Apache combined format from" % (n, nbytes))
print("`bench/gen_workload.py` (md5 `%s`), parsed into 11 typed columns; Parquet with zstd, row groups of" % md5)
print("1,000,000. flowc's objects were read back with pyarrow every run: all %d rows, declared types. Seconds:" % n)
print("median of %s wall-clock runs (process start to exit, parsing included)." % runs)
print()
print("| writer | rows | seconds | rows/s | vs pyarrow (time) | objects | bytes stored |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, label in [("pyarrow", "pyarrow %s + boto3: Python regex parse, `pq.write_table`, `upload_fileobj` (baseline)" % pa_version),
                    ("flowc", "`flowc run`: stdin → `parse combined` → memory → `files` on `s3://` (multipart)")]:
    r = rows[name]
    secs = statistics.median(r["secs"])
    print("| %s | %d | %.2f | %d | %.2f× | %s | %d |" % (label, n, secs, n / secs, secs / base, r["files"], r["bytes"]))
write = statistics.median(rows["pyarrow"]["write"])
print()
print("The baseline's own share (building the table, encoding and uploading it, its parse excluded): %.2f s." % write)
PY

cat "$section"
if [ "$write" -eq 1 ]; then
  python3 - BENCHMARKS.md "$section" <<'PY'
import sys
doc, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
start, end = "<!-- s3-bench:start -->", "<!-- s3-bench:end -->"
text = open(doc).read()
block = "%s\n%s\n%s" % (start, section, end)
if start in text and end in text:
    text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text)
PY
  echo "s3_bench: BENCHMARKS.md updated" >&2
fi
