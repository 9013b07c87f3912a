#!/usr/bin/env bash
# Macro benchmark: tracehound ingest against DuckDB and plain zstd on the same generated file, in the
# same run. Reports MB/s (input bytes / wall seconds) and peak RSS for each.
#
#   bash benches/run.sh [SIZE_MIB ...]      default: 100 1024
#
# Needs: a Rust toolchain, python3 (DuckDB is pip-installed when missing), zstd, GNU time.
# Results go to stdout as a Markdown table; copy them into docs/benchmarks.md with the machine's
# description. Data lives in benches/data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1024)
threads=${THREADS:-2}

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p tracehound -p tracehound-benches
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb
command -v zstd >/dev/null || { apt-get update -q && apt-get install -y -q zstd; }
bin=target/release/tracehound
mkdir -p benches/data

# Runs a command under GNU time; prints "seconds peak_rss_kib".
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>&1
  cat "$log"
  rm -f "$log"
}

printf '| input | tool | seconds | MB/s | peak RSS (MiB) | output (MiB) |\n|---|---|---|---|---|---|\n'
for mib in "${sizes[@]}"; do
  data=benches/data/archive-${mib}m.jsonl
  [ -f "$data" ] || target/release/gen-archive --bytes $((mib * 1048576)) --out "$data" 2>/dev/null
  bytes=$(stat -c %s "$data")
  sync
  cat "$data" >/dev/null # warm the page cache: every tool reads from memory

  row() { # name seconds rss_kib out_bytes
    awk -v n="$1" -v s="$2" -v r="$3" -v o="$4" -v b="$bytes" -v m="$mib" \
      'BEGIN { printf "| %d MiB | %s | %.2f | %.0f | %.0f | %.0f |\n", m, n, s, b / 1e6 / s, r / 1024, o / 1048576 }'
  }

  rm -rf benches/data/store
  read -r s r < <(measure $bin ingest "$data" --store benches/data/store --threads "$threads" --quiet)
  row "tracehound ingest ($threads threads)" "$s" "$r" "$(du -sb benches/data/store | cut -f1)"

  rm -f benches/data/duck.parquet
  read -r s r < <(measure python3 -c "
import duckdb
con = duckdb.connect()
con.execute('SET threads TO $threads')
con.execute(\"COPY (SELECT * FROM read_json_auto('$data', maximum_object_size=104857600)) TO 'benches/data/duck.parquet' (FORMAT parquet, COMPRESSION zstd)\")
")
  row "DuckDB read_json_auto to Parquet zstd ($threads threads)" "$s" "$r" "$(stat -c %s benches/data/duck.parquet)"

  for level in 3 1; do
    read -r s r < <(measure zstd -q -f -T"$threads" -"$level" "$data" -o benches/data/plain.zst)
    row "zstd -T$threads -$level" "$s" "$r" "$(stat -c %s benches/data/plain.zst)"
  done
  rm -rf benches/data/store benches/data/duck.parquet benches/data/plain.zst
done
