//! Claude Code session transcripts (`~/.claude/projects/<project>/<session>.jsonl`, sub-agents in
//! `<session>/subagents/agent-*.jsonl`). One JSON object per line: `type` is `user`, `assistant`,
//! `system`, `summary`, `progress`, `file-history-snapshot`, `queue-operation`...; `message` holds an
//! Anthropic message. Claude Code writes one line per content block of a model response and repeats the
//! response's `usage` on each: usage is kept once per `message.id` at store finalization.

use tracehound_schema::{Event, EventKind, SourceFormat};

use super::messages::{emit_block, kind_of_role};
use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, content_text, take, take_text, take_ts, Value};

pub(crate) struct ClaudeCode;

const TYPES: &[&str] = &[
    "user",
    "assistant",
    "system",
    "summary",
    "progress",
    "file-history-snapshot",
    "queue-operation",
    "result",
];

impl Format for ClaudeCode {
    fn id(&self) -> SourceFormat {
        SourceFormat::ClaudeCode
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        let ty = json::str_at(record, "type");
        let known_type = ty.is_some_and(|t| TYPES.contains(&t));
        let signature = ["sessionId", "uuid", "parentUuid", "isSidechain", "userType"]
            .iter()
            .filter(|k| json::get(record, k).is_some())
            .count();
        match (known_type, signature) {
            (true, n) if n >= 2 => 95,
            (true, _) if ty == Some("file-history-snapshot") => 60,
            _ => 0,
        }
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
        let base = Base {
            session_id: take_text(&mut obj, &["sessionId"])
                .unwrap_or_else(|| file.session().into()),
            ts: take_ts(&mut obj, &["timestamp"]),
            event_id: take_text(&mut obj, &["uuid"]),
            parent_id: take_text(&mut obj, &["parentUuid"]),
            agent_id: take_text(&mut obj, &["agentId"]),
            provider: Some("anthropic".into()),
            ..Base::default()
        };
        let ty = take_text(&mut obj, &["type"]).unwrap_or_default();
        match (ty.as_str(), take(&mut obj, &["message"])) {
            ("user" | "assistant", Some(Value::Object(mut msg))) => {
                let mut base = base.clone();
                base.model = take_text(&mut msg, &["model"]);
                base.message_id = take_text(&mut msg, &["id"]);
                let role = take_text(&mut msg, &["role"]).unwrap_or_else(|| ty.clone());
                let kind = kind_of_role(&role);
                let usage = take(&mut msg, &["usage"]);
                match take(&mut msg, &["content"]) {
                    Some(Value::Array(blocks)) => {
                        for (i, block) in blocks.into_iter().enumerate() {
                            emit_block(
                                block,
                                &format!("/message/content/{i}"),
                                kind,
                                &role,
                                &base,
                                out,
                            );
                        }
                    }
                    Some(content) => {
                        let mut e = base.event(kind, "/message/content");
                        e.content = content_text(&content);
                        e.role = Some(role.clone());
                        out.push(e);
                    }
                    None => {}
                }
                if let (Some(usage), Some(e)) = (usage, out.get_mut(first)) {
                    // Input as the model saw it: fresh plus cache-written plus cache-read tokens.
                    let n = |k: &str| json::get(&usage, k).and_then(json::as_i64).unwrap_or(0);
                    e.input_tokens = Some(
                        n("input_tokens")
                            + n("cache_creation_input_tokens")
                            + n("cache_read_input_tokens"),
                    );
                    e.output_tokens = json::get(&usage, "output_tokens").and_then(json::as_i64);
                }
                // A user's interrupt or rejection is what the operator said about an action.
                if ty == "user" {
                    for e in &mut out[first..] {
                        if let Some(c) = e.content.as_deref() {
                            if c.starts_with("[Request interrupted by user") {
                                e.kind = EventKind::Feedback;
                            }
                        }
                    }
                }
                if let Some(rest) = json::rest(&msg) {
                    obj.insert("message".into(), json::parse_owned(rest));
                }
            }
            ("system", msg) => {
                let mut e = base.event(EventKind::Other, "");
                e.role = Some("system".into());
                e.content = take_text(&mut obj, &["content"]);
                if let Some(msg) = msg {
                    obj.insert("message".into(), msg);
                }
                if take_text(&mut obj, &["level"]).as_deref() == Some("error") {
                    e.kind = EventKind::Error;
                    e.is_error = Some(true);
                }
                out.push(e);
            }
            ("summary", msg) => {
                let mut e = base.event(EventKind::SessionMeta, "");
                e.content = take_text(&mut obj, &["summary"]);
                if let Some(msg) = msg {
                    obj.insert("message".into(), msg);
                }
                out.push(e);
            }
            (_, msg) => {
                if let Some(msg) = msg {
                    obj.insert("message".into(), msg);
                }
                let mut e = base.event(EventKind::Other, "");
                e.content = take_text(&mut obj, &["content"]);
                out.push(e);
            }
        }
        if !ty.is_empty() {
            obj.insert("type".into(), Value::String(ty.into()));
        }
        finish_record(out, first, &base, json::rest(&obj));
        Ok(())
    }
}
