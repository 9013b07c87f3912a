//! End-to-end tests of the `tracehound` binary: what a person running it sees, and its exit codes.

mod cluster;
mod compat;
mod crash;
mod evidence;
mod hostile;
mod hunt;
mod interop;
mod manners;
mod report;
mod respond;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tracehound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(args)
        .output()
        .expect("run tracehound")
}

/// The standard output of a run that must succeed; else the test fails with the command and stderr.
fn succeeded(args: &[&str], out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
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

fn ingest_to(dir: &Path, input: &Path) -> String {
    let store = dir.join("store");
    let out = tracehound(&[
        "ingest",
        input.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    store.to_str().unwrap().to_string()
}

/// A shared corpus beside the project, or `None` with the reason printed when it is absent.
fn shared_corpus(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: `{}` is absent", path.display());
        None
    }
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// A scan computes less provenance than a timeline (only targets, in sessions without a flagged output)
/// and takes the literal passes' results from the stored `text_features`; it must find exactly what
/// the whole analysis of the text alone finds, session by session: on every detector's fixtures and on
/// the bundled sample. Checked against mutations that give every session only its targets (the
/// injected sessions then lose their `tool_call_argument_from_injected_output` findings) and that drop
/// the stored hidden-text bit.
#[test]
fn the_scans_narrower_analysis_finds_what_the_whole_analysis_finds() {
    use tracehound_query::{session_findings, Analysis, Policy, Store};
    let policy = Policy::load(&testdata("detectors/policy.toml")).unwrap();
    let mut compared = 0;
    let mut with_provenance_findings = 0;
    let (mut with_features, mut events) = (0, 0);
    for input in ["detectors/cases.jsonl", "sample/finance-agent.jsonl"] {
        let dir = tempfile::tempdir().unwrap();
        let store = ingest_to(dir.path(), &testdata(input));
        let store = Store::open(Path::new(&store)).unwrap();
        for bucket in store.buckets() {
            store
                .bucket_sessions(bucket, |session| {
                    let mut text_only = session.clone();
                    for e in &mut text_only.events {
                        with_features += usize::from(e.features.take().is_some());
                        events += 1;
                    }
                    let whole = session_findings(&Analysis::new(&text_only, &policy));
                    let scan = session_findings(&Analysis::for_scan(&session, &policy));
                    assert_eq!(scan, whole, "session {}", session.id);
                    compared += 1;
                    with_provenance_findings += whole
                        .iter()
                        .filter(|f| {
                            f.detector == "tool_call_argument_from_injected_output"
                                || f.detector == "argument_matches_nothing"
                        })
                        .count();
                })
                .unwrap();
        }
    }
    assert!(compared >= 20, "{compared} sessions compared");
    assert!(
        with_provenance_findings >= 2,
        "nothing provenance-based compared"
    );
    assert_eq!(with_features, events, "every event has its features stored");
}

/// Every detector's hits and near misses: `testdata/detectors/cases.jsonl` holds, per detector, a
/// session that must trigger it and one that must not; `expected.txt` is the reviewed snapshot of the
/// findings (`UPDATE_SNAPSHOTS=1` rewrites it).
#[test]
fn detector_fixtures_match_the_reviewed_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &testdata("detectors/cases.jsonl"));
    let policy = testdata("detectors/policy.toml");
    let out = tracehound(&[
        "scan",
        "--store",
        &store,
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let got: String = text(&out.stdout)
        .lines()
        .map(|l| {
            let f: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {} {}\n",
                f["detector"].as_str().unwrap(),
                f["session_id"].as_str().unwrap(),
                f["seq"],
                f["severity"].as_str().unwrap()
            )
        })
        .collect();
    let snapshot = testdata("detectors/expected.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &got).unwrap();
    }
    assert_eq!(got, std::fs::read_to_string(&snapshot).unwrap());
    // Every detector has at least one hit, and the near-miss sessions have none.
    for d in [
        "tool_output_instructs_model",
        "tool_call_argument_from_injected_output",
        "tool_calls_over_limit",
        "host_not_allowlisted",
        "tool_error_rate_over_baseline",
        "spend_over_expected",
        "tokens_over_usual",
        "argument_matches_nothing",
        "system_prompt_leak",
        "secret_exposed",
        "tool_outside_allowed_set",
        "sensitive_tool_without_approval",
        "user_reports_wrong_action",
    ] {
        assert!(
            got.lines().any(|l| l.starts_with(&format!("{d} "))),
            "{d} has no hit"
        );
    }
    for miss in ["inject-miss", "calls-miss", "spend-miss", "tokens-a"] {
        assert!(
            !got.lines().any(|l| l.split(' ').nth(1) == Some(miss)),
            "{miss} has findings"
        );
    }
    // An assistant that says what the injected passage told it to say has acted on it; one that
    // quotes the passage, asks the user first, or only names the attacker's address has not.
    let relayed = |session: &str| {
        got.lines().any(|l| {
            l.starts_with("tool_call_argument_from_injected_output ")
                && l.split(' ').nth(1) == Some(session)
        })
    };
    assert!(relayed("relay-hit"), "{got}");
    for near_miss in ["relay-quote", "relay-ask", "relay-address"] {
        assert!(!relayed(near_miss), "{near_miss}: {got}");
    }
    // The secret is never printed, in any format.
    for format in ["jsonl", "csv", "table", "json"] {
        let out = tracehound(&[
            "scan",
            "--store",
            &store,
            "--policy",
            policy.to_str().unwrap(),
            "--format",
            format,
        ]);
        assert!(
            !text(&out.stdout).contains("ghp_0123456789"),
            "{format} leaks the secret"
        );
    }
    let shown = tracehound(&["timeline", "secret", "--store", &store, "--show-secrets"]);
    assert!(text(&shown.stdout).contains("ghp_0123456789"));
    let hidden = tracehound(&["timeline", "secret", "--store", &store]);
    assert!(!text(&hidden.stdout).contains("ghp_0123456789"));
}

#[test]
fn scan_exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let fail = tracehound(&[
        "scan",
        "--store",
        &store,
        "--fail-on",
        "critical",
        "--format",
        "jsonl",
    ]);
    assert_eq!(fail.status.code(), Some(1));
    assert!(text(&fail.stderr).contains("tool_call_argument_from_injected_output"));
    let pass = tracehound(&[
        "scan",
        "--store",
        &store,
        "--min-severity",
        "critical",
        "--fail-on",
        "critical",
        "--format",
        "csv",
    ]);
    assert_eq!(pass.status.code(), Some(1));
    let csv = text(&pass.stdout);
    assert!(
        csv.lines().skip(1).all(|l| l.contains("\"critical\"")),
        "{csv}"
    );
    let clean = tracehound(&["scan", "--store", &store, "--min-severity", "critical"]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "no --fail-on: findings do not fail the run"
    );
}

#[test]
fn timeline_traces_the_payment_back_to_the_injected_email() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &sample());
    let out = tracehound(&[
        "timeline", "fin-0001", "--store", &store, "--around", "6", "--before", "3", "--after", "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("showing 5"), "{t}");
    assert!(
        t.contains("arg /iban = GB33BUKB20201555555555 ← tool_result seq 3"),
        "{t}"
    );
    assert!(
        t.contains("! tool_call_argument_from_injected_output [critical]"),
        "{t}"
    );
    assert!(t.contains("[call: seq 6, 1000 ms]"), "{t}");
    let json = tracehound(&[
        "timeline", "fin-0001", "--store", &store, "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["total_events"], 10);
    assert_eq!(v["entries"][6]["provenance"][1]["origin"]["seq"], 3);
    let missing = tracehound(&["timeline", "nope", "--store", &store]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no session `nope`"));
}

#[test]
fn log_content_cannot_drive_the_terminal_or_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hostile.jsonl");
    std::fs::write(
        &log,
        "{\"session_id\":\"h\",\"event\":\"user_message\",\"content\":\"=HYPERLINK(\\\"http://x\\\")\\u001b[2J\\u001b]0;pwned\\u0007\"}\n",
    )
    .unwrap();
    let store = ingest_to(dir.path(), &log);
    let table = text(&tracehound(&["timeline", "h", "--store", &store]).stdout);
    assert!(
        !table.contains('\x1b') && !table.contains('\x07'),
        "{table:?}"
    );
    let csv = text(&tracehound(&["timeline", "h", "--store", &store, "--format", "csv"]).stdout);
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
}

#[test]
fn findings_can_be_written_as_parquet_with_secrets_redacted() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &testdata("detectors/cases.jsonl"));
    let out_path = dir.path().join("findings.parquet");
    let policy = testdata("detectors/policy.toml");
    let out = tracehound(&[
        "scan",
        "--store",
        &store,
        "--policy",
        policy.to_str().unwrap(),
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let reader = SerializedFileReader::new(std::fs::File::open(&out_path).unwrap()).unwrap();
    let expected = std::fs::read_to_string(testdata("detectors/expected.txt"))
        .unwrap()
        .lines()
        .count() as i64;
    assert_eq!(reader.metadata().file_metadata().num_rows(), expected);
    let rows: Vec<String> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap().to_string())
        .collect();
    assert!(
        rows.iter()
            .any(|r| r.contains("secret_exposed") && r.contains("redacted")),
        "{rows:?}"
    );
    assert!(
        !rows.iter().any(|r| r.contains("ghp_0123456789")),
        "the secret reached the Parquet file"
    );
}

/// Detection quality on the labelled AgentDojo corpus may not regress below what docs/detection.md
/// reports (tool outputs: recall 0.999 with 103 label-gap positives; sessions: F1 0.852).
#[test]
fn detection_quality_on_agentdojo_does_not_regress() {
    let Some(corpus) = shared_corpus("agentdojo-dev") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &corpus.join("sessions"));
    let out = tracehound(&["scan", "--store", &store, "--format", "jsonl"]);
    let mut flagged = std::collections::HashSet::new();
    let mut acted = std::collections::HashSet::new();
    for line in text(&out.stdout).lines() {
        let f: serde_json::Value = serde_json::from_str(line).unwrap();
        let session = f["session_id"].as_str().unwrap().to_string();
        match f["detector"].as_str().unwrap() {
            "tool_output_instructs_model" => {
                let idx: usize = f["source_pointer"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .nth(2)
                    .unwrap()
                    .parse()
                    .unwrap();
                flagged.insert((session, idx));
            }
            "tool_call_argument_from_injected_output" => {
                acted.insert(session);
            }
            _ => {}
        }
    }
    let (mut tp, mut fn_, mut stp, mut sfp, mut sfn) = (0, 0, 0, 0, 0);
    for line in std::fs::read_to_string(corpus.join("labels.jsonl"))
        .unwrap()
        .lines()
    {
        let l: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = l["session"].as_str().unwrap().to_string();
        for i in l["injected_message_indexes"].as_array().unwrap() {
            if flagged.contains(&(s.clone(), i.as_u64().unwrap() as usize)) {
                tp += 1;
            } else {
                fn_ += 1;
            }
        }
        match (l["attack_succeeded"].as_bool().unwrap(), acted.contains(&s)) {
            (true, true) => stp += 1,
            (false, true) => sfp += 1,
            (true, false) => sfn += 1,
            _ => {}
        }
    }
    let recall = tp as f64 / (tp + fn_) as f64;
    let flagged_clean = flagged.len() - tp;
    assert!(recall >= 0.99, "tool-output recall {recall:.3}");
    assert!(
        flagged_clean <= 110,
        "{flagged_clean} outputs flagged outside the labels (103 known label gaps)"
    );
    let f1 = 2.0 * stp as f64 / (2 * stp + sfp + sfn) as f64;
    assert!(
        f1 >= 0.85,
        "session F1 {f1:.3} (tp {stp}, fp {sfp}, fn {sfn})"
    );
}

#[test]
fn a_session_continued_by_a_later_ingest_is_scanned_and_shown_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let line = |i: u32, kind: &str| {
        format!("{{\"session_id\":\"s\",\"event\":\"{kind}\",\"tool\":\"search\",\"call_id\":\"c{i}\",\"args\":{{\"q\":\"x{i}\"}}}}\n")
    };
    for (name, range) in [("a.jsonl", 0..2), ("b.jsonl", 2..4)] {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            range
                .map(|i| line(i, "tool_call") + &line(i, "tool_result"))
                .collect::<String>(),
        )
        .unwrap();
        assert_eq!(
            tracehound(&["ingest", path.to_str().unwrap(), "--store", store, "-q"])
                .status
                .code(),
            Some(0)
        );
    }
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "max_tool_calls_per_session = 3\n").unwrap();
    let scan = text(
        &tracehound(&[
            "scan",
            "--store",
            store,
            "--policy",
            policy.to_str().unwrap(),
            "--format",
            "jsonl",
        ])
        .stdout,
    );
    assert!(
        scan.contains("\"tool_calls_over_limit\""),
        "4 calls across two ingests: {scan}"
    );
    let tl: serde_json::Value = serde_json::from_slice(
        &tracehound(&["timeline", "s", "--store", store, "--format", "json"]).stdout,
    )
    .unwrap();
    let seqs: Vec<u64> = tl["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..8).collect::<Vec<u64>>());
}

