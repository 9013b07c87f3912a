//! OpenAI Codex CLI rollout files (`~/.codex/sessions/**/rollout-<time>-<uuid>.jsonl`): one
//! `{timestamp, type, payload}` per line, `type` one of `session_meta`, `turn_context`, `response_item`
//! (the model's context: messages, `function_call` / `function_call_output` by `call_id`, reasoning),
//! `event_msg` (the UI stream: `token_count`, `exec_command_end`, errors...), `compacted`.
//!
//! Usage: `token_count.info.last_token_usage` is the per-call count and is what the `input_tokens` and
//! `output_tokens` columns hold; `total_token_usage` is cumulative and stays in `attributes`. Older CLIs
//! wrote `turn.completed.usage` per turn, kept as is.

use tracehound_schema::{Event, EventKind, LinkMethod, SourceFormat};

use super::messages::kind_of_role;
use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, content_text, take, take_text, take_ts, Object, Value};

pub(crate) struct Codex;

impl Format for Codex {
    fn id(&self) -> SourceFormat {
        SourceFormat::Codex
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        let ty = json::str_at(record, "type");
        let has_payload = json::get(record, "payload").is_some();
        match ty {
            Some("session_meta" | "response_item" | "event_msg" | "turn_context" | "compacted")
                if has_payload =>
            {
                95
            }
            _ => 0,
        }
    }

    fn file_session(&self, record: &Value<'_>) -> Option<String> {
        (json::str_at(record, "type") == Some("session_meta"))
            .then(|| json::get(record, "payload"))
            .flatten()
            .and_then(|p| json::str_at(p, "id").or_else(|| json::str_at(p, "session_id")))
            .map(str::to_string)
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
        let base = Base {
            session_id: file.session().to_string(),
            ts: take_ts(&mut obj, &["timestamp"]),
            provider: Some("openai".into()),
            ..Base::default()
        };
        let ty = take_text(&mut obj, &["type"]).unwrap_or_default();
        let payload = take(&mut obj, &["payload"]);
        let mut payload = match payload {
            Some(Value::Object(p)) => *p,
            Some(other) => {
                obj.insert("payload".into(), other);
                Object::default()
            }
            None => Object::default(),
        };
        let sub = take_text(&mut payload, &["type"]).unwrap_or_default();
        let e = match ty.as_str() {
            "session_meta" => {
                let mut e = base.event(EventKind::SessionMeta, "/payload");
                e.provider = take_text(&mut payload, &["model_provider"]).or(e.provider);
                e.content = take_text(&mut payload, &["instructions"]);
                Some(e)
            }
            "turn_context" => {
                let mut e = base.event(EventKind::SessionMeta, "/payload");
                e.model = take_text(&mut payload, &["model"]);
                Some(e)
            }
            "response_item" => response_item(&sub, &mut payload, &base),
            "event_msg" => event_msg(&sub, &mut payload, &base),
            _ => {
                let mut e = base.event(EventKind::Other, "/payload");
                e.content = take_text(&mut payload, &["message", "text"]);
                Some(e)
            }
        };
        out.extend(e);
        if !sub.is_empty() {
            payload.insert("type".into(), Value::String(sub.into()));
        }
        if !payload.is_empty() {
            obj.insert("payload".into(), Value::Object(Box::new(payload)));
        }
        obj.insert("type".into(), Value::String(ty.into()));
        finish_record(out, first, &base, json::rest(&obj));
        Ok(())
    }
}

