"""Reads the files a `files` sink wrote with pyarrow, independently of flowc.

Usage: read_back.py DIR. Prints one JSON object per finished file under DIR (sorted by path):
{"file": relative path, "columns": [[name, pyarrow type, nullable], ...], "rows": [[value, ...], ...]}.
Parquet and Arrow IPC files are read with their own readers; NDJSON and CSV through pyarrow's input
streams (gzip and zstd decompressed by pyarrow, CSV columns read as strings). Timestamps print as
ISO 8601. Exits 3 with a message when pyarrow is missing.
"""

import json
import os
import sys

try:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq
except ImportError as err:  # the test reports this; it must not pass without a reader
    print(f"pyarrow is required to read the files back ({err}); run `pip install pyarrow`", file=sys.stderr)
    sys.exit(3)


def value(v):
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def table_rows(table):
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [[value(c[r]) for c in cols] for r in range(table.num_rows)]


def compression(path):
    if path.endswith(".gz"):
        return "gzip"
    if path.endswith(".zst"):
        return "zstd"
    return None


def read(path):
    name = path.removesuffix(".gz").removesuffix(".zst")
    if name.endswith(".parquet"):
        table = pq.read_table(path)
    elif name.endswith(".arrow"):
        with pa.memory_map(path) as source:
            table = ipc.open_file(source).read_all()
    elif name.endswith(".csv"):
        with pa.input_stream(path, compression=compression(path)) as stream:
            header = stream.read(1 << 20).split(b"\n", 1)[0].decode()
        names = header.split(",")
        stream = pa.input_stream(path, compression=compression(path))
        table = pacsv.read_csv(stream, convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
    else:
        with pa.input_stream(path, compression=compression(path)) as stream:
            text = stream.read().decode()
        return {"columns": None, "rows": [json.loads(line) if name.endswith(".json") else line for line in text.splitlines()]}
    columns = [[f.name, str(f.type), f.nullable] for f in table.schema]
    return {"columns": columns, "rows": table_rows(table)}


def main():
    root = sys.argv[1]
    found = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            found.append(os.path.relpath(os.path.join(dirpath, f), root))
    for rel in sorted(found):
        out = {"file": rel}
        out.update(read(os.path.join(root, rel)))
        print(json.dumps(out))


main()
