//! Gemini CLI sessions, in both generations: a JSON document `{sessionId, messages: [...]}` (and the
//! older `{history: [{role, parts}]}`), and the JSONL form whose first line is the session header
//! (`sessionId`, `projectHash`, `startTime`), then one message per line and `{"$set": ...}` updates.
//! A message of `type: gemini` carries its `toolCalls`, each with its `args` and its `result`, so a call
//! and its result come from the same record and link by the call's `id`.

use tracehound_schema::{Event, EventKind, LinkMethod, SourceFormat};

use super::messages::{emit_messages, kind_of_role};
use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, content_text, take, take_text, take_ts, Object, Value};

pub(crate) struct GeminiCli;

impl Format for GeminiCli {
    fn id(&self) -> SourceFormat {
        SourceFormat::GeminiCli
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        let has = |k: &str| json::get(record, k).is_some();
        if has("projectHash") || (has("sessionId") && has("startTime")) {
            return 95;
        }
        if json::get(record, "$set").is_some() {
            return 70;
        }
        if matches!(json::str_at(record, "type"), Some("gemini")) {
            return 90;
        }
        if let Some(history) = json::get(record, "history").and_then(json::as_array) {
            if history.iter().any(|m| json::get(m, "parts").is_some()) {
                return 85;
            }
        }
        0
    }

    fn file_session(&self, record: &Value<'_>) -> Option<String> {
        json::str_at(record, "sessionId").map(str::to_string)
    }

    fn convert(
        &self,
        record: Value<'_>,
        file: &FileCtx,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let Value::Object(mut obj) = record else {
            return Err("expected a JSON object".into());
        };
        let first = out.len();
        let mut base = Base {
            session_id: take_text(&mut obj, &["sessionId"])
                .unwrap_or_else(|| file.session().into()),
            provider: Some("google".into()),
            ..Base::default()
        };
        if let Some(meta) = obj.get("meta") {
            base.model = json::str_at(meta, "model").map(str::to_string);
        }
        if let Some(messages) = take(&mut obj, &["messages"]) {
            // Whole-session document.
            let mut header = base.event(EventKind::SessionMeta, "");
            header.ts = take_ts(&mut obj, &["startTime", "start_time"]);
            out.push(header);
            if let Value::Array(items) = messages {
                for (i, m) in items.into_iter().enumerate() {
                    message(m, &format!("/messages/{i}"), &base, out);
                }
            }
        } else if let Some(history) = take(&mut obj, &["history"]) {
            let mut header = base.event(EventKind::SessionMeta, "");
            header.ts = take_ts(&mut obj, &["startTime", "start_time"]);
            header.content = take_text(&mut obj, &["summary"]);
            out.push(header);
            if let Value::Array(items) = history {
                for (i, mut m) in items.into_iter().enumerate() {
                    let mut b = base.clone();
                    if let Value::Object(o) = &mut m {
                        b.ts = take_ts(o, &["ts", "timestamp"]);
                    }
                    emit_messages(m, &format!("/history/{i}"), &b, out);
                }
            }
        } else if obj.contains_key("type") || obj.contains_key("content") {
            // JSONL: one message per line.
            message(
                Value::Object(Box::new(std::mem::take(&mut *obj))),
                "",
                &base,
                out,
            );
        } else {
            let mut e = base.event(EventKind::SessionMeta, "");
            e.ts = take_ts(&mut obj, &["startTime", "lastUpdated", "timestamp"]);
            out.push(e);
        }
        finish_record(out, first, &base, json::rest(&obj));
        Ok(())
    }
}

