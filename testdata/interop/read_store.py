"""Reads a tracehound store with DuckDB, pyarrow and Polars and prints what each saw, as JSON.

Usage: python3 read_store.py STORE 'SQL over a table named events'
Run by crates/cli/tests/it/interop.rs, which compares the column types with the documented schema and
the query's result with `tracehound sql`.
"""
import json
import sys

store, query = sys.argv[1], sys.argv[2]
files = f"{store}/events/*/*.parquet"
out = {}

import duckdb  # noqa: E402

con = duckdb.connect()
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{files}', hive_partitioning = true)")
out["duckdb"] = {
    "rows": con.execute("SELECT count(*) FROM events").fetchone()[0],
    "types": {r[0]: r[1] for r in con.execute("DESCRIBE events").fetchall()},
    "query": [list(r) for r in con.execute(query).fetchall()],
}

import pyarrow.dataset as ds  # noqa: E402

table = ds.dataset(f"{store}/events", format="parquet", partitioning="hive").to_table()
out["pyarrow"] = {
    "rows": table.num_rows,
    "types": {f.name: str(f.type) for f in table.schema},
}

import polars as pl  # noqa: E402

frame = pl.scan_parquet(files, hive_partitioning=True).collect()
out["polars"] = {
    "rows": frame.height,
    "types": {name: str(dtype) for name, dtype in frame.schema.items()},
}

json.dump(out, sys.stdout, default=str)
