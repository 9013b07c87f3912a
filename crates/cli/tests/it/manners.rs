//! CLI manners: color only where asked or on a terminal, quiet and verbose, thread counts, and the
//! export a team loads into the tools it already uses.

use std::process::Command;

use super::{ingest_to, sample, text, tracehound};

fn run_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracehound"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run tracehound")
}

#[test]
fn color_only_when_asked_or_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let scan = ["scan", "--store", store.as_str()];

    // Piped (as here): auto means no color.
    let piped = text(&tracehound(&scan).stdout);
    assert!(piped.contains("high "), "{piped}");
    assert!(!piped.contains('\x1b'), "{piped:?}");

    // Forced: the severity labels are painted, and nothing else is.
    let forced = text(&tracehound(&[&scan[..], &["--color", "always"]].concat()).stdout);
    assert!(forced.contains("\x1b[31mhigh    \x1b[0m"), "{forced:?}");
    let stripped = forced
        .replace("\x1b[0m", "")
        .replace("\x1b[1;31m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[36m", "")
        .replace("\x1b[2m", "");
    assert_eq!(stripped, piped, "color changes nothing but the labels");

    // NO_COLOR turns auto off; an explicit --color always still wins, as no-color.org says.
    let no_color = run_env(
        &[&scan[..], &["--color", "auto"]].concat(),
        &[("NO_COLOR", "1")],
    );
    assert!(!text(&no_color.stdout).contains('\x1b'));
    let never = text(&tracehound(&[&scan[..], &["--color", "never"]].concat()).stdout);
    assert_eq!(never, piped);

    // Errors are painted only when asked.
    let err = tracehound(&["info", "--store", "/nonexistent", "--color", "always"]);
    assert!(text(&err.stderr).starts_with("\x1b[1;31merror:\x1b[0m"));
    let err = tracehound(&["info", "--store", "/nonexistent"]);
    assert!(text(&err.stderr).starts_with("error: "));
}

