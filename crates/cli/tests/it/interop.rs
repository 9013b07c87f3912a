//! The store read by the tools analysts already have: DuckDB, pyarrow and Polars see the documented
//! column types, and one SQL query gives the same answer in DuckDB as in `tracehound sql`.
//!
//! Needs python3 with duckdb, pyarrow and polars (`.ci/run` installs them); skips with the reason when
//! they are absent, unless `TRACEHOUND_REQUIRE_INTEROP=1` (set by CI) makes that a failure.

use std::process::Command;

use super::{sample, testdata, text, tracehound};

/// The documented type of every column (docs/ARCHITECTURE.md, "Reading the store elsewhere"), as
/// (column, DuckDB, pyarrow, Polars).
const TYPES: [(&str, &str, &str, &str); 28] = [
    ("session_id", "VARCHAR", "string", "String"),
    ("seq", "UINTEGER", "uint32", "UInt32"),
    (
        "ts",
        "TIMESTAMP WITH TIME ZONE",
        "timestamp[us, tz=UTC]",
        "Datetime(time_unit='us', time_zone='UTC')",
    ),
    ("event_id", "VARCHAR", "string", "String"),
    ("parent_id", "VARCHAR", "string", "String"),
    ("kind", "VARCHAR", "string", "String"),
    ("role", "VARCHAR", "string", "String"),
    ("user_id", "VARCHAR", "string", "String"),
    ("agent_id", "VARCHAR", "string", "String"),
    ("model", "VARCHAR", "string", "String"),
    ("provider", "VARCHAR", "string", "String"),
    ("tool_name", "VARCHAR", "string", "String"),
    ("call_id", "VARCHAR", "string", "String"),
    ("link_method", "VARCHAR", "string", "String"),
    ("args", "VARCHAR", "string", "String"),
    ("content", "VARCHAR", "string", "String"),
    ("is_error", "BOOLEAN", "bool", "Boolean"),
    ("input_tokens", "BIGINT", "int64", "Int64"),
    ("output_tokens", "BIGINT", "int64", "Int64"),
    ("cost_usd", "DOUBLE", "double", "Float64"),
    ("source_format", "VARCHAR", "string", "String"),
    ("source_file", "VARCHAR", "string", "String"),
    ("source_line", "UBIGINT", "uint64", "UInt64"),
    ("source_offset", "UBIGINT", "uint64", "UInt64"),
    ("source_pointer", "VARCHAR", "string", "String"),
    ("attributes", "VARCHAR", "string", "String"),
    ("message_id", "VARCHAR", "string", "String"),
    ("text_features", "UBIGINT", "uint64", "UInt64"),
];

const QUERY: &str = "SELECT kind, count(*) AS n, count(DISTINCT session_id) AS sessions, \
    sum(input_tokens) AS input_tokens, count(ts) AS timed FROM events GROUP BY kind ORDER BY kind";

fn python_ready() -> Result<(), String> {
    let probe = Command::new("python3")
        .args(["-c", "import duckdb, pyarrow, polars"])
        .output()
        .map_err(|e| format!("python3 not found: {e}"))?;
    if probe.status.success() {
        Ok(())
    } else {
        Err(format!(
            "python3 lacks duckdb, pyarrow or polars ({}); `python3 -m pip install duckdb pyarrow polars`",
            text(&probe.stderr).lines().last().unwrap_or("")
        ))
    }
}

#[test]
fn duckdb_pyarrow_and_polars_read_the_store_with_the_documented_types() {
    if let Err(reason) = python_ready() {
        if std::env::var_os("TRACEHOUND_REQUIRE_INTEROP").is_some() {
            panic!("{reason}");
        }
        eprintln!("skipping the interoperability test: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    for input in [sample(), testdata("fixtures"), testdata("hostile")] {
        let out = tracehound(&["ingest", input.to_str().unwrap(), "--store", s, "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let info: serde_json::Value =
        serde_json::from_slice(&tracehound(&["info", "--store", s, "--format", "json"]).stdout)
            .unwrap();
    let events = info["events"].as_u64().unwrap();

    let script = testdata("interop/read_store.py");
    let out = Command::new("python3")
        .args([script.to_str().unwrap(), s, QUERY])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    for (i, reader) in ["duckdb", "pyarrow", "polars"].iter().enumerate() {
        assert_eq!(seen[reader]["rows"], events, "{reader} reads every event");
        let types = seen[reader]["types"].as_object().unwrap();
        for (column, duck, arrow, polars) in TYPES {
            let want = [duck, arrow, polars][i];
            assert_eq!(types[column], want, "{reader}: type of {column}");
        }
        // Every column of the store, plus the hive partition column `bucket`.
        assert_eq!(types.len(), TYPES.len() + 1, "{reader}: {types:?}");
    }

    // The same query, the same answer.
    let ours = tracehound(&["sql", QUERY, "--store", s, "--format", "jsonl"]);
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    let ours: Vec<Vec<serde_json::Value>> = text(&ours.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            ["kind", "n", "sessions", "input_tokens", "timed"]
                .iter()
                .map(|k| v[k].clone())
                .collect()
        })
        .collect();
    let duck: Vec<Vec<serde_json::Value>> =
        serde_json::from_value(seen["duckdb"]["query"].clone()).unwrap();
    assert!(ours.len() >= 6, "{ours:?}");
    assert_eq!(ours, duck);
}
