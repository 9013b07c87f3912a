//! Chat messages in the three shapes formats embed them in: OpenAI (`content` + `tool_calls` /
//! `tool_call_id`, AgentDojo's variant included), Anthropic (`content` blocks `text`, `thinking`,
//! `tool_use`, `tool_result`), and OpenTelemetry GenAI `parts`. One emitter serves every adapter.

use std::borrow::Cow;

use tracehound_schema::{Event, EventKind, LinkMethod};

use super::Base;
use crate::json::{self, content_text, take, take_text, Value};

/// The kind of a message's text by its role.
pub(crate) fn kind_of_role(role: &str) -> EventKind {
    match role.to_ascii_lowercase().as_str() {
        "system" | "developer" => EventKind::SystemPrompt,
        "user" | "human" => EventKind::UserMessage,
        "assistant" | "model" | "ai" | "gemini" | "bot" => EventKind::AssistantMessage,
        "tool" | "function" | "ipython" | "tool_result" => EventKind::ToolResult,
        _ => EventKind::Other,
    }
}

/// Emits the events of one message. `pointer` is the JSON Pointer of the message in its record.
pub(crate) fn emit_message(msg: Value<'_>, pointer: &str, base: &Base, out: &mut Vec<Event>) {
    let Value::Object(mut obj) = msg else {
        // A bare string in a message list: treat as text of unknown role.
        let mut e = base.event(EventKind::Other, pointer);
        e.content = content_text(&msg);
        out.push(e);
        return;
    };
    let first = out.len();
    let role = take_text(&mut obj, &["role", "type"]).unwrap_or_default();
    let kind = kind_of_role(&role);
    let mut base = base.clone();
    if let Some(model) = take_text(&mut obj, &["model"]) {
        base.model = Some(model);
    }
    if let Some(id) = take_text(&mut obj, &["id"]) {
        base.message_id = Some(id);
    }

    if let Some(parts) = take(&mut obj, &["parts"]) {
        emit_parts(parts, &format!("{pointer}/parts"), kind, &role, &base, out);
    } else {
        let content = take(&mut obj, &["content"]);
        let has_blocks = content.as_ref().is_some_and(is_anthropic_blocks);
        match content {
            Some(Value::Array(blocks)) if has_blocks => {
                for (i, block) in blocks.into_iter().enumerate() {
                    emit_block(
                        block,
                        &format!("{pointer}/content/{i}"),
                        kind,
                        &role,
                        &base,
                        out,
                    );
                }
            }
            content => emit_openai(&mut obj, content, pointer, kind, &base, out),
        }
    }
    super::finish_record(out, first, &base, json::rest(&obj));
    for e in &mut out[first..] {
        if e.role.is_none() && !role.is_empty() {
            e.role = Some(role.clone());
        }
    }
}

fn is_anthropic_blocks(v: &Value<'_>) -> bool {
    json::as_array(v).is_some_and(|items| {
        items.iter().any(|b| {
            matches!(
                json::str_at(b, "type"),
                Some("tool_use" | "tool_result" | "thinking" | "redacted_thinking" | "image")
            )
        })
    })
}

