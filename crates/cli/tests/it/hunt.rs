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
