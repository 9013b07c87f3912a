//! End-to-end tests of the `tracehound` binary: what a person running it sees, and its exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tracehound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(args)
        .output()
        .expect("run tracehound")
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample")
}

fn text(out: &[u8]) -> String {
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn ingest_then_info_on_the_bundled_sample() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap();
    let out = tracehound(&["ingest", sample().to_str().unwrap(), "--store", store_arg]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("formats:  flat-jsonl 1, openai-chat 1, unknown 1"),
        "{stdout}"
    );
    assert!(stdout.contains("events:   23"), "{stdout}");
    assert!(stdout.contains("sessions: 3"), "{stdout}");
    assert!(
        stdout.contains("README.md: does not start with a JSON object or array"),
        "{stdout}"
    );

    // Again: everything is already in the store.
    let again =
        text(&tracehound(&["ingest", sample().to_str().unwrap(), "--store", store_arg]).stdout);
    assert!(
        again.contains("skipped:  3 already in the store"),
        "{again}"
    );
    assert!(again.contains("events:   0"), "{again}");

    let info = tracehound(&["info", "--store", store_arg, "--format", "json"]);
    assert_eq!(info.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["events"], 23);
    assert_eq!(v["sessions"], 3);
    assert_eq!(v["runs"], 2);
    assert_eq!(v["kinds"]["tool_call"], 6);
    assert_eq!(v["kinds"]["feedback"], 1);
    assert_eq!(v["formats"]["flat-jsonl"]["events"], 15);

    let table = text(&tracehound(&["info", "--store", store_arg]).stdout);
    assert!(table.contains("events      23"), "{table}");
}

#[test]
fn errors_exit_2_with_a_message_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = tracehound(&["info", "--store", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("is not a tracehound store"), "{err}");
    assert!(err.contains("tracehound ingest"), "{err}");

    let missing = tracehound(&[
        "ingest",
        "/nonexistent/logs",
        "--store",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("`/nonexistent/logs` does not exist"));
}

#[test]
fn escape_sequences_in_names_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    // A hostile file name: clears the screen and sets the window title if printed raw.
    std::fs::write(
        inputs.join("evil\x1b[2J\x1b]0;pwned\x07.log"),
        b"not json\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let out = tracehound(&[
        "ingest",
        inputs.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("evil"), "{stdout}");
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\x07'),
        "{stdout:?}"
    );
}
