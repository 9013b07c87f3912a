//! Evidence preservation and verification, end to end: what is archived is byte for byte what was
//! ingested, and any change to an archive or a store behind its manifest's back is reported.

use std::path::Path;

use super::{ingest_to, sample, text, tracehound};

fn preserve(args: &[&str]) -> (String, String) {
    let out = tracehound(&[&["preserve"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let seal = stdout
        .lines()
        .find_map(|l| l.strip_prefix("seal: "))
        .expect("a seal line")
        .to_string();
    (stdout, seal)
}

fn unlock(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every archived raw line is the exact byte range of the source it names.
fn assert_records_match_sources(archive: &Path, decoded: impl Fn(&str) -> Vec<u8>) -> usize {
    let index = std::fs::read_to_string(archive.join("records/index.jsonl")).unwrap();
    let mut n = 0;
    for line in index.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let source = decoded(e["source_file"].as_str().unwrap());
        let (off, len) = (
            e["offset"].as_u64().unwrap() as usize,
            e["length"].as_u64().unwrap() as usize,
        );
        let archived = std::fs::read(archive.join(e["archive_file"].as_str().unwrap())).unwrap();
        let at = e["archive_offset"].as_u64().unwrap() as usize;
        assert_eq!(&archived[at..at + len], &source[off..off + len], "{line}");
        // The recorded line number is where that offset is in the source.
        let line_no = source[..off].iter().filter(|&&b| b == b'\n').count() + 1;
        assert_eq!(e["line"].as_u64().unwrap() as usize, line_no);
        n += 1;
    }
    n
}

#[test]
fn preserved_sessions_verify_and_every_tampering_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let archive = dir.path().join("case-fin");
    let archive_arg = archive.to_str().unwrap();
    let (stdout, seal) = preserve(&[
        "--store",
        &store,
        "--sessions",
        "fin-0001",
        "travel-7f3a",
        "--to",
        archive_arg,
    ]);
    assert!(stdout.contains("events:      18"), "{stdout}");
    assert!(
        stdout.contains("intact (same SHA-256 as at ingest)"),
        "{stdout}"
    );
    assert_eq!(seal.len(), 64);

    // The flat JSONL lines are copied byte for byte; the OpenAI-chat document whole.
    let lines = assert_records_match_sources(&archive, |p| std::fs::read(p).unwrap());
    assert_eq!(lines, 10, "fin-0001's 10 lines of finance-agent.jsonl");
    let original = std::fs::read(sample().join("runs/travel-7f3a.json")).unwrap();
    let copied = std::fs::read_dir(archive.join("originals"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read(copied.path()).unwrap(), original);

    // The store rows: exactly the two sessions' events.
    let file = std::fs::File::open(archive.join("events.parquet")).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows(), 18);

    // Written once: read-only, and never over an existing archive.
    let meta = std::fs::metadata(archive.join("events.parquet")).unwrap();
    assert!(meta.permissions().readonly());
    let again = tracehound(&[
        "preserve",
        "--store",
        &store,
        "--sessions",
        "fin-0001",
        "--to",
        archive_arg,
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let ok = tracehound(&["verify", archive_arg, "--seal", &seal]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).starts_with("OK: archive"));

    // One byte changed in a raw record, a file removed, one added: each reported, exit 1.
    unlock(&archive);
    let records = archive.join("records");
    unlock(&records);
    let lines_file = std::fs::read_dir(&records)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "lines"))
        .unwrap();
    unlock(&lines_file);
    let mut bytes = std::fs::read(&lines_file).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(&lines_file, &bytes).unwrap();
    std::fs::remove_file(archive.join("README.txt")).unwrap();
    std::fs::write(archive.join("planted.txt"), "x").unwrap();
    let bad = tracehound(&["verify", archive_arg, "--format", "json"]);
    assert_eq!(bad.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let problems: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let rel = format!(
        "records/{}",
        lines_file.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(
        problems,
        vec![
            ("changed".to_string(), rel.clone()),
            ("removed".to_string(), "README.txt".to_string()),
            ("added".to_string(), "planted.txt".to_string()),
        ]
    );

    // Rewriting the manifest to match the tampered file is caught by the seal.
    let manifest_path = archive.join("manifest.json");
    unlock(&manifest_path);
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let new_sha = tracehound_evidence_sha(&lines_file);
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == rel.as_str() {
            f["sha256"] = new_sha.clone().into();
        }
    }
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let sealed = text(&tracehound(&["verify", archive_arg, "--seal", &seal]).stdout);
    assert!(sealed.contains("seal mismatch"), "{sealed}");
}

fn tracehound_evidence_sha(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_time_window_over_a_gzip_input_preserves_the_decompressed_lines() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(sample().join("finance-agent.jsonl")).unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let gz = logs.join("finance-agent.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let store = ingest_to(dir.path(), &logs);

    let archive = dir.path().join("window");
    let (stdout, _) = preserve(&[
        "--store",
        &store,
        "--since",
        "2026-11-20T09:00:00Z",
        "--until",
        "2026-11-20T09:05:00Z",
        "--to",
        archive.to_str().unwrap(),
    ]);
    let lines = assert_records_match_sources(&archive, |_| plain.clone());
    let events: u64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("events:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(lines > 0 && events as usize >= lines, "{stdout}");
    // Only events inside the window.
    let ts: Vec<String> = plain
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<serde_json::Value>(l).unwrap()["ts"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .filter(|t| t.as_str() >= "2026-11-20T09:00:00Z" && t.as_str() <= "2026-11-20T09:05:00Z")
        .collect();
    assert_eq!(lines, ts.len(), "{stdout}");
    assert_eq!(
        tracehound(&["verify", archive.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn an_input_changed_since_ingest_is_flagged_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("agent.jsonl");
    std::fs::copy(sample().join("finance-agent.jsonl"), &input).unwrap();
    let store = ingest_to(dir.path(), &input);
    let mut bytes = std::fs::read(&input).unwrap();
    bytes.extend_from_slice(
        b"{\"session_id\":\"fin-0001\",\"kind\":\"user_message\",\"content\":\"appended later\"}\n",
    );
    std::fs::write(&input, bytes).unwrap();
    let archive = dir.path().join("a");
    let out = tracehound(&[
        "preserve",
        "--store",
        &store,
        "--sessions",
        "fin-0001",
        "--to",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).contains("CHANGED since ingest"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stderr).contains("incomplete or its inputs changed"));
    // What exists is still archived and verifiable.
    assert_eq!(
        tracehound(&["verify", archive.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    // And the store's own check of its inputs says the same.
    let v = tracehound(&["verify", "--store", &store, "--inputs"]);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        text(&v.stdout).contains("CHANGED   ") && text(&v.stdout).contains("agent.jsonl"),
        "{}",
        text(&v.stdout)
    );
}

#[test]
fn a_store_file_changed_or_removed_behind_the_manifest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    assert_eq!(
        tracehound(&["verify", "--store", &store]).status.code(),
        Some(0)
    );
    let parts: Vec<_> = walk(Path::new(&store).join("events").as_path());
    let mut bytes = std::fs::read(&parts[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&parts[0], bytes).unwrap();
    std::fs::remove_file(&parts[1]).unwrap();
    let out = tracehound(&["verify", "--store", &store]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("CHANGED   events/bucket="), "{stdout}");
    assert!(stdout.contains("REMOVED   events/bucket="), "{stdout}");
    assert!(stdout.contains("FAILED: store"), "{stdout}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn selections_that_match_nothing_are_an_error_not_an_empty_archive() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let archive = dir.path().join("none");
    let out = tracehound(&[
        "preserve",
        "--store",
        &store,
        "--sessions",
        "no-such-session",
        "--to",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("matched no events"),
        "{}",
        text(&out.stderr)
    );
    assert!(!archive.exists());
    // One known and one mistyped id: refused, not an archive silently missing a session.
    let out = tracehound(&[
        "preserve",
        "--store",
        &store,
        "--sessions",
        "fin-0001",
        "fin-9999",
        "--to",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no events for session(s) fin-9999"),
        "{}",
        text(&out.stderr)
    );
    assert!(!archive.exists());
    let bad_time = tracehound(&[
        "preserve",
        "--store",
        &store,
        "--since",
        "yesterday-ish",
        "--to",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(text(&bad_time.stderr).contains("RFC 3339"));
}
