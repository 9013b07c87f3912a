//! The shared corpora of real agent logs: every file is detected as its format and fully accounted for,
//! and event counts match what an independent reading of the files (serde_json) finds.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{self, assert_accounting, line_counts, rows, shared};

fn expected_format(path: &str) -> Option<&'static str> {
    let name = Path::new(path).file_name().unwrap().to_str().unwrap();
    if name.ends_with(".md") {
        return None;
    }
    Some(if path.contains("/claude-code/") {
        "claude-code"
    } else if name == "stage0-schema_drift.jsonl" {
        // Lines of role/message objects with a stray Codex record: a flat event log, not a rollout.
        "flat-jsonl"
    } else if path.contains("/codex/") {
        "codex"
    } else if path.contains("/gemini-cli/") {
        "gemini-cli"
    } else if name.starts_with("anthropic_managed") {
        "anthropic-events"
    } else if path.contains("/langsmith/") {
        "langsmith"
    } else if path.contains("/otel-genai/") {
        "otel"
    } else {
        panic!("unexpected corpus file {path}")
    })
}

#[test]
fn every_shared_format_sample_is_detected_and_accounted_for() {
    let Some(dir) = shared("formats") else { return };
    let store = tempfile::tempdir().unwrap();
    let summary = util::ingest(&[dir], store.path());
    assert!(
        summary.inputs.len() >= 40,
        "expected the whole corpus, got {}",
        summary.inputs.len()
    );
    for input in &summary.inputs {
        assert_eq!(
            input.format.as_deref(),
            expected_format(&input.path),
            "format of {}",
            input.path
        );
        if input.format.is_none() {
            assert!(
                input.error.is_some() && input.rejects == 1,
                "unknown file is one located reject"
            );
            continue;
        }
        assert!(input.events > 0, "{} produced no events", input.path);
        assert_eq!(input.rejects, 0, "{} has rejects", input.path);
        if input.path.ends_with(".jsonl") {
            let (lines, blank) = line_counts(Path::new(&input.path));
            assert_eq!(
                input.records + input.blank_lines,
                lines,
                "lines of {}",
                input.path
            );
            assert_eq!(input.blank_lines, blank);
        }
    }
    assert_accounting(store.path());

    let rows = rows(store.path());
    let mut by_file: BTreeMap<&str, Vec<&util::Row>> = BTreeMap::new();
    for r in &rows {
        by_file.entry(&r.source_file).or_default().push(r);
    }
    for (file, events) in &by_file {
        let count = |k: &str| events.iter().filter(|e| e.kind == k).count();
        if file.contains("/codex/") && file.contains("rollout")
            || file.ends_with("stage0-small.jsonl")
        {
            // A rollout record is one event.
            let (lines, blank) = line_counts(Path::new(file));
            assert_eq!(events.len() as u64, lines - blank, "{file}");
        }
        if file.contains("/claude-code/") {
            let (uses, results) = claude_blocks(Path::new(file));
            assert_eq!(count("tool_call"), uses, "tool_use blocks in {file}");
            assert_eq!(
                count("tool_result"),
                results,
                "tool_result blocks in {file}"
            );
            // Every result links to a call of the same session by explicit id.
            for r in events.iter().filter(|e| e.kind == "tool_result") {
                assert_eq!(r.link_method.as_deref(), Some("explicit_id"));
            }
            assert!(events.iter().all(|e| e.source_line.is_some()));
        }
    }
    // Provenance: a Claude Code tool call points at its content block.
    let call = rows
        .iter()
        .find(|r| r.source_format == "claude-code" && r.kind == "tool_call")
        .expect("a Claude Code tool call");
    assert!(
        call.source_pointer.starts_with("/message/content/"),
        "{}",
        call.source_pointer
    );
    // Line and offset locate the record: the line at that offset parses and names that session.
    let text = std::fs::read(&call.source_file).unwrap();
    let line = text[call.source_offset as usize..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(line).unwrap();
    assert_eq!(v["sessionId"].as_str(), Some(call.session_id.as_str()));
    let nth_line = text
        .split(|&b| b == b'\n')
        .nth(call.source_line.unwrap() as usize - 1)
        .unwrap();
    assert_eq!(nth_line, line);

    // Formats with their own specifics.
    let otel: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.source_file
                .ends_with("otel_genai_tool_execution_span.json")
        })
        .collect();
    assert_eq!(
        otel.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["tool_call", "tool_result"]
    );
    assert_eq!(otel[1].call_id.as_deref(), Some("1234"));
    let denied = rows
        .iter()
        .find(|r| r.source_format == "anthropic-events" && r.kind == "approval_decision")
        .expect("the denied tool confirmation");
    assert_eq!(
        denied.content.as_deref(),
        Some("This tool is not allowed in this demo.")
    );
    let gemini_calls = rows
        .iter()
        .filter(|r| r.source_format == "gemini-cli" && r.kind == "tool_call")
        .count();
    let gemini_results = rows
        .iter()
        .filter(|r| {
            r.source_format == "gemini-cli" && r.kind == "tool_result" && r.call_id.is_some()
        })
        .count();
    assert_eq!(gemini_calls, gemini_results);
    assert!(gemini_calls >= 3);
}

