#!/usr/bin/env python3
"""The pyarrow baseline of bench/parquet_bench.sh: the same access-log rows written to Parquet by pyarrow.

Usage: pyarrow_parquet.py ACCESS_LOG OUT_FILE. Parses the combined log format with a regular expression
into the columns flowc writes (same names and types, timestamps as timestamp[ms, UTC]), then writes
them with zstd in row groups of 1,000,000 rows, like flowc's defaults. Prints, tab-separated:
rows, seconds parsing, seconds building the table and writing, bytes written.
"""

import re
import sys
import time
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

LINE = re.compile(
    r'(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"'
)
MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}


def millis(text):
    # 25/Nov/2026:10:00:00 +0000
    day, mon, rest = text.split("/", 2)
    year, hh, mm, rest = rest.split(":", 3)
    ss, zone = rest.split(" ")
    sign = 1 if zone[0] == "+" else -1
    offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    t = datetime(int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
    return int(t.timestamp() - offset) * 1000


def main():
    path, out = sys.argv[1], sys.argv[2]
    names = ["host", "ident", "user", "ts", "method", "path", "protocol", "status", "bytes", "referer", "agent"]
    cols = {n: [] for n in names}
    t0 = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            g = m.groups()
            cols["host"].append(g[0])
            cols["ident"].append(g[1])
            cols["user"].append(g[2])
            cols["ts"].append(millis(g[3]))
            cols["method"].append(g[4])
            cols["path"].append(g[5])
            cols["protocol"].append(g[6])
            cols["status"].append(int(g[7]))
            cols["bytes"].append(None if g[8] == "-" else int(g[8]))
            cols["referer"].append(g[9])
            cols["agent"].append(g[10])
    t1 = time.perf_counter()
    schema = pa.schema(
        [pa.field(n, pa.string(), False) for n in ["host", "ident", "user"]]
        + [pa.field("ts", pa.timestamp("ms", tz="UTC"), False)]
        + [pa.field(n, pa.string(), False) for n in ["method", "path", "protocol"]]
        + [pa.field("status", pa.int64(), False), pa.field("bytes", pa.int64(), True)]
        + [pa.field(n, pa.string(), False) for n in ["referer", "agent"]]
    )
    table = pa.Table.from_pydict(cols, schema=schema)
    pq.write_table(table, out, compression="zstd", row_group_size=1_000_000)
    t2 = time.perf_counter()
    import os

    print(f"{table.num_rows}\t{t1 - t0:.3f}\t{t2 - t1:.3f}\t{os.path.getsize(out)}")


main()
