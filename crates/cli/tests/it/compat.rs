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

#[test]
fn the_v1_store_reads_as_a_fresh_ingest_of_the_same_logs() {
    let old = "testdata/compat/v1";
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().unwrap();
    let out = at_root(&["ingest", "testdata/sample", "--store", fresh, "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let ok = |args: &[&str]| {
        let out = at_root(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    let info = |store: &str| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&ok(&["info", "--store", store, "--format", "json"])).unwrap();
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
    let old_info = info(old);
    assert_eq!(old_info["events"], 23);
    let written_by = ok(&["info", "--store", old, "--format", "json"]);
    assert!(
        written_by.contains("\"tool_version\": \"0.1.0\""),
        "{written_by}"
    );
    assert_eq!(old_info, info(fresh));
    for args in [
        &["scan", "--format", "jsonl"][..],
        &["timeline", "fin-0001", "--format", "jsonl"],
        &["export", "--format", "timesketch"],
    ] {
        let on = |store: &str| ok(&[args, &["--store", store]].concat());
        let (a, b) = (on(old), on(fresh));
        assert!(!a.is_empty(), "{args:?}");
        assert_eq!(
            a, b,
            "{args:?} differs between the v1 store and a fresh one"
        );
    }
    // Its files are intact: the committed store is what 0.1.0 wrote.
    ok(&["verify", "--store", old]);
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
        v0.contains("schema version 0, older than the version 1"),
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
