//! Anthropic managed-agent session event streams as the SDK records them: one `["method", payload]`
//! pair per line, e.g. `["client.beta.sessions.events.stream", {"type": "agent.tool_use", ...}]`.
//! Stream events become the session's timeline (`user.message`, `agent.message`, `agent.thinking`,
//! `agent.*tool_use`, `agent.*tool_result`, `user.tool_confirmation` as the approval decision); the
//! client's own `send` calls repeat what the stream echoes and are kept as `other`.

use tracehound_schema::{Event, EventKind, LinkMethod, SourceFormat};

use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, content_text, take, take_text, take_ts, Value};

pub(crate) struct AnthropicEvents;

fn method<'a>(record: &'a Value<'_>) -> Option<&'a str> {
    json::as_array(record)
        .filter(|a| a.len() == 2)
        .and_then(|a| json::as_str(&a[0]))
}

impl Format for AnthropicEvents {
    fn id(&self) -> SourceFormat {
        SourceFormat::AnthropicEvents
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        match method(record) {
            Some(m) if m.contains("sessions") => 90,
            _ => 0,
        }
    }

    fn file_session(&self, record: &Value<'_>) -> Option<String> {
        let payload = json::as_array(record)?.get(1)?;
        match payload {
            Value::Array(args) => args.first().and_then(json::as_str).map(str::to_string),
            _ if json::str_at(payload, "type") == Some("session") => {
                json::str_at(payload, "id").map(str::to_string)
            }
            _ => None,
        }
    }

    fn convert(
        &self,
        record: Value<'_>,
        file: &FileCtx,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let Value::Array(mut pair) = record else {
            return Err("expected a [method, payload] pair".into());
        };
        if pair.len() != 2 {
            return Err(format!(
                "expected a [method, payload] pair, got {} items",
                pair.len()
            ));
        }
        let payload = pair.pop().unwrap_or_default();
        let method = pair.pop().map(|m| json::to_text(&m)).unwrap_or_default();
        let first = out.len();
        let mut base = Base {
            session_id: file.session().into(),
            provider: Some("anthropic".into()),
            ..Base::default()
        };
        let Value::Object(mut p) = payload else {
            let mut e = base.event(EventKind::Other, "/1");
            e.args = Some(json::encode(&payload));
            e.attributes = Some(format!(
                "{{\"method\":{}}}",
                json::encode(&Value::String(method.into()))
            ));
            out.push(e);
            return Ok(());
        };
        base.ts = take_ts(&mut p, &["processed_at", "created_at"]);
        base.event_id = take_text(&mut p, &["id"]);
        base.agent_id = take_text(&mut p, &["agent_name"]);
        let ty = take_text(&mut p, &["type"]).unwrap_or_default();
        let pointer = "/1";
        let mut e = if !method.ends_with(".stream") {
            // Session creation carries the agent definition, its system prompt among it.
            if ty == "session" {
                if let Some(Value::Object(agent)) = p.get("agent") {
                    if let Some(system) = agent.get("system").and_then(json::as_str) {
                        let mut s = base.event(EventKind::SystemPrompt, "/1/agent/system");
                        s.content = Some(system.to_string());
                        s.model = agent
                            .get("model")
                            .and_then(|m| json::str_at(m, "id"))
                            .map(str::to_string);
                        out.push(s);
                    }
                }
                base.event(EventKind::SessionMeta, pointer)
            } else {
                base.event(EventKind::Other, pointer)
            }
        } else {
            match ty.as_str() {
                "user.message" => base.event(EventKind::UserMessage, pointer),
                "agent.message" => base.event(EventKind::AssistantMessage, pointer),
                "agent.thinking" => base.event(EventKind::Reasoning, pointer),
                t if t.ends_with("tool_use") => {
                    let mut e = base.event(EventKind::ToolCall, pointer);
                    e.call_id = e.event_id.clone();
                    e.tool_name = take_text(&mut p, &["name"]);
                    e.args = take_text(&mut p, &["input"]);
                    if json::str_at(&Value::Object(p.clone()), "evaluated_permission")
                        == Some("ask")
                    {
                        // The tool call waits for a human: the approval gate is an event of its own.
                        let mut ask = base.event(EventKind::ApprovalRequest, pointer);
                        ask.call_id = e.call_id.clone();
                        ask.tool_name = e.tool_name.clone();
                        ask.args = e.args.clone();
                        out.push(e);
                        ask
                    } else {
                        e
                    }
                }
                t if t.ends_with("tool_result") => {
                    let mut e = base.event(EventKind::ToolResult, pointer);
                    e.call_id = take_text(
                        &mut p,
                        &["tool_use_id", "mcp_tool_use_id", "custom_tool_use_id"],
                    );
                    e.link_method = e.call_id.as_ref().map(|_| LinkMethod::ExplicitId);
                    e.is_error = take(&mut p, &["is_error"]).and_then(|v| json::as_bool(&v));
                    e
                }
                "user.tool_confirmation" => {
                    let mut e = base.event(EventKind::ApprovalDecision, pointer);
                    e.call_id = take_text(&mut p, &["tool_use_id"]);
                    e.content = take_text(&mut p, &["deny_message"]);
                    e
                }
                "span.model_request_end" => {
                    let mut e = base.event(EventKind::Other, pointer);
                    if let Some(usage) = p.get("model_usage") {
                        let n = |k: &str| json::get(usage, k).and_then(json::as_i64).unwrap_or(0);
                        e.input_tokens = Some(
                            n("input_tokens")
                                + n("cache_creation_input_tokens")
                                + n("cache_read_input_tokens"),
                        );
                        e.output_tokens = json::get(usage, "output_tokens").and_then(json::as_i64);
                    }
                    e
                }
                "session.error" | "agent.error" => {
                    let mut e = base.event(EventKind::Error, pointer);
                    e.is_error = Some(true);
                    e
                }
                t if t.starts_with("session.") => base.event(EventKind::SessionMeta, pointer),
                _ => base.event(EventKind::Other, pointer),
            }
        };
        if e.content.is_none() {
            e.content = take(&mut p, &["content"]).and_then(|c| content_text(&c));
        }
        p.insert("type".into(), Value::String(ty.into()));
        p.insert("method".into(), Value::String(method.into()));
        out.push(e);
        finish_record(out, first, &base, json::rest(&p));
        Ok(())
    }
}
