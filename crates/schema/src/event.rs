use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Column names, as constants so a typo is a compile error on both sides of the contract.
pub mod columns {
    pub const SESSION_ID: &str = "session_id";
    pub const SEQ: &str = "seq";
    pub const TS: &str = "ts";
    pub const EVENT_ID: &str = "event_id";
    pub const PARENT_ID: &str = "parent_id";
    pub const KIND: &str = "kind";
    pub const ROLE: &str = "role";
    pub const USER_ID: &str = "user_id";
    pub const AGENT_ID: &str = "agent_id";
    pub const MODEL: &str = "model";
    pub const PROVIDER: &str = "provider";
    pub const TOOL_NAME: &str = "tool_name";
    pub const CALL_ID: &str = "call_id";
    pub const LINK_METHOD: &str = "link_method";
    pub const ARGS: &str = "args";
    pub const CONTENT: &str = "content";
    pub const IS_ERROR: &str = "is_error";
    pub const INPUT_TOKENS: &str = "input_tokens";
    pub const OUTPUT_TOKENS: &str = "output_tokens";
    pub const COST_USD: &str = "cost_usd";
    pub const SOURCE_FORMAT: &str = "source_format";
    pub const SOURCE_FILE: &str = "source_file";
    pub const SOURCE_LINE: &str = "source_line";
    pub const SOURCE_OFFSET: &str = "source_offset";
    pub const SOURCE_POINTER: &str = "source_pointer";
    pub const ATTRIBUTES: &str = "attributes";
    pub const MESSAGE_ID: &str = "message_id";
    pub const TEXT_FEATURES: &str = "text_features";
}

/// The Arrow schema of the `events` table. Column order is part of the contract: readers may rely on it.
pub fn arrow_schema() -> SchemaRef {
    use columns::*;
    let utf8 = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        utf8(SESSION_ID, false),
        Field::new(SEQ, DataType::UInt32, false),
        Field::new(
            TS,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        utf8(EVENT_ID, true),
        utf8(PARENT_ID, true),
        utf8(KIND, false),
        utf8(ROLE, true),
        utf8(USER_ID, true),
        utf8(AGENT_ID, true),
        utf8(MODEL, true),
        utf8(PROVIDER, true),
        utf8(TOOL_NAME, true),
        utf8(CALL_ID, true),
        utf8(LINK_METHOD, true),
        utf8(ARGS, true),
        utf8(CONTENT, true),
        Field::new(IS_ERROR, DataType::Boolean, true),
        Field::new(INPUT_TOKENS, DataType::Int64, true),
        Field::new(OUTPUT_TOKENS, DataType::Int64, true),
        Field::new(COST_USD, DataType::Float64, true),
        utf8(SOURCE_FORMAT, false),
        utf8(SOURCE_FILE, false),
        Field::new(SOURCE_LINE, DataType::UInt64, true),
        Field::new(SOURCE_OFFSET, DataType::UInt64, false),
        utf8(SOURCE_POINTER, false),
        utf8(ATTRIBUTES, true),
        // Beyond the contract's names: the provider's id of the model response an event belongs to.
        // Usage is counted once per response id (Claude Code repeats it on every block's line).
        utf8(MESSAGE_ID, true),
        // Derived, not recorded: what the detectors' literal passes found in the text
        // (`features::TextFeatures`, with its version). Absent from version 1 files; null where not
        // computed. Readers may always recompute it.
        Field::new(TEXT_FEATURES, DataType::UInt64, true),
    ]))
}

/// What an event is, independent of the format that recorded it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    SystemPrompt,
    UserMessage,
    AssistantMessage,
    Reasoning,
    ToolCall,
    ToolResult,
    Error,
    ApprovalRequest,
    ApprovalDecision,
    Feedback,
    SessionMeta,
    #[default]
    Other,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::SystemPrompt,
        EventKind::UserMessage,
        EventKind::AssistantMessage,
        EventKind::Reasoning,
        EventKind::ToolCall,
        EventKind::ToolResult,
        EventKind::Error,
        EventKind::ApprovalRequest,
        EventKind::ApprovalDecision,
        EventKind::Feedback,
        EventKind::SessionMeta,
        EventKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SystemPrompt => "system_prompt",
            EventKind::UserMessage => "user_message",
            EventKind::AssistantMessage => "assistant_message",
            EventKind::Reasoning => "reasoning",
            EventKind::ToolCall => "tool_call",
            EventKind::ToolResult => "tool_result",
            EventKind::Error => "error",
            EventKind::ApprovalRequest => "approval_request",
            EventKind::ApprovalDecision => "approval_decision",
            EventKind::Feedback => "feedback",
            EventKind::SessionMeta => "session_meta",
            EventKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a `tool_result` was linked to its `tool_call` (`call_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkMethod {
    /// The source carried the same call id on both sides.
    ExplicitId,
    /// The result is a child span of the call's span (traces).
    ParentSpan,
    /// No id: the result was paired with the nearest earlier unanswered call by order.
    Order,
}

impl LinkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMethod::ExplicitId => "explicit_id",
            LinkMethod::ParentSpan => "parent_span",
            LinkMethod::Order => "order",
        }
    }
}

/// The input formats tracehound understands. The string form is what the store's `source_format`
/// column and `--format` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SourceFormat {
    FlatJsonl,
    ClaudeCode,
    Codex,
    OpenAiChat,
    AnthropicMessages,
    AnthropicEvents,
    Otel,
    LangSmith,
    GeminiCli,
}

impl SourceFormat {
    pub const ALL: [SourceFormat; 9] = [
        SourceFormat::FlatJsonl,
        SourceFormat::ClaudeCode,
        SourceFormat::Codex,
        SourceFormat::OpenAiChat,
        SourceFormat::AnthropicMessages,
        SourceFormat::AnthropicEvents,
        SourceFormat::Otel,
        SourceFormat::LangSmith,
        SourceFormat::GeminiCli,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::FlatJsonl => "flat-jsonl",
            SourceFormat::ClaudeCode => "claude-code",
            SourceFormat::Codex => "codex",
            SourceFormat::OpenAiChat => "openai-chat",
            SourceFormat::AnthropicMessages => "anthropic-messages",
            SourceFormat::AnthropicEvents => "anthropic-events",
            SourceFormat::Otel => "otel",
            SourceFormat::LangSmith => "langsmith",
            SourceFormat::GeminiCli => "gemini-cli",
        }
    }

    pub fn parse(s: &str) -> Option<SourceFormat> {
        SourceFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl std::fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One normalized event, the row type of the store. Field meanings are documented in
/// `docs/ARCHITECTURE.md`; `seq` and `source_line` are filled by ingest after parallel parsing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    pub session_id: String,
    pub seq: u32,
    /// Microseconds since the Unix epoch, UTC.
    pub ts: Option<i64>,
    pub event_id: Option<String>,
    pub parent_id: Option<String>,
    pub kind: EventKind,
    pub role: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub tool_name: Option<String>,
    pub call_id: Option<String>,
    pub link_method: Option<LinkMethod>,
    pub args: Option<String>,
    pub content: Option<String>,
    pub is_error: Option<bool>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub source_line: Option<u64>,
    pub source_offset: u64,
    pub source_pointer: String,
    pub attributes: Option<String>,
    pub message_id: Option<String>,
}