#[test]
fn quiet_says_nothing_verbose_says_more_and_pipes_get_no_progress_bar() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();

    // Verbose, into a pipe: one line per input on stderr, and no progress bar (no carriage returns,
    // no escape sequences) since nobody watches a pipe.
    let out = tracehound(&["ingest", sample().to_str().unwrap(), "--store", store, "-v"]);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("finance-agent.jsonl (flat-jsonl): 15 records, 15 events, 0 rejects"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("read ")).count(),
        3,
        "{err}"
    );
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
    assert!(text(&out.stdout).contains("events:   23"));

    // Quiet: the findings still go to stdout, the summary does not go to stderr.
    let loud = tracehound(&["scan", "--store", store]);
    assert!(
        text(&loud.stderr).contains("findings in"),
        "{}",
        text(&loud.stderr)
    );
    let quiet = tracehound(&["scan", "--store", store, "--quiet"]);
    assert_eq!(quiet.stdout, loud.stdout);
    assert_eq!(text(&quiet.stderr), "");
    // Global options go before the command too.
    let before = tracehound(&["-q", "search", "invoice", "--store", store]);
    assert_eq!(text(&before.stderr), "");
    assert!(!before.stdout.is_empty());

    // --quiet and --verbose contradict each other.
    let both = tracehound(&["scan", "--store", store, "-q", "-v"]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn every_command_takes_threads_and_the_output_does_not_depend_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let s = store.as_str();
    let commands: [&[&str]; 5] = [
        &["scan", "--store", s, "--format", "jsonl"],
        &["search", "invoice", "--store", s, "--format", "jsonl"],
        &["timeline", "fin-0001", "--store", s, "--format", "jsonl"],
        &[
            "campaigns",
            "--store",
            s,
            "--min-sessions",
            "1",
            "--format",
            "json",
        ],
        &["export", "--store", s],
    ];
    for args in commands {
        let one = tracehound(&[args, &["--threads", "1"]].concat());
        let two = tracehound(&[args, &["--threads", "3"]].concat());
        assert_eq!(one.status.code(), two.status.code(), "{args:?}");
        assert!(!one.stdout.is_empty(), "{args:?}");
        assert_eq!(text(&one.stdout), text(&two.stdout), "{args:?}");
    }
    let zero = tracehound(&["scan", "--store", s, "--threads", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(text(&zero.stderr).contains("--threads"));
}

#[test]
fn export_writes_timesketch_jsonl_and_csv_for_all_or_some_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let s = store.as_str();
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = tracehound(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    // JSONL: every stored event, once, in store order.
    let all = lines(&["export", "--store", s]);
    assert_eq!(all.len(), 23);
    let mut keys: Vec<(String, u64)> = all
        .iter()
        .map(|v| {
            (
                v["session_id"].as_str().unwrap().to_string(),
                v["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    let in_order = keys.clone();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 23, "no event twice");
    let fin: Vec<u64> = in_order
        .iter()
        .filter(|k| k.0 == "fin-0001")
        .map(|k| k.1)
        .collect();
    assert!(fin.windows(2).all(|w| w[0] < w[1]), "seq order: {fin:?}");

    // Timesketch: the fields it requires, on every event that has a time.
    let ts = lines(&["export", "--store", s, "--format", "timesketch"]);
    let timed = all.iter().filter(|v| !v["ts"].is_null()).count();
    assert_eq!(ts.len(), timed);
    for v in &ts {
        for field in ["message", "datetime", "timestamp", "timestamp_desc"] {
            assert!(!v[field].is_null(), "{field} missing in {v}");
        }
        assert!(v["datetime"].as_str().unwrap().ends_with("+00:00"));
    }
    let payment = ts
        .iter()
        .find(|v| v["tool_name"] == "send_money" && v["kind"] == "tool_call")
        .expect("the payment");
    assert_eq!(payment["timestamp_desc"], "Tool Call Time");
    assert!(payment["message"]
        .as_str()
        .unwrap()
        .starts_with("[tool_call] send_money fin-0001#4"));

    // A session and a window select.
    let one = lines(&["export", "--store", s, "--session", "fin-0001"]);
    assert!(!one.is_empty() && one.iter().all(|v| v["session_id"] == "fin-0001"));
    let window = lines(&[
        "export",
        "--store",
        s,
        "--since",
        "2026-11-20T09:00:03Z",
        "--until",
        "2026-11-20T09:00:05Z",
    ]);
    assert!(!window.is_empty() && window.len() < one.len());
    assert!(window.iter().all(|v| {
        let d = v["datetime"].as_str().unwrap();
        ("2026-11-20T09:00:03".."2026-11-20T09:00:05.000001").contains(&d)
    }));

    // CSV: a header naming every column and one row per event of the session.
    let csv = text(
        &tracehound(&[
            "export",
            "--store",
            s,
            "--format",
            "csv",
            "--session",
            "fin-0001",
        ])
        .stdout,
    );
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("session_id,seq,ts,") && header.ends_with(",attributes"));
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with("\"fin-0001\","))
            .count(),
        one.len(),
        "{csv}"
    );

    // An unknown session is an error, not an empty file.
    let missing = tracehound(&["export", "--store", s, "--session", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no session `nope`"));
}

#[test]
fn the_findings_limit_stops_with_an_error_that_says_how_to_narrow_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let s = store.as_str();
    let all = tracehound(&["scan", "--store", s, "--format", "jsonl"]);
    let n = text(&all.stdout).lines().count();
    assert!(n > 3, "the sample has findings");
    let limited = tracehound(&["scan", "--store", s, "--max-findings", "3"]);
    assert_eq!(limited.status.code(), Some(2));
    assert!(
        limited.stdout.is_empty(),
        "no partial findings presented as a result"
    );
    let err = text(&limited.stderr);
    assert!(
        err.contains("more than 3 findings") && err.contains("--min-severity"),
        "{err}"
    );
    // Exactly at the limit is fine; and narrowing by severity brings it under.
    let at = tracehound(&[
        "scan",
        "--store",
        s,
        "--format",
        "jsonl",
        "--max-findings",
        &n.to_string(),
    ]);
    assert_eq!(at.stdout, all.stdout);
    let narrowed = tracehound(&[
        "scan",
        "--store",
        s,
        "--max-findings",
        "3",
        "--min-severity",
        "critical",
    ]);
    assert_eq!(
        narrowed.status.code(),
        Some(0),
        "{}",
        text(&narrowed.stderr)
    );
    let report = dir.path().join("r.html");
    let r = tracehound(&[
        "report",
        "--store",
        s,
        "--output",
        report.to_str().unwrap(),
        "--max-findings",
        "2",
    ]);
    assert_eq!(r.status.code(), Some(2));
}

#[test]
fn scan_on_datafusion_prints_what_the_native_scan_prints() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    for format in ["jsonl", "table", "csv"] {
        let args = ["scan", "--store", store.as_str(), "--format", format, "-q"];
        let native = tracehound(&args);
        let df = tracehound(&[&args[..], &["--engine", "datafusion"]].concat());
        assert_eq!(df.status.code(), Some(0), "{}", text(&df.stderr));
        assert!(!native.stdout.is_empty());
        assert_eq!(text(&native.stdout), text(&df.stdout), "{format}");
    }
}