fn claude_blocks(path: &Path) -> (usize, usize) {
    let (mut uses, mut results) = (0, 0);
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(blocks) = v["message"]["content"].as_array() {
            for b in blocks {
                match b["type"].as_str() {
                    Some("tool_use") => uses += 1,
                    Some("tool_result") => results += 1,
                    _ => {}
                }
            }
        }
    }
    (uses, results)
}

#[test]
fn agentdojo_runs_become_one_session_each_with_every_tool_call() {
    let Some(dir) = shared("agentdojo-dev/sessions") else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let summary = util::ingest(std::slice::from_ref(&dir), store.path());
    assert_eq!(summary.inputs.len(), 1600);
    assert_eq!(summary.sessions, 1600);
    assert!(summary
        .inputs
        .iter()
        .all(|i| i.format.as_deref() == Some("openai-chat")));
    assert_accounting(store.path());

    // Independent count of messages and tool calls with serde_json.
    let (mut calls, mut tool_msgs, mut texts) = (0usize, 0usize, 0usize);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        for m in v["messages"].as_array().unwrap() {
            let n = m["tool_calls"].as_array().map_or(0, Vec::len);
            calls += n;
            match m["role"].as_str().unwrap() {
                "tool" => tool_msgs += 1,
                "assistant" => {
                    let has_text = m["content"].as_str().is_some_and(|s| !s.is_empty());
                    texts += usize::from(has_text || n == 0);
                }
                _ => texts += 1,
            }
        }
    }
    let rows = rows(store.path());
    assert_eq!(rows.iter().filter(|r| r.kind == "tool_call").count(), calls);
    assert_eq!(
        rows.iter().filter(|r| r.kind == "tool_result").count(),
        tool_msgs
    );
    assert_eq!(rows.len(), calls + tool_msgs + texts);
    // Session ids are the file stems; every result is linked to its call by id.
    let first = rows
        .iter()
        .find(|r| r.session_id == "0024a51148441fcf")
        .expect("session by file stem");
    assert_eq!(first.kind, "system_prompt");
    assert!(rows
        .iter()
        .filter(|r| r.kind == "tool_result")
        .all(|r| r.call_id.is_some() && r.link_method.is_some()));
    // AgentDojo leaves `tool_call_id` empty in some runs: those results are paired by order, and never
    // with an empty id.
    assert!(rows.iter().all(|r| r.call_id.as_deref() != Some("")));
    assert!(rows
        .iter()
        .any(|r| r.link_method.as_deref() == Some("explicit_id")));
}
