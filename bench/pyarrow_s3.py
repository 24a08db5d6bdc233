#!/usr/bin/env python3
"""The baseline of bench/s3_bench.sh: the access-log rows written to an S3 server as Parquet by pyarrow.

Usage: pyarrow_s3.py ACCESS_LOG ENDPOINT BUCKET/KEY. Parses Apache's combined format with a regular
expression into the columns flowc's `parse combined as Access` gives (same names and types, the time as
timestamp[ms, UTC]), encodes them with pyarrow (zstd, row groups of 1,000,000 rows: flowc's defaults)
and uploads the object with boto3's transfer manager (multipart above 8 MiB). pyarrow's own S3
filesystem is not used: its 18.x client fails moto's CompleteMultipartUpload answer. Prints,
tab-separated: rows, seconds parsing, seconds encoding and uploading, bytes stored.
"""

import re
import sys
import time
from datetime import datetime, timedelta, timezone

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

COMBINED = re.compile(r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) "(.*?)" "(.*?)"$')
MONTH = {name: i for i, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def epoch_ms(stamp):
    """`10/Oct/2000:13:55:36 -0700` as milliseconds since the epoch."""
    date, clock_zone = stamp.split(":", 1)
    day, month, year = date.split("/")
    clock, zone = clock_zone.split(" ")
    h, m, s = (int(x) for x in clock.split(":"))
    east = (int(zone[1:3]) * 60 + int(zone[3:5])) * (1 if zone[0] == "+" else -1)
    local = datetime(int(year), MONTH[month], int(day), h, m, s, tzinfo=timezone.utc)
    return int((local - timedelta(minutes=east)).timestamp()) * 1000


def main():
    source, endpoint, target = sys.argv[1:4]
    fields = ["host", "ident", "user", "ts", "method", "path", "protocol", "status", "bytes", "referer", "agent"]
    columns = [[] for _ in fields]
    started = time.perf_counter()
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            found = COMBINED.match(line.rstrip("\n"))
            if found is None:
                continue
            values = list(found.groups())
            values[3] = epoch_ms(values[3])
            values[7] = int(values[7])
            values[8] = None if values[8] == "-" else int(values[8])
            for column, value in zip(columns, values):
                column.append(value)
    parsed = time.perf_counter()
    types = [pa.string()] * 3 + [pa.timestamp("ms", tz="UTC")] + [pa.string()] * 3 + [pa.int64(), pa.int64()]
    types += [pa.string()] * 2
    schema = pa.schema([pa.field(n, t, nullable=(n == "bytes")) for n, t in zip(fields, types)])
    table = pa.Table.from_arrays([pa.array(c, type=t) for c, t in zip(columns, types)], schema=schema)
    body = pa.BufferOutputStream()
    pq.write_table(table, body, compression="zstd", row_group_size=1_000_000)
    bucket, key = target.split("/", 1)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                      aws_secret_access_key="bench")
    s3.upload_fileobj(pa.BufferReader(body.getvalue()), bucket, key)
    written = time.perf_counter()
    size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    print("%d\t%.3f\t%.3f\t%d" % (table.num_rows, parsed - started, written - parsed, size))


if __name__ == "__main__":
    main()