fn response_item(sub: &str, p: &mut Object<'_>, base: &Base) -> Option<Event> {
    let pointer = "/payload";
    let e = match sub {
        "message" => {
            let role = take_text(p, &["role"]).unwrap_or_default();
            let mut e = base.event(kind_of_role(&role), pointer);
            e.content = take(p, &["content"]).and_then(|c| content_text(&c));
            e.role = Some(role);
            e.message_id = take_text(p, &["id"]);
            e
        }
        "agent_message" => {
            let mut e = base.event(EventKind::AssistantMessage, pointer);
            e.content = take_text(p, &["message", "text", "content"]);
            e
        }
        "reasoning" => {
            let mut e = base.event(EventKind::Reasoning, pointer);
            let summary = take(p, &["summary"]).and_then(|c| content_text(&c));
            let content = take(p, &["content"]).and_then(|c| content_text(&c));
            e.content = match (summary, content) {
                (Some(s), Some(c)) => Some(format!("{s}\n{c}")),
                (s, c) => s.or(c),
            };
            e
        }
        "function_call"
        | "custom_tool_call"
        | "local_shell_call"
        | "tool_search_call"
        | "web_search_call"
        | "image_generation_call"
        | "tool_call" => {
            let mut e = base.event(EventKind::ToolCall, pointer);
            e.call_id = take_text(p, &["call_id", "id"]);
            e.tool_name = take_text(p, &["name"]).or_else(|| {
                take(p, &["function"]).and_then(|f| json::str_at(&f, "name").map(str::to_string))
            });
            if e.tool_name.is_none() {
                e.tool_name = Some(sub.trim_end_matches("_call").to_string());
            }
            e.args = take_text(p, &["arguments", "input", "action", "query"]);
            e
        }
        "function_call_output"
        | "custom_tool_call_output"
        | "tool_search_output"
        | "tool_result" => {
            let mut e = base.event(EventKind::ToolResult, pointer);
            e.call_id = take_text(p, &["call_id", "id"]);
            e.link_method = e.call_id.as_ref().map(|_| LinkMethod::ExplicitId);
            e.tool_name = take_text(p, &["name"]);
            let output = take(p, &["output", "result", "content"]);
            if let Some(Value::Object(o)) = &output {
                e.is_error = o.get("success").and_then(json::as_bool).map(|ok| !ok);
            }
            e.content = output.as_ref().and_then(content_text);
            e
        }
        _ => {
            let mut e = base.event(EventKind::Other, pointer);
            e.content = take_text(p, &["text", "message"]);
            e
        }
    };
    Some(e)
}

fn event_msg(sub: &str, p: &mut Object<'_>, base: &Base) -> Option<Event> {
    let pointer = "/payload";
    let mut e = match sub {
        // These repeat, for the UI, what `response_item`s say to the model; older CLIs wrote only these.
        "user_message" => base.event(EventKind::UserMessage, pointer),
        "agent_message" => base.event(EventKind::AssistantMessage, pointer),
        "agent_reasoning" | "agent_reasoning_raw_content" => {
            base.event(EventKind::Reasoning, pointer)
        }
        "error" | "stream_error" => {
            let mut e = base.event(EventKind::Error, pointer);
            e.is_error = Some(true);
            if let Some(err) = take(p, &["error"]) {
                e.content = json::get(&err, "message")
                    .map(json::to_text)
                    .or_else(|| Some(json::to_text(&err)));
                p.insert("error".into(), err);
            }
            e
        }
        "exec_approval_request" | "apply_patch_approval_request" | "elicitation_request" => {
            let mut e = base.event(EventKind::ApprovalRequest, pointer);
            e.call_id = take_text(p, &["call_id"]);
            e.args = take_text(p, &["command", "changes"]);
            e
        }
        "guardian_assessment" | "exec_approval_response" | "approval_decision" => {
            let mut e = base.event(EventKind::ApprovalDecision, pointer);
            e.call_id = take_text(p, &["call_id"]);
            e
        }
        "token_count" => {
            let mut e = base.event(EventKind::Other, pointer);
            if let Some(info) = p.get("info") {
                let last = json::get(info, "last_token_usage");
                let n = |v: Option<&Value<'_>>, keys: &[&str]| {
                    v.and_then(|v| keys.iter().find_map(|k| json::get(v, k)))
                        .and_then(json::as_i64)
                };
                e.input_tokens = n(last, &["input_tokens"]).or_else(|| n(Some(info), &["prompt"]));
                e.output_tokens =
                    n(last, &["output_tokens"]).or_else(|| n(Some(info), &["completion"]));
            }
            e
        }
        "turn.completed" => {
            let mut e = base.event(EventKind::Other, pointer);
            if let Some(usage) = p.get("usage") {
                e.input_tokens = json::get(usage, "input_tokens").and_then(json::as_i64);
                e.output_tokens = json::get(usage, "output_tokens").and_then(json::as_i64);
            }
            e
        }
        s if s.ends_with("_end") => {
            // exec_command_end, mcp_tool_call_end...: the UI's copy of a tool result; kept as `other`
            // so a call is not counted twice, with its call id for joining.
            let mut e = base.event(EventKind::Other, pointer);
            e.call_id = take_text(p, &["call_id"]);
            e
        }
        _ => base.event(EventKind::Other, pointer),
    };
    if e.content.is_none() {
        e.content = take_text(p, &["message", "text", "content"]);
    }
    Some(e)
}