#[test]
fn sub_agent_events_are_nested_under_the_task_call_that_spawned_them() {
    let Some(dir_in) = shared_corpus("formats/claude-code") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = ingest_to(dir.path(), &dir_in);
    let out = tracehound(&[
        "timeline",
        "258c7280-ae70-4798-800f-63464d01a85d",
        "--store",
        &store,
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = v["entries"].as_array().unwrap();
    let task = entries
        .iter()
        .position(|e| e["kind"] == "tool_call" && e["tool_name"] == "Task")
        .expect("the Task call");
    let next = &entries[task + 1];
    assert_eq!(next["agent_id"], "a881341", "{next}");
    assert_eq!(next["depth"], 1);
    assert_eq!(next["kind"], "user_message");
    // The main agent's events are numbered first: the sub-agent continues the session after them.
    assert!(next["seq"].as_u64().unwrap() > entries[task]["seq"].as_u64().unwrap());
}

/// Every command's `--help` ends with a real example.
#[test]
fn every_command_has_an_example_in_its_help() {
    let top = text(&tracehound(&["--help"]).stdout);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 15, "{commands:?}");
    for c in &commands {
        let args: Vec<&str> = if c == "policy" {
            vec!["policy", "init", "--help"]
        } else {
            vec![c.as_str(), "--help"]
        };
        let help = text(&tracehound(&args).stdout);
        assert!(
            help.contains("Example"),
            "`tracehound {c} --help` has no example:\n{help}"
        );
        assert!(help.contains("tracehound "), "{c}");
    }
}

/// Completions for each shell name every command, and the bash script parses; the man page is roff
/// with every command in it.
#[test]
fn completions_and_man_page_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = tracehound(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let script = text(&out.stdout);
        for c in ["ingest", "search", "preserve", "report", "eval-case"] {
            assert!(script.contains(c), "{shell} completions lack {c}");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("tracehound.bash");
            std::fs::write(&f, &script).unwrap();
            let check = Command::new("bash").arg("-n").arg(&f).output().unwrap();
            assert!(check.status.success(), "{}", text(&check.stderr));
        }
    }
    let man = text(&tracehound(&["man"]).stdout);
    assert!(man.contains(".TH tracehound 1"), "{man}");
    for c in ["timeline", "contain", "postmortem", "campaigns"] {
        assert!(man.contains(c), "man page lacks {c}");
    }
}
