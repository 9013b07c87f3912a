//! Conversation documents in the OpenAI chat shape: `{"messages": [...]}` as one JSON document per file
//! (AgentDojo runs: `pipeline_name` is the model, the session id is the file stem) or one such object
//! per JSONL line (then the line's `id`/`session_id`, else `{stem}:{line}`), or a bare `messages` array.

use tracehound_schema::{Event, SourceFormat};

use super::messages::emit_messages;
use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, take, take_text, take_ts, Value};

pub(crate) struct OpenAiChat;

impl Format for OpenAiChat {
    fn id(&self) -> SourceFormat {
        SourceFormat::OpenAiChat
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        let messages = match record {
            Value::Array(_) => Some(record),
            _ => json::get(record, "messages"),
        };
        let Some(items) = messages.and_then(json::as_array) else {
            return 0;
        };
        let chat_like = items.iter().take(8).all(|m| {
            json::str_at(m, "role").is_some()
                && (json::get(m, "content").is_some() || json::get(m, "tool_calls").is_some())
        });
        if chat_like && !items.is_empty() {
            // Anthropic Messages logs also carry `messages`, but under `request`; a top-level
            // `messages` with OpenAI roles is this format.
            80
        } else {
            0
        }
    }

    fn convert(
        &self,
        record: Value<'_>,
        file: &FileCtx,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let first = out.len();
        let mut base = Base {
            session_id: file.session().to_string(),
            ..Base::default()
        };
        let mut obj = match record {
            Value::Array(_) => {
                emit_messages(record, "", &base, out);
                return Ok(());
            }
            Value::Object(obj) => obj,
            _ => return Err("expected a JSON object with `messages`".into()),
        };
        if let Some(id) = take_text(
            &mut obj,
            &["session_id", "conversation_id", "thread_id", "id"],
        ) {
            base.session_id = id;
        }
        base.model = take_text(&mut obj, &["pipeline_name", "model"]);
        base.user_id = take_text(&mut obj, &["user_id", "user"]);
        base.agent_id = take_text(&mut obj, &["agent_id"]);
        base.ts = take_ts(&mut obj, &["timestamp", "created_at", "ts", "time"]);
        let messages = take(&mut obj, &["messages"]).ok_or("no `messages` array")?;
        emit_messages(messages, "/messages", &base, out);
        finish_record(out, first, &base, json::rest(&obj));
        Ok(())
    }
}
