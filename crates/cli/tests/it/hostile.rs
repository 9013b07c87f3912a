//! Every command, in every output format, over the hostile fixture archive (`testdata/hostile`): log
//! content is attacker-written and must never reach its reader raw. The checks here are written
//! independently of the escaping code they test.

use std::path::Path;

use super::{testdata, text, tracehound};

const SECRETS: [&str; 3] = [
    "AKIAZ7QF3RT5KX2M9W4Q",
    "ghp_Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4V",
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
];
/// The session ids of the fixture, exactly as stored.
const FLAT: &str = "ops\x1b[2J-1";
const CHAT: &str = "chat-<b>2</b>\x1b[2J";
const ANTHROPIC: &str = "am-=1+1\u{202E}";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Terminal,
    Json,
    Jsonl,
    Csv,
    Markdown,
    Html,
}

/// A character a terminal would obey or that hides or reorders text.
fn raw_hazard(c: char) -> bool {
    matches!(c, '\x00'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

fn check(label: &str, out: &str, kind: Kind, secrets_shown: bool) {
    if let Some(c) = out.chars().find(|&c| raw_hazard(c)) {
        panic!("{label}: raw {c:?} reaches the reader:\n{out:?}");
    }
    if !secrets_shown {
        for s in SECRETS {
            assert!(!out.contains(s), "{label}: secret {s} not redacted:\n{out}");
        }
    }
    match kind {
        Kind::Terminal => {}
        Kind::Json => {
            serde_json::from_str::<serde_json::Value>(out)
                .unwrap_or_else(|e| panic!("{label}: not JSON ({e}):\n{out}"));
        }
        Kind::Jsonl => {
            for line in out.lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{label}: not JSON lines ({e}):\n{line}"));
            }
        }
        Kind::Csv => {
            for cell in csv_cells(out) {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{label}: a spreadsheet would run the cell {cell:?}"
                );
            }
        }
        Kind::Markdown => markdown_is_inert(label, out),
        Kind::Html => html_is_inert(label, out),
    }
}

/// Every cell of a CSV document (RFC 4180 quoting), unquoted.
fn csv_cells(doc: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let (mut quoted, mut chars) = (false, doc.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',' | '\n') => cells.push(std::mem::take(&mut cell)),
            (false, c) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// Rendered the way GitHub would (tables, strikethrough, autolinks of URLs left to the renderer), the
/// Markdown holds no HTML of the log's, no link or image to the attacker's hosts, and no heading or
/// table the log started.
fn markdown_is_inert(label: &str, md: &str) {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    for event in parser {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => {
                panic!("{label}: raw HTML from the log: {h:?}\n{md}")
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                assert!(
                    !dest_url.contains("evil.example") && !dest_url.starts_with("javascript:"),
                    "{label}: a live link from the log: {dest_url}\n{md}"
                );
            }
            Event::Start(Tag::Heading { .. }) => {}
            _ => {}
        }
    }
    let html = {
        let mut s = String::new();
        pulldown_cmark::html::push_html(&mut s, Parser::new_ext(md, Options::ENABLE_TABLES));
        s
    };
    assert!(
        !html.contains("<h1>heading"),
        "{label}: the log made a heading\n{md}"
    );
    assert!(
        !html.contains("<th>a</th>"),
        "{label}: the log made a table\n{md}"
    );
}

fn html_is_inert(label: &str, html: &str) {
    for raw in [
        "<script>alert",
        "<img src=x",
        "</td></tr></table><img",
        "<b>2</b>",
        "javascript:alert",
    ] {
        assert!(!html.contains(raw), "{label}: raw {raw:?} in the page");
    }
}

fn run(args: &[&str]) -> (String, String) {
    let out = tracehound(args);
    let stderr = text(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?} failed: {stderr}"
    );
    (text(&out.stdout), stderr)
}

