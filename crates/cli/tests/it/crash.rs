//! Crash safety: `tracehound ingest` killed with SIGKILL at many points leaves a store that is
//! readable and consistent with its manifest, and running the same ingest again ends with the store an
//! uninterrupted run makes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::text;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
}

/// Four flat JSONL files, about 6 MB in all, long enough for an ingest to be killed inside its work.
fn write_inputs(dir: &Path) {
    for f in 0..4 {
        let mut s = String::new();
        for i in 0..6_000u32 {
            let session = format!("s{f}-{}", i / 40);
            let body = "x".repeat(120 + (i as usize * 7) % 200);
            s += &format!(
                "{{\"session_id\":\"{session}\",\"seq\":{},\"ts\":\"2026-11-20T10:{:02}:{:02}Z\",\"kind\":\"tool_result\",\"tool_name\":\"fetch\",\"content\":\"{body} {i}\"}}\n",
                i % 40,
                (i / 60) % 60,
                i % 60
            );
        }
        if f == 3 {
            s += "not json at all\n";
        }
        std::fs::write(dir.join(format!("part-{f}.jsonl")), s).unwrap();
    }
}

fn ingest(inputs: &Path, store: &Path) -> Command {
    let mut c = bin();
    c.args([
        "ingest",
        inputs.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-q",
        "--threads",
        "2",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    c
}

/// The store's content as a reader sees it: every event and the counts.
fn contents(store: &Path) -> (String, serde_json::Value) {
    let s = store.to_str().unwrap();
    let export = bin().args(["export", "--store", s]).output().unwrap();
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let info = bin()
        .args(["info", "--store", s, "--format", "json"])
        .output()
        .unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let o = info.as_object_mut().unwrap();
    for volatile in [
        "store",
        "created",
        "updated",
        "last_command",
        "runs",
        "store_bytes",
    ] {
        o.remove(volatile);
    }
    (text(&export.stdout), info)
}

/// After a kill: the store either has no manifest yet (nothing committed) or reads cleanly, and every
/// file its manifest lists is there with its hash. Leftovers of the killed run (files the manifest
/// does not list) are allowed: the next ingest removes them.
fn assert_consistent(store: &Path, when: &str) {
    let s = store.to_str().unwrap();
    if !store.join("manifest.json").exists() {
        return;
    }
    // A committed earlier ingest of part-0 (6,000 events) is never lost to a later killed one.
    let count = bin()
        .args(["info", "--store", s, "--format", "json"])
        .output()
        .unwrap();
    let count: serde_json::Value = serde_json::from_slice(&count.stdout).unwrap();
    let events = count["events"].as_u64().unwrap();
    assert!(
        [0, 6_000, 24_000].contains(&events),
        "{when}: a reader sees {events} events: a partial ingest leaked into the store"
    );
    let info = bin().args(["info", "--store", s]).output().unwrap();
    assert_eq!(
        info.status.code(),
        Some(0),
        "{when}: unreadable: {}",
        text(&info.stderr)
    );
    let export = bin().args(["export", "--store", s]).output().unwrap();
    assert_eq!(
        export.status.code(),
        Some(0),
        "{when}: {}",
        text(&export.stderr)
    );
    let verify = bin()
        .args(["verify", "--store", s, "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    for p in report["problems"].as_array().unwrap() {
        assert_eq!(
            p["kind"], "added",
            "{when}: the manifest disagrees with the files: {p}"
        );
    }
}

#[test]
fn ingest_killed_anywhere_leaves_a_consistent_store_and_a_rerun_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    write_inputs(&inputs);

    // The reference: one uninterrupted run, timed to place the kills inside it.
    let reference = dir.path().join("reference");
    let started = Instant::now();
    let out = ingest(&inputs, &reference).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let full = started.elapsed();
    let expected = contents(&reference);
    assert!(expected.1["events"].as_u64().unwrap() == 24_000);

    // Kill points spread over the whole run from a fixed seed so a failure
    // can be replayed; each trial kills up to twice before letting the ingest finish.
    let mut seed: u64 = 0x7261_6365_686f_756e;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    let trials = 8;
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let store = dir.path().join(format!("trial-{trial}"));
        if trial % 2 == 1 {
            // A store with a committed earlier ingest: the kill must leave that one intact.
            let first = ingest(&inputs.join("part-0.jsonl"), &store)
                .output()
                .unwrap();
            assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
        }
        for kill in 0..2 {
            let at = full.mul_f64(next() * 0.95);
            let mut child = ingest(&inputs, &store).spawn().unwrap();
            std::thread::sleep(at);
            let finished = child.try_wait().unwrap().is_some();
            child.kill().ok(); // SIGKILL on Unix
            child.wait().unwrap();
            if !finished {
                killed_mid_run += 1;
            }
            assert_consistent(&store, &format!("trial {trial}, kill {kill} at {at:?}"));
        }
        let out = ingest(&inputs, &store).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {trial}: {}",
            text(&out.stderr)
        );
        let got = contents(&store);
        assert_eq!(
            got.1, expected.1,
            "trial {trial}: counts differ from an uninterrupted run"
        );
        assert!(
            got.0 == expected.0,
            "trial {trial}: events differ from an uninterrupted run"
        );
        // And nothing is left over.
        let verify = bin()
            .args(["verify", "--store", store.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            verify.status.code(),
            Some(0),
            "trial {trial}: {}",
            text(&verify.stdout)
        );
    }
    eprintln!(
        "{killed_mid_run} of {} kills landed while ingest ran ({full:?} per run)",
        trials * 2
    );
    assert!(
        killed_mid_run >= trials,
        "too few kills landed mid-run to mean anything"
    );
}
