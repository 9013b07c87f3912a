//! Anthropic Messages API logs, one exchange per JSONL line: `{"request": {model, system, messages,
//! tools}, "response": {id, model, content: [blocks], usage, stop_reason}}` with optional
//! `session_id`/`timestamp`/`metadata` beside them. Each request resends the conversation; a line emits
//! the request's messages after the last assistant turn (the new user input and `tool_result`s; the
//! whole request on the first exchange, with the system prompt), then the response's blocks.

use tracehound_schema::{Event, EventKind, SourceFormat};

use super::messages::emit_message;
use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, take, take_text, take_ts, Object, Value};

pub(crate) struct AnthropicMessages;

impl Format for AnthropicMessages {
    fn id(&self) -> SourceFormat {
        SourceFormat::AnthropicMessages
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        let req = json::get(record, "request");
        let resp = json::get(record, "response");
        let req_ok = req.and_then(|r| json::get(r, "messages")).is_some();
        let resp_ok = resp.is_some_and(|r| {
            json::get(r, "content").and_then(json::as_array).is_some()
                || json::str_at(r, "type") == Some("message")
        });
        match (req_ok, resp_ok) {
            (true, true) => 95,
            (true, false) | (false, true) => 60,
            _ => 0,
        }
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
        let mut metadata = take(&mut obj, &["metadata"]);
        let meta_text = |m: &mut Option<Value<'_>>, k: &str| match m {
            Some(Value::Object(o)) => take_text(o, &[k]),
            _ => None,
        };
        let mut base = Base {
            session_id: take_text(&mut obj, &["session_id", "conversation_id", "thread_id"])
                .or_else(|| meta_text(&mut metadata, "session_id"))
                .unwrap_or_else(|| file.session().into()),
            ts: take_ts(&mut obj, &["timestamp", "ts", "created_at", "time"]),
            user_id: take_text(&mut obj, &["user_id"])
                .or_else(|| meta_text(&mut metadata, "user_id")),
            agent_id: take_text(&mut obj, &["agent_id"]),
            provider: Some("anthropic".into()),
            ..Base::default()
        };
        if let Some(m) = metadata {
            obj.insert("metadata".into(), m);
        }
        if let Some(Value::Object(mut req)) = take(&mut obj, &["request"]) {
            base.model = take_text(&mut req, &["model"]);
            let messages = take(&mut req, &["messages"]);
            let items: Vec<Value<'_>> = match messages {
                Some(Value::Array(items)) => items.into_iter().collect(),
                _ => Vec::new(),
            };
            let last_assistant = items
                .iter()
                .rposition(|m| json::str_at(m, "role") == Some("assistant"));
            if last_assistant.is_none() {
                if let Some(system) = take(&mut req, &["system"]) {
                    let mut e = base.event(EventKind::SystemPrompt, "/request/system");
                    e.role = Some("system".into());
                    e.content = json::content_text(&system);
                    out.push(e);
                }
            }
            let start = last_assistant.map_or(0, |i| i + 1);
            for (i, m) in items.into_iter().enumerate().skip(start) {
                emit_message(m, &format!("/request/messages/{i}"), &base, out);
            }
            // Tools offered and parameters: kept, not mapped.
            if let Some(rest) = json::rest(&req) {
                obj.insert("request".into(), json::parse_owned(rest));
            }
        }
        if let Some(Value::Object(mut resp)) = take(&mut obj, &["response"]) {
            let mut rb = base.clone();
            rb.model = take_text(&mut resp, &["model"]).or(rb.model);
            rb.message_id = take_text(&mut resp, &["id"]);
            let usage = take(&mut resp, &["usage"]);
            let resp_first = out.len();
            if let Some(content) = take(&mut resp, &["content"]) {
                let mut msg = Object::default();
                msg.insert("role".into(), Value::String("assistant".into()));
                msg.insert("content".into(), content);
                emit_message(Value::Object(Box::new(msg)), "/response", &rb, out);
                for e in &mut out[resp_first..] {
                    // emit_message points at `/response/content/N`: correct as is.
                    e.message_id = rb.message_id.clone();
                }
            }
            if let (Some(usage), Some(e)) = (usage, out.get_mut(resp_first)) {
                let n = |k: &str| json::get(&usage, k).and_then(json::as_i64).unwrap_or(0);
                e.input_tokens = Some(
                    n("input_tokens")
                        + n("cache_creation_input_tokens")
                        + n("cache_read_input_tokens"),
                );
                e.output_tokens = json::get(&usage, "output_tokens").and_then(json::as_i64);
            }
            if let Some(rest) = json::rest(&resp) {
                obj.insert("response".into(), json::parse_owned(rest));
            }
        }
        if let Some(err) = take(&mut obj, &["error"]).filter(|e| !json::is_null(e)) {
            let mut e = base.event(EventKind::Error, "/error");
            e.is_error = Some(true);
            e.content = json::get(&err, "message")
                .map(json::to_text)
                .or_else(|| Some(json::to_text(&err)));
            out.push(e);
        }
        finish_record(out, first, &base, json::rest(&obj));
        Ok(())
    }
}