fn hostile_store(dir: &Path) -> String {
    let store = dir.join("store");
    let h = testdata("hostile");
    let files = ["flat.jsonl", "openai-chat.json", "anthropic-messages.jsonl"]
        .map(|f| h.join(f).to_str().unwrap().to_string());
    let out = tracehound(
        &[
            &["ingest", "--store", store.to_str().unwrap(), "-q"],
            &files.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    store.to_str().unwrap().to_string()
}

fn format_kind(format: &str) -> Kind {
    match format {
        "json" | "promptfoo" => Kind::Json,
        "jsonl" | "timesketch" => Kind::Jsonl,
        "csv" => Kind::Csv,
        "markdown" => Kind::Markdown,
        _ => Kind::Terminal,
    }
}

#[test]
fn no_output_format_of_any_command_lets_log_content_reach_its_reader_raw() {
    let dir = tempfile::tempdir().unwrap();
    let store = hostile_store(dir.path());
    let s = store.as_str();
    let lists = ["table", "json", "jsonl", "csv"];
    let mut runs: Vec<(Vec<String>, Kind)> = Vec::new();
    let mut add = |args: &[&str], formats: &[&str]| {
        for f in formats {
            let mut a: Vec<String> = args.iter().map(|x| x.to_string()).collect();
            a.extend(["--format".to_string(), f.to_string()]);
            runs.push((a, format_kind(f)));
        }
    };
    for session in [FLAT, CHAT, ANTHROPIC] {
        add(&["timeline", session, "--store", s], &lists);
        add(
            &["postmortem", "--store", s, "--session", session],
            &["markdown", "json"],
        );
    }
    add(&["scan", "--store", s], &lists);
    add(&["search", "evil", "--store", s], &lists);
    add(
        &["search", "evil", "--store", s, "--count-by", "session"],
        &lists,
    );
    add(
        &[
            "sql",
            "SELECT session_id, user_id, agent_id, tool_name, args, content FROM events",
            "--store",
            s,
        ],
        &lists,
    );
    add(
        &[
            "sql",
            "SELECT session_id, summary, evidence FROM findings",
            "--store",
            s,
        ],
        &lists,
    );
    add(
        &["similar", "--store", s, "--session", FLAT, "--seq", "3"],
        &lists,
    );
    add(&["campaigns", "--store", s, "--min-sessions", "1"], &lists);
    add(&["stats", "--store", s], &["table", "json"]);
    add(&["info", "--store", s], &["table", "json"]);
    add(&["contain", "--store", s], &["markdown", "json"]);
    add(
        &["contain", "--store", s, "--sessions", FLAT],
        &["markdown", "json"],
    );
    add(
        &["eval-case", "--store", s, "--session", FLAT, "--seq", "4"],
        &["jsonl", "promptfoo"],
    );
    add(&["export", "--store", s], &["timesketch", "jsonl", "csv"]);
    add(&["verify", "--store", s], &["table", "json"]);

    for (args, kind) in &runs {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (stdout, stderr) = run(&argv);
        let label = format!("{argv:?}");
        assert!(!stdout.is_empty(), "{label}: printed nothing");
        check(&label, &stdout, *kind, false);
        check(&format!("{label} (stderr)"), &stderr, Kind::Terminal, false);
    }

    // The report, in each of its formats.
    for (ext, kind) in [
        ("html", Kind::Html),
        ("md", Kind::Markdown),
        ("json", Kind::Json),
    ] {
        let path = dir.path().join(format!("report.{ext}"));
        let (_, stderr) = run(&["report", "--store", s, "--output", path.to_str().unwrap()]);
        check(
            &format!("report.{ext}"),
            &std::fs::read_to_string(&path).unwrap(),
            kind,
            false,
        );
        check("report (stderr)", &stderr, Kind::Terminal, false);
    }

    // The evidence archive keeps the raw records (that is its point), but what preserve prints does
    // not carry them.
    let archive = dir.path().join("evidence");
    let (stdout, stderr) = run(&[
        "preserve",
        "--store",
        s,
        "--sessions",
        FLAT,
        CHAT,
        "--to",
        archive.to_str().unwrap(),
    ]);
    check("preserve", &stdout, Kind::Terminal, false);
    check("preserve (stderr)", &stderr, Kind::Terminal, false);
    let raw = std::fs::read_to_string(archive.join("records/flat.jsonl")).unwrap_or_default()
        + &walk_text(&archive.join("records"));
    assert!(
        raw.contains(SECRETS[0]),
        "the archive keeps the evidence exact"
    );

    // With --show-secrets the credentials are there, still in escaped, inert form.
    // (Findings themselves never carry a credential, only its fingerprint.)
    let (json, _) = run(&[
        "timeline",
        FLAT,
        "--store",
        s,
        "--format",
        "json",
        "--show-secrets",
    ]);
    check("timeline json --show-secrets", &json, Kind::Json, true);
    assert!(json.contains(SECRETS[0]), "--show-secrets shows the key");
    let (table, _) = run(&["timeline", FLAT, "--store", s, "--show-secrets"]);
    check("timeline --show-secrets", &table, Kind::Terminal, true);
    assert!(table.contains(SECRETS[0]));
}

#[test]
fn json_keeps_hostile_text_exact_while_escaping_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = hostile_store(dir.path());
    let (out, _) = run(&[
        "export",
        "--store",
        &store,
        "--session",
        FLAT,
        "--show-secrets",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Parsed back, the strings are the logged ones, escape sequences, bidi and tag characters included.
    assert_eq!(rows[0]["session_id"], FLAT);
    let user = rows[1]["content"].as_str().unwrap();
    assert!(
        user.contains("\u{202E}txt.exe\u{200B}\u{2066}\u{E0041}\u{E0042}\rOVERWRITTEN"),
        "{user:?}"
    );
    assert!(out.contains("\\u202e") && out.contains("\\udb40\\udc41") && out.contains("\\u001b"));

    // CSV shows the same characters as visible code points, never raw.
    let (csv, _) = run(&[
        "export",
        "--store",
        &store,
        "--session",
        FLAT,
        "--format",
        "csv",
    ]);
    assert!(
        csv.contains("<U+202E>txt.exe<U+200B><U+2066><U+E0041><U+E0042><U+000D>OVERWRITTEN"),
        "{csv}"
    );
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
}

fn walk_text(dir: &Path) -> String {
    let mut s = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            s += &walk_text(&e.path());
        } else {
            s += &String::from_utf8_lossy(&std::fs::read(e.path()).unwrap());
        }
    }
    s
}
