//! Our own hand-written fixtures: exact events, with every mapping the formats promise.

use crate::util::{self, assert_accounting, fixture, rejects, rows};

#[test]
fn flat_jsonl_maps_aliases_pairs_by_order_and_rejects_the_broken_line() {
    let store = tempfile::tempdir().unwrap();
    let summary = util::ingest(&[fixture("flat.jsonl")], store.path());
    assert_eq!(summary.inputs[0].format.as_deref(), Some("flat-jsonl"));
    assert_eq!(summary.inputs[0].blank_lines, 1);
    assert_accounting(store.path());
    let rows = rows(store.path());
    let flat1: Vec<_> = rows.iter().filter(|r| r.session_id == "flat-1").collect();
    let kinds: Vec<_> = flat1.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "system_prompt",
            "user_message",
            "tool_call",
            "tool_result",
            "approval_request",
            "approval_decision",
            "tool_call",
            "tool_result",
            "assistant_message",
            "tool_call",
            "feedback"
        ]
    );
    // Explicit ids where given, order where not.
    assert_eq!(flat1[3].call_id.as_deref(), Some("c1"));
    assert_eq!(flat1[3].link_method.as_deref(), Some("explicit_id"));
    assert_eq!(flat1[6].tool_name.as_deref(), Some("refund"));
    assert_eq!(
        flat1[6].args.as_deref(),
        Some(r#"{"order":"4411","amount":19.99}"#)
    );
    assert_eq!(flat1[7].call_id, flat1[6].call_id);
    assert_eq!(flat1[7].link_method.as_deref(), Some("order"));
    // Errors and usage.
    assert_eq!(flat1[9].is_error, Some(true));
    assert_eq!(flat1[8].input_tokens, Some(812));
    // Unmapped fields survive in attributes.
    assert!(flat1[3]
        .attributes
        .as_deref()
        .unwrap()
        .contains("\"latency_ms\":12"));
    assert!(flat1[10]
        .attributes
        .as_deref()
        .unwrap()
        .contains("\"rating\":-1"));
    // Lines and offsets are where the records are.
    let text = std::fs::read_to_string(fixture("flat.jsonl")).unwrap();
    for r in &flat1 {
        let line = text
            .lines()
            .nth(r.source_line.unwrap() as usize - 1)
            .unwrap();
        assert!(text[r.source_offset as usize..].starts_with(line));
    }
    // Unicode and escapes round-trip.
    let uni = rows.iter().find(|r| r.session_id == "flat-2").unwrap();
    assert_eq!(
        uni.content.as_deref(),
        Some("ünïcödé \u{2028} and emoji 🦀 and escapes \"q\" \\ \t")
    );
    // The truncated line is a located reject.
    let rej = rejects(store.path());
    assert_eq!(rej.len(), 1);
    assert_eq!(rej[0]["line"], 13);
    let offset = text.lines().take(12).map(|l| l.len() + 1).sum::<usize>();
    assert_eq!(rej[0]["offset"], offset);
    assert!(rej[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("malformed JSON"));
}

#[test]
fn anthropic_exchanges_emit_each_message_once() {
    let store = tempfile::tempdir().unwrap();
    util::ingest(&[fixture("anthropic_messages.jsonl")], store.path());
    assert_accounting(store.path());
    let rows = rows(store.path());
    let kinds: Vec<_> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "system_prompt",
            "user_message",
            "reasoning",
            "assistant_message",
            "tool_call",
            "tool_result",
            "tool_call",
            "tool_result",
            "error"
        ]
    );
    let exfil = &rows[6];
    assert_eq!(exfil.tool_name.as_deref(), Some("send_email"));
    assert!(exfil.args.as_deref().unwrap().contains("x@evil.example"));
    // Usage includes cache reads; one count per response.
    assert_eq!(exfil.input_tokens, Some(400));
    assert_eq!(rows[7].is_error, Some(true));
    assert_eq!(rows[5].source_pointer, "/request/messages/2/content/0");
}

#[test]
fn otlp_ids_normalize_and_a_call_is_counted_once() {
    let store = tempfile::tempdir().unwrap();
    util::ingest(&[fixture("otlp_trace.json")], store.path());
    assert_accounting(store.path());
    let rows = rows(store.path());
    assert!(rows.iter().all(|r| r.session_id == "otel-1"));
    let calls: Vec<_> = rows.iter().filter(|r| r.kind == "tool_call").collect();
    assert_eq!(
        calls.len(),
        1,
        "the execution span must not repeat the announced call"
    );
    let result = rows.iter().find(|r| r.kind == "tool_result").unwrap();
    assert_eq!(result.call_id.as_deref(), Some("call_9"));
    assert_eq!(result.is_error, Some(true), "span status ERROR");
    // The resent history (second chat span) is not emitted twice.
    assert_eq!(rows.iter().filter(|r| r.kind == "user_message").count(), 1);
    // base64 and hex ids of the same trace land in one trace id.
    let traces: std::collections::BTreeSet<_> = rows
        .iter()
        .filter_map(|r| r.attributes.as_deref())
        .filter_map(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        .filter_map(|v| v["trace_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        traces.into_iter().collect::<Vec<_>>(),
        ["5b8efff798038103d269b633813fc60c"]
    );
    let last = rows.last().unwrap();
    assert_eq!(last.content.as_deref(), Some("You have standup at 10:00."));
}

#[test]
fn openai_chat_jsonl_lines_are_sessions() {
    let store = tempfile::tempdir().unwrap();
    util::ingest(&[fixture("openai_chat.jsonl")], store.path());
    assert_accounting(store.path());
    let rows = rows(store.path());
    let sessions: std::collections::BTreeSet<_> =
        rows.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(
        sessions.into_iter().collect::<Vec<_>>(),
        ["chat-1", "chat-2"]
    );
    let call = rows.iter().find(|r| r.kind == "tool_call").unwrap();
    assert_eq!(call.args.as_deref(), Some(r#"{"q":"billing owner"}"#));
    assert_eq!(call.source_pointer, "/messages/2/tool_calls/0");
}
