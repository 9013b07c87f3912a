//! Hostile and broken input: each case is a located reject or a clear per-file error, never a panic,
//! and the good input beside it still lands.

use std::io::Write;
use std::path::Path;

use tracehound_ingest::{IngestBuilder, Limits};

use crate::util::{assert_accounting, manifest, rejects, rows};

const GOOD: &str =
    r#"{"ts":"2026-01-01T00:00:00Z","session_id":"good","event":"user_message","content":"hello"}"#;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn every_kind_of_bad_input_is_a_located_reject_and_the_rest_lands() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let mut mixed = Vec::new();
    writeln!(mixed, "{GOOD}").unwrap();
    writeln!(mixed, "{{\"session_id\":\"good\",\"event\":").unwrap(); // malformed
    mixed.extend_from_slice(
        b"{\"session_id\":\"good\",\"event\":\"user\",\"content\":\"\xff\xfe\"}\n",
    ); // invalid UTF-8
    writeln!(
        mixed,
        "{{\"session_id\":\"good\",\"event\":\"user\",\"content\":{deep}}}"
    )
    .unwrap(); // deep nesting
    writeln!(mixed, "{GOOD}").unwrap();
    write(&inputs, "a-mixed.jsonl", &mixed);
    write(&inputs, "b-empty.jsonl", b"");
    write(&inputs, "c-blank.jsonl", b"\n  \n\n");
    write(
        &inputs,
        "d-binary.jsonl",
        &[0x7f, b'E', b'L', b'F', 0, 0, 1, 2, 3],
    );
    let good_gz = gzip(format!("{GOOD}\n").repeat(5_000).as_bytes());
    write(
        &inputs,
        "e-truncated.jsonl.gz",
        &good_gz[..good_gz.len() * 6 / 10],
    );
    let mut zst = zstd::encode_all(format!("{GOOD}\n").as_bytes(), 3).unwrap();
    let n = zst.len();
    zst[n / 2..].iter_mut().for_each(|b| *b ^= 0x5a);
    write(&inputs, "f-corrupt.jsonl.zst", &zst);
    write(
        &inputs,
        "g-unknown.json",
        br#"{"hello": "world", "n": [1, 2, 3]}"#,
    );
    write(&inputs, "h-text.log", b"2026-01-01 INFO not json at all\n");
    std::os::unix::fs::symlink(dir.path().join("missing"), inputs.join("i-dangling.jsonl"))
        .unwrap();
    write(
        &inputs,
        "j-deep-document.json",
        format!("{{\"messages\": {deep}}}\n{{}}\n").as_bytes(),
    );

    let store = dir.path().join("store");
    let summary = IngestBuilder::new()
        .threads(2)
        .build()
        .run(std::slice::from_ref(&inputs), &store)
        .unwrap();
    assert_accounting(&store);
    let rows = rows(&store);
    // Both good lines of the mixed file and the first good line of the truncated gzip stream landed.
    assert!(rows.iter().filter(|r| r.session_id == "good").count() >= 3);
    let by_name = |n: &str| {
        summary
            .inputs
            .iter()
            .find(|i| i.path.ends_with(n))
            .unwrap()
            .clone()
    };
    let mixed = by_name("a-mixed.jsonl");
    assert_eq!((mixed.records, mixed.events, mixed.rejects), (5, 2, 3));
    assert_eq!(by_name("b-empty.jsonl").records, 0);
    assert_eq!(by_name("c-blank.jsonl").records, 0);
    for name in [
        "d-binary.jsonl",
        "g-unknown.json",
        "h-text.log",
        "j-deep-document.json",
    ] {
        let i = by_name(name);
        assert!(i.error.is_some() && i.rejects == 1, "{name}: {i:?}");
    }
    assert!(by_name("i-dangling.jsonl").error.is_some());
    assert!(by_name("e-truncated.jsonl.gz").rejects >= 1);
    assert!(by_name("f-corrupt.jsonl.zst").rejects >= 1);

    let rej = rejects(&store);
    let reason = |file: &str| -> Vec<String> {
        rej.iter()
            .filter(|r| r["file"].as_str().unwrap().ends_with(file))
            .map(|r| r["reason"].as_str().unwrap().to_string())
            .collect()
    };
    let mixed_reasons = reason("a-mixed.jsonl");
    assert!(
        mixed_reasons[0].starts_with("malformed JSON"),
        "{mixed_reasons:?}"
    );
    assert!(
        mixed_reasons[1].starts_with("invalid UTF-8"),
        "{mixed_reasons:?}"
    );
    assert!(
        mixed_reasons[2].contains("nested deeper"),
        "{mixed_reasons:?}"
    );
    let lines: Vec<u64> = rej
        .iter()
        .filter(|r| r["file"].as_str().unwrap().ends_with("a-mixed.jsonl"))
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4]);
    assert!(reason("e-truncated.jsonl.gz")
        .iter()
        .any(|r| r.contains("truncated or corrupt")));
    assert!(reason("d-binary.jsonl")[0].contains("binary"));
    assert!(reason("i-dangling.jsonl")[0].contains("cannot"));
    // Excerpts are bounded.
    assert!(rej
        .iter()
        .all(|r| r["excerpt"].as_str().unwrap().len() <= 4 * 240));
}

