//! The store's guarantees: determinism across thread counts and spill paths, incremental ingest with
//! duplicate skipping, and recovery from an ingest that was killed before its commit.

use std::path::{Path, PathBuf};

use tracehound_ingest::IngestBuilder;

use crate::util::{assert_accounting, fixture, manifest, rows, shared};

fn inputs() -> Vec<PathBuf> {
    let mut v = vec![fixture("")];
    if let Some(formats) = shared("formats") {
        v.push(formats);
    }
    v
}

fn store_hashes(store: &Path) -> Vec<(String, String)> {
    manifest(store)
        .files
        .into_iter()
        .map(|f| (f.path, f.sha256))
        .collect()
}

#[test]
fn one_thread_and_many_threads_and_spilling_give_identical_stores() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("t1");
    IngestBuilder::new()
        .threads(1)
        .build()
        .run(&inputs(), &reference)
        .unwrap();
    // Four threads; then a 1 MiB budget that forces spills and multi-run merges.
    for (name, builder) in [
        ("t4", IngestBuilder::new().threads(4)),
        (
            "spill",
            IngestBuilder::new().threads(3).memory_budget(1 << 20),
        ),
    ] {
        let store = dir.path().join(name);
        builder.build().run(&inputs(), &store).unwrap();
        assert_eq!(
            store_hashes(&reference),
            store_hashes(&store),
            "{name} differs from 1 thread"
        );
        assert_accounting(&store);
    }
}

#[test]
fn ingesting_again_adds_new_inputs_continues_sessions_and_skips_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let line = |s: &str, i: u32| {
        format!("{{\"session_id\":\"{s}\",\"event\":\"user_message\",\"content\":\"m{i}\"}}\n")
    };
    std::fs::write(&a, (0..3).map(|i| line("s1", i)).collect::<String>()).unwrap();
    std::fs::write(
        &b,
        (3..5).map(|i| line("s1", i)).collect::<String>() + &line("s2", 0),
    )
    .unwrap();

    let first = IngestBuilder::new()
        .build()
        .run(std::slice::from_ref(&a), &store)
        .unwrap();
    assert_eq!(first.generation, 1);
    let second = IngestBuilder::new()
        .build()
        .run(&[a.clone(), b.clone()], &store)
        .unwrap();
    assert_eq!(second.skipped, [a.display().to_string()]);
    assert_eq!(second.events, 3);
    assert_accounting(&store);
    let rows = rows(&store);
    let s1: Vec<_> = rows
        .iter()
        .filter(|r| r.session_id == "s1")
        .map(|r| (r.seq, r.content.clone().unwrap()))
        .collect();
    assert_eq!(
        s1,
        (0..5).map(|i| (i, format!("m{i}"))).collect::<Vec<_>>(),
        "the second file continues the session's numbering"
    );
    let m = manifest(&store);
    assert_eq!(m.runs.len(), 2);
    assert_eq!(m.inputs.len(), 2);
    assert!(m.inputs.iter().all(|i| i.sha256.len() == 64));
}

#[test]
fn leftovers_of_a_killed_ingest_are_invisible_and_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    IngestBuilder::new()
        .build()
        .run(&[fixture("flat.jsonl")], &store)
        .unwrap();
    let before = rows(&store);
    // What a kill between rename and manifest commit leaves: a part file nobody lists, scratch files,
    // and a half-written manifest beside the real one.
    let stray = store.join("events/bucket=00/part-999999.parquet");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"PAR1 half written").unwrap();
    std::fs::create_dir_all(store.join(".tmp/gen-000002")).unwrap();
    std::fs::write(store.join("manifest.json.tmp"), b"{\"schema_vers").unwrap();
    assert_eq!(rows(&store), before, "readers see only committed files");

    IngestBuilder::new()
        .build()
        .run(&[fixture("openai_chat.jsonl")], &store)
        .unwrap();
    assert!(!stray.exists());
    assert!(!store.join(".tmp").exists());
    assert!(!store.join("manifest.json.tmp").exists());
    assert_accounting(&store);
    // Every listed file exists with the recorded hash.
    for f in manifest(&store).files {
        let bytes = std::fs::read(store.join(&f.path)).unwrap();
        assert_eq!(bytes.len() as u64, f.bytes);
    }
}