fn emit_openai(
    obj: &mut json::Object<'_>,
    content: Option<Value<'_>>,
    pointer: &str,
    kind: EventKind,
    base: &Base,
    out: &mut Vec<Event>,
) {
    // `{"text": ...}` is how some exporters write a completion (OpenTelemetry's `gen_ai.completion`).
    let content = content.or_else(|| take(obj, &["text"]));
    let tool_calls = take(obj, &["tool_calls"]);
    let function_call = take(obj, &["function_call"]);
    let text = content.as_ref().and_then(content_text);
    let has_calls = tool_calls
        .as_ref()
        .and_then(json::as_array)
        .is_some_and(|a| !a.is_empty())
        || function_call.as_ref().is_some_and(|f| !json::is_null(f));

    if kind == EventKind::ToolResult {
        let mut e = base.event(kind, pointer);
        e.content = text;
        e.call_id =
            take_text(obj, &["tool_call_id", "tool_use_id", "call_id"]).filter(|id| !id.is_empty());
        if e.call_id.is_some() {
            e.link_method = Some(LinkMethod::ExplicitId);
        }
        // AgentDojo keeps the call it answers under `tool_call`; OpenAI legacy `function` role has `name`.
        if let Some(call) = take(obj, &["tool_call"]) {
            e.tool_name = json::str_at(&call, "function").map(str::to_string);
            if e.call_id.is_none() {
                e.call_id = json::str_at(&call, "id")
                    .filter(|id| !id.is_empty())
                    .map(str::to_string);
                e.link_method = e.call_id.as_ref().map(|_| LinkMethod::ExplicitId);
            }
            e.args = json::get(&call, "args").map(json::to_text);
            e.attributes = Some(format!("{{\"tool_call\":{}}}", json::encode(&call)));
        }
        if let Some(name) = take_text(obj, &["name"]) {
            e.tool_name = Some(name);
        }
        if let Some(err) = take(obj, &["error", "is_error"]) {
            e.is_error = Some(match &err {
                Value::Static(simd_json::StaticNode::Bool(b)) => *b,
                other => !json::is_null(other),
            });
            if let Some(msg) = json::as_str(&err) {
                if e.content.as_deref().unwrap_or("").is_empty() {
                    e.content = Some(msg.to_string());
                }
            }
        }
        out.push(e);
        return;
    }

    if text.as_deref().is_some_and(|t| !t.is_empty()) || !has_calls {
        let mut e = base.event(kind, pointer);
        e.content = text;
        if let Some(name) = take_text(obj, &["name"]) {
            e.user_id = e.user_id.or(Some(name));
        }
        out.push(e);
    }
    if let Some(Value::Array(calls)) = tool_calls {
        for (i, call) in calls.into_iter().enumerate() {
            out.push(tool_call_event(
                call,
                &format!("{pointer}/tool_calls/{i}"),
                base,
            ));
        }
    }
    if let Some(fc) = function_call.filter(|f| !json::is_null(f)) {
        out.push(tool_call_event(
            fc,
            &format!("{pointer}/function_call"),
            base,
        ));
    }
}

/// One OpenAI tool call: `{id, type, function: {name, arguments}}`, or AgentDojo's
/// `{function: "name", args: {...}, id}`.
pub(crate) fn tool_call_event(call: Value<'_>, pointer: &str, base: &Base) -> Event {
    let mut e = base.event(EventKind::ToolCall, pointer);
    let Value::Object(mut obj) = call else {
        e.args = Some(json::encode(&call));
        return e;
    };
    e.call_id = take_text(&mut obj, &["id", "call_id", "tool_call_id"]);
    match take(&mut obj, &["function"]) {
        Some(Value::String(name)) => e.tool_name = Some(name.to_string()),
        Some(Value::Object(mut f)) => {
            e.tool_name = take_text(&mut f, &["name"]);
            e.args = take_text(&mut f, &["arguments", "args", "input"]);
            if let Some(rest) = json::rest(&f) {
                obj.insert(Cow::Borrowed("function"), json::parse_owned(rest));
            }
        }
        Some(other) => {
            obj.insert(Cow::Borrowed("function"), other);
        }
        None => {}
    }
    if e.tool_name.is_none() {
        e.tool_name = take_text(&mut obj, &["name"]);
    }
    if e.args.is_none() {
        e.args = take_text(&mut obj, &["args", "arguments", "input"]);
    }
    let _ = take(&mut obj, &["type"])
        .filter(|t| json::as_str(t) != Some("function"))
        .map(|t| {
            obj.insert(Cow::Borrowed("type"), t);
        });
    e.attributes = json::rest(&obj);
    e
}

