//! Runs `testdata/sql/*.slt` against a store of the bundled sample. Each `query` block's rows are a
//! reviewed snapshot; `UPDATE_SNAPSHOTS=1` rewrites them (then review the diff).

use std::path::{Path, PathBuf};

use tracehound_sql::datafusion::arrow::array::Array;
use tracehound_sql::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use tracehound_sql::{run_blocking, SqlOptions};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn render(result: &tracehound_sql::SqlResult) -> String {
    let (schema, batches) = result;
    let mut lines = vec![schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect::<Vec<_>>()
        .join("\t")];
    let options = FormatOptions::default().with_null("NULL");
    for b in batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .zip(&fmts)
                .map(|(c, f)| {
                    if c.is_null(i) {
                        "NULL".into()
                    } else {
                        f.value(i).to_string()
                    }
                })
                .collect();
            lines.push(cells.join("\t"));
        }
    }
    lines.join("\n")
}

#[test]
fn sql_snapshots_hold() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    tracehound_ingest::IngestBuilder::new()
        .build()
        .run(&[root().join("testdata/sample")], &store_dir)
        .unwrap();
    let store = tracehound_query::Store::open(&store_dir).unwrap();
    let opts = SqlOptions::default();
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    for entry in std::fs::read_dir(root().join("testdata/sql")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "slt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        let mut failures = Vec::new();
        // Blocks are separated by blank lines; comments and blank lines are kept as they are.
        for block in text.split("\n\n") {
            let lines: Vec<&str> = block.lines().collect();
            let kind = lines.first().copied().unwrap_or("");
            if kind != "query" && kind != "error" {
                out.push_str(block);
                out.push_str("\n\n");
                continue;
            }
            let sep = lines
                .iter()
                .position(|l| *l == "----")
                .expect("a ---- line");
            let sql = lines[1..sep].join("\n");
            let expected = lines[sep + 1..].join("\n");
            let got = match (kind, run_blocking(&store, &sql, &opts)) {
                ("query", Ok(r)) => render(&r),
                ("query", Err(e)) => format!("ERROR {e}"),
                (_, Ok(r)) => format!("unexpectedly succeeded:\n{}", render(&r)),
                (_, Err(e)) => {
                    let msg = e.to_string();
                    if !expected.is_empty() && msg.contains(&expected) {
                        expected.clone()
                    } else {
                        msg.lines().next().unwrap_or("").to_string()
                    }
                }
            };
            if got != expected {
                failures.push(format!("{sql}\n--- expected\n{expected}\n--- got\n{got}"));
            }
            out.push_str(&format!("{kind}\n{sql}\n----\n{got}\n\n"));
        }
        if update {
            std::fs::write(&path, out.trim_end().to_string() + "\n").unwrap();
        } else {
            assert!(
                failures.is_empty(),
                "{}: {} block(s) differ (UPDATE_SNAPSHOTS=1 rewrites them):\n\n{}",
                path.display(),
                failures.len(),
                failures.join("\n\n")
            );
        }
    }
}
