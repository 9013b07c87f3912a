//! Hunting across the archive: `search` against an oracle that reads the store row by row.

use std::collections::BTreeSet;
use std::path::Path;

use super::{ingest_to, sample, shared_corpus, testdata, text, tracehound};

/// (session, seq) of every event whose `fields` match `pattern`, read naively from the store's files.
fn oracle(store: &Path, pattern: &str, fields: &[&str]) -> BTreeSet<(String, u32)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let re = regex::Regex::new(pattern).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("manifest.json")).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    for f in manifest["files"].as_array().unwrap() {
        if f["bucket"].is_null() {
            continue;
        }
        let file = std::fs::File::open(store.join(f["path"].as_str().unwrap())).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            let mut session = String::new();
            let mut seq = 0;
            let mut hit = false;
            for (name, value) in row.get_column_iter() {
                match (name.as_str(), value) {
                    ("session_id", parquet::record::Field::Str(s)) => session = s.clone(),
                    ("seq", parquet::record::Field::UInt(n)) => seq = *n,
                    (n, parquet::record::Field::Str(s)) if fields.contains(&n) => {
                        hit |= re.is_match(s);
                    }
                    _ => {}
                }
            }
            if hit {
                out.insert((session, seq));
            }
        }
    }
    out
}

fn search_hits(args: &[&str]) -> BTreeSet<(String, u32)> {
    let out = tracehound(&[&["search"], args, &["--format", "jsonl"]].concat());
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["session_id"].as_str().unwrap().to_string(),
                v["seq"].as_u64().unwrap() as u32,
            )
        })
        .collect()
}

#[test]
fn search_finds_exactly_the_events_a_row_by_row_scan_finds() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &testdata("fixtures"));
    let sdir = tempfile::tempdir().unwrap();
    let sample_store = ingest_to(sdir.path(), &sample());
    let mut stores = vec![(store, dir)];
    let corpus_dir = tempfile::tempdir().unwrap();
    if let Some(formats) = shared_corpus("formats") {
        stores.push((ingest_to(corpus_dir.path(), &formats), corpus_dir));
    }
    stores.push((sample_store, sdir));
    let patterns = [
        ("(?i)ignore", "content,args"),
        ("^\\{", "args"),
        ("[a-z]+@[a-z]+\\.example", "content,args"),
        ("\\bthe\\b", "content"),
        ("e$", "content"),
        ("Bash|Read|search", "tool_name"),
    ];
    for (store, _) in &stores {
        let mut nonempty = 0;
        for (pattern, fields) in patterns {
            let want = oracle(
                Path::new(store),
                pattern,
                &fields.split(',').collect::<Vec<_>>(),
            );
            let got = search_hits(&[pattern, "--store", store, "--field", fields]);
            assert_eq!(got, want, "{pattern} over {fields} in {store}");
            // Same hits whatever the thread count.
            let one = search_hits(&[
                pattern,
                "--store",
                store,
                "--field",
                fields,
                "--threads",
                "1",
            ]);
            assert_eq!(one, want);
            nonempty += usize::from(!want.is_empty());
        }
        assert!(nonempty >= 3, "the patterns must find something in {store}");
    }
}

#[test]
fn search_filters_counts_and_exits_like_grep() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let hits = search_hits(&["GB33BUKB20201555555555", "-F", "--store", &store]);
    assert_eq!(
        hits,
        BTreeSet::from([("fin-0001".into(), 3), ("fin-0001".into(), 6)])
    );
    let calls = search_hits(&[
        "GB33BUKB20201555555555",
        "-F",
        "--store",
        &store,
        "--kind",
        "tool_call",
    ]);
    assert_eq!(calls, BTreeSet::from([("fin-0001".into(), 6)]));
    let window = search_hits(&[
        "GB33",
        "--store",
        &store,
        "--since",
        "2026-11-20T09:00:05Z",
        "--until",
        "2026-11-20T09:00:10Z",
    ]);
    assert_eq!(window, BTreeSet::from([("fin-0001".into(), 6)]));

    let counted = tracehound(&[
        "search",
        "(?i)invoice",
        "--store",
        &store,
        "--count-by",
        "session",
        "--format",
        "csv",
    ]);
    assert_eq!(counted.status.code(), Some(0));
    let csv = text(&counted.stdout);
    assert!(csv.starts_with("key,events\n"), "{csv}");
    assert!(csv.contains("\"fin-0001\","), "{csv}");

    let none = tracehound(&["search", "no such text anywhere", "--store", &store]);
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("0 of 23 events matched"));
    let bad = tracehound(&["search", "(unclosed", "--store", &store]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("invalid pattern"),
        "{}",
        text(&bad.stderr)
    );
    let field = tracehound(&["search", "x", "--store", &store, "--field", "contnet"]);
    assert_eq!(field.status.code(), Some(2));
    assert!(text(&field.stderr).contains("not a searchable field"));
}

/// `sql`, `stats`, `campaigns` and `report` agree with `info` on every ingested format.
#[test]
fn every_hunting_command_covers_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    // The fixtures of each format, plus the shared real logs when present, in one store.
    let fixtures = testdata("fixtures");
    let mut store = ingest_to(dir.path(), &fixtures);
    if let Some(formats) = shared_corpus("formats") {
        let both = inputs.path().join("both");
        std::fs::create_dir(&both).unwrap();
        std::os::unix::fs::symlink(&fixtures, both.join("fixtures")).unwrap();
        std::os::unix::fs::symlink(&formats, both.join("formats")).unwrap();
        let d2 = dir.path().join("all");
        std::fs::create_dir(&d2).unwrap();
        store = ingest_to(&d2, &both);
    }
    let info: serde_json::Value = serde_json::from_slice(
        &tracehound(&["info", "--store", &store, "--format", "json"]).stdout,
    )
    .unwrap();
    let sql = tracehound(&[
        "sql",
        "SELECT source_format, count(*) AS n FROM events GROUP BY source_format ORDER BY source_format",
        "--store",
        &store,
        "--format",
        "jsonl",
    ]);
    assert_eq!(sql.status.code(), Some(0), "{}", text(&sql.stderr));
    let formats = info["formats"].as_object().unwrap();
    let rows: Vec<serde_json::Value> = text(&sql.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let with_events = formats
        .values()
        .filter(|f| f["events"].as_u64().unwrap() > 0)
        .count();
    assert_eq!(rows.len(), with_events, "{rows:?} vs {formats:?}");
    assert!(rows.len() >= 4, "at least the four fixture formats");
    for r in &rows {
        let f = r["source_format"].as_str().unwrap();
        assert_eq!(r["n"], formats[f]["events"], "{f}");
    }

    let stats: serde_json::Value = serde_json::from_slice(
        &tracehound(&["stats", "--store", &store, "--format", "json"]).stdout,
    )
    .unwrap();
    let by_model: u64 = stats["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["sessions"].as_u64().unwrap())
        .sum();
    assert_eq!(by_model, info["sessions"].as_u64().unwrap());
    let calls: u64 = stats["by_tool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["tool_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, info["kinds"]["tool_call"].as_u64().unwrap_or(0));

    let report = dir.path().join("r.json");
    let out = tracehound(&[
        "report",
        "--store",
        &store,
        "--output",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["sessions"], info["sessions"]);
    let scan = tracehound(&["scan", "--store", &store, "--format", "jsonl"]);
    assert_eq!(
        r["findings_total"].as_u64().unwrap() as usize,
        text(&scan.stdout).lines().count()
    );
    assert_eq!(
        tracehound(&["campaigns", "--store", &store]).status.code(),
        Some(0)
    );
}