/// One Anthropic content block.
pub(crate) fn emit_block(
    block: Value<'_>,
    pointer: &str,
    msg_kind: EventKind,
    role: &str,
    base: &Base,
    out: &mut Vec<Event>,
) {
    let Value::Object(mut obj) = block else {
        let mut e = base.event(msg_kind, pointer);
        e.content = content_text(&block);
        out.push(e);
        return;
    };
    let ty = take_text(&mut obj, &["type"]).unwrap_or_default();
    let mut e = match ty.as_str() {
        "text" => {
            let mut e = base.event(msg_kind, pointer);
            e.content = take_text(&mut obj, &["text"]);
            e
        }
        "thinking" | "redacted_thinking" => {
            let mut e = base.event(EventKind::Reasoning, pointer);
            e.content = take_text(&mut obj, &["thinking", "data", "text"]);
            e
        }
        t if t.ends_with("tool_use") => {
            let mut e = base.event(EventKind::ToolCall, pointer);
            e.call_id = take_text(&mut obj, &["id"]);
            e.tool_name = take_text(&mut obj, &["name"]);
            e.args = take_text(&mut obj, &["input"]);
            e
        }
        t if t.ends_with("tool_result") => {
            let mut e = base.event(EventKind::ToolResult, pointer);
            e.call_id = take_text(&mut obj, &["tool_use_id", "id"]);
            e.link_method = e.call_id.as_ref().map(|_| LinkMethod::ExplicitId);
            e.content = take(&mut obj, &["content"]).and_then(|c| content_text(&c));
            e.is_error = take(&mut obj, &["is_error"]).and_then(|v| json::as_bool(&v));
            e
        }
        _ => {
            let mut e = base.event(
                if msg_kind == EventKind::Other {
                    EventKind::Other
                } else {
                    msg_kind
                },
                pointer,
            );
            e.content = take_text(&mut obj, &["text", "content"]);
            if !ty.is_empty() {
                obj.insert(Cow::Borrowed("type"), Value::String(Cow::Owned(ty.clone())));
            }
            e
        }
    };
    if !role.is_empty() {
        e.role = Some(role.to_string());
    }
    e.attributes = json::rest(&obj);
    out.push(e);
}

/// OpenTelemetry GenAI `parts`: `text`, `reasoning`, `tool_call`, `tool_call_response`, others.
fn emit_parts(
    parts: Value<'_>,
    pointer: &str,
    msg_kind: EventKind,
    role: &str,
    base: &Base,
    out: &mut Vec<Event>,
) {
    let Value::Array(parts) = parts else {
        let mut e = base.event(msg_kind, pointer);
        e.content = content_text(&parts);
        out.push(e);
        return;
    };
    for (i, part) in parts.into_iter().enumerate() {
        let pointer = format!("{pointer}/{i}");
        let Value::Object(mut obj) = part else {
            let mut e = base.event(msg_kind, pointer);
            e.content = content_text(&part);
            out.push(e);
            continue;
        };
        let ty = take_text(&mut obj, &["type"]).unwrap_or_default();
        let mut e = match ty.as_str() {
            "tool_call" | "function_call" | "functionCall" => {
                let mut e = base.event(EventKind::ToolCall, pointer);
                e.call_id = take_text(&mut obj, &["id"]);
                e.tool_name = take_text(&mut obj, &["name"]);
                e.args = take_text(&mut obj, &["arguments", "args"]);
                e
            }
            "tool_call_response" | "function_response" | "functionResponse" => {
                let mut e = base.event(EventKind::ToolResult, pointer);
                e.call_id = take_text(&mut obj, &["id"]);
                e.link_method = e.call_id.as_ref().map(|_| LinkMethod::ExplicitId);
                e.tool_name = take_text(&mut obj, &["name"]);
                e.content = take(&mut obj, &["response", "result", "content"])
                    .and_then(|c| content_text(&c));
                e
            }
            "reasoning" | "thinking" => {
                let mut e = base.event(EventKind::Reasoning, pointer);
                e.content = take_text(&mut obj, &["content", "text"]);
                e
            }
            _ => {
                let mut e = base.event(msg_kind, pointer);
                e.content = take_text(&mut obj, &["content", "text"]);
                if !ty.is_empty() && ty != "text" {
                    obj.insert(Cow::Borrowed("type"), Value::String(Cow::Owned(ty.clone())));
                }
                e
            }
        };
        if !role.is_empty() {
            e.role = Some(role.to_string());
        }
        e.attributes = json::rest(&obj);
        out.push(e);
    }
}

/// Emits every message of a `messages` array, with pointers `{prefix}/{i}`.
pub(crate) fn emit_messages(messages: Value<'_>, prefix: &str, base: &Base, out: &mut Vec<Event>) {
    match messages {
        Value::Array(items) => {
            for (i, m) in items.into_iter().enumerate() {
                emit_message(m, &format!("{prefix}/{i}"), base, out);
            }
        }
        other => emit_message(other, prefix, base, out),
    }
}
