//! The properties every fuzz target asserts, whatever the bytes: no panic (libFuzzer reports one);
//! every record is an event or a reject, each located; line numbers and offsets point at the line
//! they came from; and the events survive the round trip through the store's Arrow and Parquet
//! encoding unchanged.

use std::io::Write;

use tracehound_ingest::fuzzing::{ingest_file, round_trip};
use tracehound_schema::SourceFormat;

pub fn check(data: &[u8], forced: Option<SourceFormat>) {
    // The first byte says how the file is presented: plain, gzip, zstd, or a compressed stream cut
    // short (truncated downloads and corrupt archives are real inputs too).
    let (how, body) = match data.split_first() {
        Some((h, rest)) => (h % 5, rest),
        None => (0, data),
    };
    let file_bytes = match how {
        1 => gzip(body),
        2 => zstd::encode_all(body, 1).unwrap(),
        3 => {
            let z = gzip(body);
            z[..z.len() * 2 / 3].to_vec()
        }
        4 => {
            let z = zstd::encode_all(body, 1).unwrap();
            z[..z.len() * 2 / 3].to_vec()
        }
        _ => body.to_vec(),
    };
    // One directory per fuzzing process, on tmpfs where there is one: the file is rewritten per input.
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if std::path::Path::new("/dev/shm").is_dir() {
            tempfile::tempdir_in("/dev/shm")
        } else {
            tempfile::tempdir()
        }
        .unwrap()
    });
    let path = dir.path().join("input.log");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&file_bytes)
        .unwrap();

    let out = ingest_file(&path, forced);
    assert_eq!(
        out.records,
        out.records_with_events + out.rejects.len() as u64,
        "a record was neither an event nor a reject"
    );
    let name = path.display().to_string();
    for r in &out.rejects {
        assert!(!r.reason.is_empty(), "a reject without a reason");
        assert_eq!(r.file, name);
    }
    for e in &out.events {
        assert!(!e.session_id.is_empty(), "an event without a session");
    }
    // Plain line-oriented input: every location points at its line.
    if how == 0 {
        for e in &out.events {
            if let Some(line) = e.source_line {
                let at = e.source_offset as usize;
                assert!(at <= body.len(), "offset {at} past the end");
                assert!(
                    at == 0 || body[at - 1] == b'\n',
                    "offset {at} is not a line start"
                );
                let newlines = body[..at].iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(newlines + 1, line, "line {line} is not at offset {at}");
            }
        }
    }
    let format = out.format.map(|f| f.as_str()).unwrap_or("unknown");
    if let Err(e) = round_trip(&out.events, &name, format) {
        panic!("round trip through the store failed: {e}");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}
