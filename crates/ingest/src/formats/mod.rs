//! Input formats. Each format is one file implementing [`Format`], registered once in [`REGISTRY`];
//! a test checks that no two share a name. Adapters move the fields they map out of the parsed record,
//! so what remains is exactly the unmapped rest, which goes to the `attributes` column: lossless by
//! construction rather than by a list of fields someone has to keep up to date.

mod anthropic_events;
mod anthropic_messages;
mod claude_code;
mod codex;
mod flat;
mod gemini;
mod langsmith;
mod messages;
mod openai_chat;
mod otel;

use tracehound_schema::{Event, EventKind, SourceFormat};

use crate::json::Value;

/// What an adapter knows about the file a record came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileCtx {
    /// File name without directories and extensions: the session id of formats that have none inside
    /// (AgentDojo runs), and the last-resort session id of every format.
    pub(crate) stem: String,
    /// The session id the file's records default to, found by [`Format::file_session`] while sniffing.
    pub(crate) session: Option<String>,
}

impl FileCtx {
    pub(crate) fn session(&self) -> &str {
        self.session.as_deref().unwrap_or(&self.stem)
    }
}

/// One input format.
pub(crate) trait Format: Send + Sync {
    fn id(&self) -> SourceFormat;
    /// How strongly one parsed record (a line, or the whole document) looks like this format: 0 not at
    /// all, 100 certain. Specific formats score 60 and up on their signature fields; the flat fallback
    /// stays below them.
    fn sniff(&self, record: &Value<'_>) -> u8;
    /// The session id a file's records default to, when one of its first records names it (Codex's
    /// `session_meta`, Claude Code's `sessionId`). Called on the first records of the file, in order.
    fn file_session(&self, _record: &Value<'_>) -> Option<String> {
        None
    }
    /// Turns one record into events, in source order. An `Err` is the reason the record is rejected.
    fn convert(
        &self,
        record: Value<'_>,
        file: &FileCtx,
        out: &mut Vec<Event>,
    ) -> Result<(), String>;
}

pub(crate) static REGISTRY: &[&dyn Format] = &[
    &claude_code::ClaudeCode,
    &codex::Codex,
    &openai_chat::OpenAiChat,
    &anthropic_messages::AnthropicMessages,
    &anthropic_events::AnthropicEvents,
    &otel::Otel,
    &langsmith::LangSmith,
    &gemini::GeminiCli,
    &flat::FlatJsonl,
];

pub(crate) fn by_id(id: SourceFormat) -> &'static dyn Format {
    REGISTRY
        .iter()
        .copied()
        .find(|f| f.id() == id)
        .expect("every SourceFormat has an adapter (checked by a test)")
}

/// Fields shared by the events of one record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Base {
    pub(crate) session_id: String,
    pub(crate) ts: Option<i64>,
    pub(crate) event_id: Option<String>,
    pub(crate) parent_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) agent_id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) message_id: Option<String>,
}

impl Base {
    pub(crate) fn event(&self, kind: EventKind, pointer: impl Into<String>) -> Event {
        Event {
            session_id: self.session_id.clone(),
            ts: self.ts,
            event_id: self.event_id.clone(),
            parent_id: self.parent_id.clone(),
            kind,
            user_id: self.user_id.clone(),
            agent_id: self.agent_id.clone(),
            model: self.model.clone(),
            provider: self.provider.clone(),
            message_id: self.message_id.clone(),
            source_pointer: pointer.into(),
            ..Event::default()
        }
    }
}

/// Puts a record's unmapped rest on the first event it produced, or, when it produced none, emits it
/// as one `other` event so the record is still accounted for.
pub(crate) fn finish_record(out: &mut Vec<Event>, first: usize, base: &Base, rest: Option<String>) {
    if out.len() == first {
        let mut e = base.event(EventKind::Other, "");
        e.attributes = rest;
        out.push(e);
    } else if let Some(rest) = rest {
        let e = &mut out[first];
        e.attributes = Some(match e.attributes.take() {
            // Both are JSON objects: splice them rather than nest, so a reader sees one flat map.
            Some(own) if own.len() > 2 => format!("{},{}", &rest[..rest.len() - 1], &own[1..]),
            _ => rest,
        });
    }
}

/// JSON Pointer escaping of one reference token (RFC 6901).
pub(crate) fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_one_adapter_per_format_and_unique_names() {
        let mut names: Vec<_> = REGISTRY.iter().map(|f| f.id().as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "two adapters share a name");
        for id in SourceFormat::ALL {
            assert_eq!(by_id(id).id(), id);
        }
        assert_eq!(REGISTRY.len(), SourceFormat::ALL.len());
    }

    #[test]
    fn pointer_tokens_escape() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
