//! Stores written by other versions (`testdata/compat`): the v1 store is read and answers as a fresh
//! ingest of the same logs does; older and newer schema versions are refused with what to do.

use std::path::Path;
use std::process::Command;

use super::{testdata, text};

/// Runs tracehound from the repository root, where the compat store's relative input paths resolve.
fn at_root(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

/// `at_root`, which must succeed: its standard output.
fn at_root_ok(args: &[&str]) -> String {
    super::succeeded(args, at_root(args))
}

#[test]
fn the_v1_store_reads_as_a_fresh_ingest_of_the_same_logs() {
    let old = "testdata/compat/v1";
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().unwrap();
    at_root_ok(&["ingest", "testdata/sample", "--store", fresh, "-q"]);

    let info = |store: &str| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&at_root_ok(&["info", "--store", store, "--format", "json"]))
                .unwrap();
        for volatile in [
            "store",
            "created",
            "updated",
            "last_command",
            "tool_version",
        ] {
            v.as_object_mut().unwrap().remove(volatile);
        }
        v
    };
    let mut old_info = info(old);
    assert_eq!(old_info["events"], 23);
    // What schema 2 changed: the version, and the bytes of the features column.
    assert_eq!(old_info["schema_version"], 1);
    let mut fresh_info = info(fresh);
    assert_eq!(
        fresh_info["schema_version"],
        tracehound_schema::SCHEMA_VERSION
    );
    for changed in ["schema_version", "store_bytes"] {
        old_info.as_object_mut().unwrap().remove(changed);
        fresh_info.as_object_mut().unwrap().remove(changed);
    }
    let written_by = at_root_ok(&["info", "--store", old, "--format", "json"]);
    assert!(
        written_by.contains("\"tool_version\": \"0.1.0\""),
        "{written_by}"
    );
    assert_eq!(old_info, fresh_info);
    for args in [
        &["scan", "--format", "jsonl"][..],
        // DataFusion reads the v1 files' missing `text_features` as nulls and recomputes.
        &["scan", "--engine", "datafusion", "--format", "jsonl"],
        &["timeline", "fin-0001", "--format", "jsonl"],
        &["export", "--format", "timesketch"],
    ] {
        let on = |store: &str| at_root_ok(&[args, &["--store", store]].concat());
        let (a, b) = (on(old), on(fresh));
        assert!(!a.is_empty(), "{args:?}");
        assert_eq!(
            a, b,
            "{args:?} differs between the v1 store and a fresh one"
        );
    }
    // Its files are intact: the committed store is what 0.1.0 wrote.
    at_root_ok(&["verify", "--store", old]);
}

/// An ingest into a v1 store adds files of the current version beside the old ones: the manifest's
/// version rises (so a v1-only tracehound refuses the mixed store instead of misreading it), and a scan
/// over old files without features and new files with them finds what a fresh store of the same logs
/// finds.
#[test]
fn a_v1_store_continued_by_this_version_scans_as_a_fresh_store() {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let continued = dir.path().join("continued");
    copy_dir(&testdata("compat/v1"), &continued);
    let continued = continued.to_str().unwrap();
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().unwrap();
    let more = "testdata/detectors/cases.jsonl";
    at_root_ok(&["ingest", more, "--store", continued, "-q"]);
    at_root_ok(&["ingest", "testdata/sample", "--store", fresh, "-q"]);
    at_root_ok(&["ingest", more, "--store", fresh, "-q"]);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(continued).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["schema_version"],
        tracehound_schema::SCHEMA_VERSION
    );
    let scan = |store: &str| at_root_ok(&["scan", "--store", store, "--format", "jsonl"]);
    let (a, b) = (scan(continued), scan(fresh));
    assert!(a.lines().count() > 10, "{a}");
    assert_eq!(a, b);
}

#[test]
fn older_and_newer_schema_versions_are_refused_with_what_to_do() {
    let refuse = |store: &Path| {
        let out = at_root(&["info", "--store", store.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        text(&out.stderr)
    };
    let v0 = refuse(&testdata("compat/v0"));
    assert!(
        v0.contains("schema version 0, older than version 1, the oldest"),
        "{v0}"
    );
    assert!(v0.contains("re-ingest the raw logs"), "{v0}");
    let future = refuse(&testdata("compat/future"));
    assert!(
        future.contains("schema version 99, written by a newer tracehound"),
        "{future}"
    );
    assert!(future.contains("upgrade tracehound"), "{future}");
}