#[test]
fn an_enormous_line_is_rejected_without_buffering_it_plain_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    // 200 MB in one line, between two good lines.
    let mut big = Vec::with_capacity(200_000_100);
    writeln!(big, "{GOOD}").unwrap();
    big.extend_from_slice(b"{\"session_id\":\"good\",\"content\":\"");
    big.resize(big.len() + 200_000_000, b'a');
    big.extend_from_slice(b"\"}\n");
    writeln!(big, "{GOOD}").unwrap();
    let plain = write(dir.path(), "big.jsonl", &big);
    let gz = write(dir.path(), "big.jsonl.gz", &gzip(&big));
    drop(big);
    for input in [plain, gz] {
        let store = dir.path().join(format!(
            "store-{}",
            input.extension().unwrap().to_str().unwrap()
        ));
        let summary = IngestBuilder::new()
            .threads(2)
            .build()
            .run(std::slice::from_ref(&input), &store)
            .unwrap();
        assert_accounting(&store);
        let i = &summary.inputs[0];
        assert_eq!(
            (i.records, i.events, i.rejects),
            (3, 2, 1),
            "{}",
            input.display()
        );
        let rej = rejects(&store);
        assert_eq!(rej[0]["line"], 2);
        assert_eq!(rej[0]["offset"], GOOD.len() as u64 + 1);
        assert!(rej[0]["reason"].as_str().unwrap().contains("--max-line"));
        // The line after it keeps its number and offset.
        let last = rows(&store)
            .into_iter()
            .max_by_key(|r| r.source_offset)
            .unwrap();
        assert_eq!(last.source_line, Some(3));
        assert_eq!(last.source_offset, GOOD.len() as u64 + 1 + 200_000_035);
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for _ in 0..50_000 {
        writeln!(text, "{GOOD}").unwrap();
    }
    let input = write(
        dir.path(),
        "bomb.jsonl.zst",
        &zstd::encode_all(&text[..], 19).unwrap(),
    );
    let store = dir.path().join("store");
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    let summary = IngestBuilder::new()
        .limits(limits)
        .build()
        .run(&[input], &store)
        .unwrap();
    assert_accounting(&store);
    let i = &summary.inputs[0];
    assert!(i.events > 0 && i.events < 50_000, "stopped partway: {i:?}");
    assert!(rejects(&store)
        .iter()
        .any(|r| r["reason"].as_str().unwrap().contains("--max-decompressed")));
    assert_eq!(manifest(&store).inputs.len(), 1);
}

#[test]
fn the_nesting_limit_is_the_users_and_a_deeper_record_is_a_located_reject() {
    let dir = tempfile::tempdir().unwrap();
    let nested = |depth: usize| {
        format!(
            "{{\"session_id\":\"n\",\"event\":\"user_message\",\"content\":\"x\",\"meta\":{}1{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    // Depth 4 (the record object and three arrays) passes a limit of 4; depth 6 does not.
    let input = write(
        dir.path(),
        "nested.jsonl",
        format!("{}\n{}\n{}\n", nested(4), nested(6), nested(3)).as_bytes(),
    );
    let store = dir.path().join("store");
    let limits = Limits {
        max_depth: 4,
        ..Limits::default()
    };
    let summary = IngestBuilder::new()
        .limits(limits)
        .build()
        .run(std::slice::from_ref(&input), &store)
        .unwrap();
    assert_accounting(&store);
    assert_eq!(summary.events, 2);
    let r = rejects(&store);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["line"], 2);
    assert_eq!(r[0]["offset"], nested(4).len() as u64 + 1);
    assert!(r[0]["reason"]
        .as_str()
        .unwrap()
        .contains("deeper than 4 levels (--max-depth)"));

    // The default accepts all three.
    let store = dir.path().join("default");
    let summary = IngestBuilder::new().build().run(&[input], &store).unwrap();
    assert_eq!(summary.events, 3);
}

/// Found by the `sniff` fuzz target: an OTLP document whose `scopeSpans` key was damaged parsed, made
/// no event and no reject, and so vanished from the accounting.
#[test]
fn fuzz_an_otlp_document_without_spans_is_a_reject_not_silently_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let doc = "{\n  \"resourceSpans\": [\n    {\"resource\": {\"attributes\": [{\"key\": \"service.name\", \"value\": {\"stringValue\": \"bot\"}}]},\n     \"scopeSpan?\": []}\n  ]\n}\n";
    let input = write(dir.path(), "trace.json", doc.as_bytes());
    let store = dir.path().join("store");
    let summary = IngestBuilder::new().build().run(&[input], &store).unwrap();
    assert_accounting(&store);
    assert_eq!(summary.events, 0);
    let r = rejects(&store);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0]["reason"]
            .as_str()
            .unwrap()
            .contains("nothing in it makes an event of the `otel` format"),
        "{r:?}"
    );
}