fn message(m: Value<'_>, pointer: &str, base: &Base, out: &mut Vec<Event>) {
    let Value::Object(mut m) = m else {
        let mut e = base.event(EventKind::Other, pointer);
        e.content = content_text(&m);
        out.push(e);
        return;
    };
    let first = out.len();
    let mut base = base.clone();
    base.ts = take_ts(&mut m, &["timestamp"]);
    base.event_id = take_text(&mut m, &["id"]);
    if let Some(model) = take_text(&mut m, &["model"]) {
        base.model = Some(model);
    }
    let ty = take_text(&mut m, &["type"]).unwrap_or_default();
    let kind = match ty.as_str() {
        "error" => EventKind::Error,
        "info" | "warning" => EventKind::Other,
        other => kind_of_role(other),
    };
    if let Some(Value::Array(thoughts)) = take(&mut m, &["thoughts"]) {
        for (i, t) in thoughts.into_iter().enumerate() {
            let mut e = base.event(EventKind::Reasoning, format!("{pointer}/thoughts/{i}"));
            e.content = match json::get(&t, "description") {
                Some(d) => {
                    let subject = json::str_at(&t, "subject").unwrap_or("");
                    Some(format!(
                        "{subject}{}{}",
                        if subject.is_empty() { "" } else { ": " },
                        json::to_text(d)
                    ))
                }
                None => content_text(&t),
            };
            out.push(e);
        }
    }
    let text = take(&mut m, &["content"]).and_then(|c| content_text(&c));
    let calls = take(&mut m, &["toolCalls"]);
    let has_calls = calls
        .as_ref()
        .and_then(json::as_array)
        .is_some_and(|a| !a.is_empty());
    if text.as_deref().is_some_and(|t| !t.is_empty()) || !has_calls {
        let mut e = base.event(kind, format!("{pointer}/content"));
        e.content = text;
        e.role = Some(ty.clone());
        e.is_error = (kind == EventKind::Error).then_some(true);
        out.push(e);
    }
    if let Some(tokens) = take(&mut m, &["tokens"]) {
        if let Some(e) = out.get_mut(first) {
            e.input_tokens = json::get(&tokens, "input").and_then(json::as_i64);
            e.output_tokens = json::get(&tokens, "output").and_then(json::as_i64);
        }
        m.insert("tokens".into(), tokens);
    }
    if let Some(Value::Array(calls)) = calls {
        for (i, call) in calls.into_iter().enumerate() {
            tool_call(call, &format!("{pointer}/toolCalls/{i}"), &base, out);
        }
    }
    m.insert("type".into(), Value::String(ty.into()));
    finish_record(out, first, &base, json::rest(&m));
}

fn tool_call(call: Value<'_>, pointer: &str, base: &Base, out: &mut Vec<Event>) {
    let Value::Object(mut c) = call else { return };
    let mut call_event = base.event(EventKind::ToolCall, pointer);
    call_event.call_id = take_text(&mut c, &["id"]);
    call_event.tool_name = take_text(&mut c, &["name"]);
    call_event.args = take_text(&mut c, &["args"]);
    let ts = take_ts(&mut c, &["timestamp"]);
    let mut result = base.event(EventKind::ToolResult, format!("{pointer}/result"));
    result.ts = ts.or(base.ts);
    result.call_id = call_event.call_id.clone();
    result.link_method = Some(LinkMethod::ExplicitId);
    result.tool_name = call_event.tool_name.clone();
    result.content = take(&mut c, &["result"]).map(|r| match &r {
        Value::Array(items) => items
            .iter()
            .map(|item| {
                json::get_path(item, &["functionResponse", "response"])
                    .map(|resp| match json::get(resp, "output") {
                        Some(o) => json::to_text(o),
                        None => json::to_text(resp),
                    })
                    .unwrap_or_else(|| json::to_text(item))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => json::to_text(other),
    });
    let status = take_text(&mut c, &["status"]);
    result.is_error = status.as_deref().map(|s| s != "success");
    let mut rest: Object<'_> = Object::default();
    if let Some(s) = status {
        rest.insert("status".into(), Value::String(s.into()));
    }
    for (k, v) in c.iter() {
        rest.insert(k.clone(), v.clone());
    }
    result.attributes = json::rest(&rest);
    out.push(call_event);
    out.push(result);
}
