//! Flat JSONL event logs as teams write their own: one event per line with common key aliases
//! (`ts`/`timestamp`/`time`/`created_at`, `session_id`/`sessionId`/`conversation_id`/`thread_id`,
//! `event`/`type`/`kind`, `tool`/`tool_name`/`name`, `args`/`arguments`/`input`,
//! `content`/`output`/`text`/`result`, `usage.input_tokens`/`prompt_tokens`...). The fallback format:
//! it sniffs weaker than every specific one, and a line must look like an event (a kind or role, plus a
//! session, time or payload) before a file is read as this format.

use tracehound_schema::{Event, EventKind, LinkMethod, SourceFormat};

use super::messages::kind_of_role;
use super::{Base, FileCtx, Format};
use crate::json::{self, take, take_text, take_ts, Value};

pub(crate) struct FlatJsonl;

const TS: &[&str] = &[
    "ts",
    "timestamp",
    "time",
    "created_at",
    "datetime",
    "@timestamp",
    "date",
];
const SESSION: &[&str] = &[
    "session_id",
    "sessionId",
    "session",
    "conversation_id",
    "conversationId",
    "thread_id",
    "threadId",
    "run_id",
    "trace_id",
];
const KIND: &[&str] = &["event", "type", "kind", "event_type", "eventType"];
const TOOL: &[&str] = &["tool", "tool_name", "toolName", "function_name", "name"];
const ARGS: &[&str] = &[
    "args",
    "arguments",
    "input",
    "parameters",
    "params",
    "tool_input",
];
const CONTENT: &[&str] = &[
    "content", "output", "text", "result", "message", "response", "prompt",
];

impl Format for FlatJsonl {
    fn id(&self) -> SourceFormat {
        SourceFormat::FlatJsonl
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        let has = |keys: &[&str]| keys.iter().any(|k| json::get(record, k).is_some());
        if !matches!(record, Value::Object(_)) {
            return 0;
        }
        let kindish = has(KIND) || has(&["role"]);
        let context = has(TS) || has(SESSION) || has(CONTENT) || has(TOOL);
        if kindish && context {
            40
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
        let Value::Object(mut obj) = record else {
            return Err("expected a JSON object".into());
        };
        let base = Base {
            session_id: take_text(&mut obj, SESSION).unwrap_or_else(|| file.session().into()),
            ts: take_ts(&mut obj, TS),
            event_id: take_text(&mut obj, &["event_id", "id", "uuid", "span_id"]),
            parent_id: take_text(
                &mut obj,
                &["parent_id", "parentId", "parent_uuid", "parent_span_id"],
            ),
            user_id: take_text(&mut obj, &["user_id", "userId", "user"]),
            agent_id: take_text(&mut obj, &["agent_id", "agentId", "agent"]),
            model: take_text(&mut obj, &["model", "model_name"]),
            provider: take_text(&mut obj, &["provider", "vendor"]),
            message_id: take_text(&mut obj, &["message_id", "response_id"]),
        };
        let role = take_text(&mut obj, &["role"]);
        let raw_kind = take_text(&mut obj, KIND);
        let kind = raw_kind
            .as_deref()
            .map(kind_of_name)
            .filter(|k| *k != EventKind::Other)
            .or_else(|| role.as_deref().map(kind_of_role))
            .unwrap_or(EventKind::Other);
        if let Some(raw) = &raw_kind {
            if EventKind::parse(raw) != Some(kind) {
                // Keep the source's own word for the event when it is not already the column's value.
                obj.insert("type".into(), Value::String(raw.clone().into()));
            }
        }
        let mut e = base.event(kind, "");
        e.role = role;
        e.tool_name = take(&mut obj, TOOL).map(|v| match json::get(&v, "name") {
            Some(name) => json::to_text(name),
            None => json::to_text(&v),
        });
        // `function: {name, arguments}` as OpenAI nests it.
        if let Some(f) = take(&mut obj, &["function"]) {
            e.tool_name = e
                .tool_name
                .or_else(|| json::str_at(&f, "name").map(str::to_string));
            e.args = json::get(&f, "arguments").map(json::to_text);
        }
        e.call_id = take_text(
            &mut obj,
            &["call_id", "tool_call_id", "tool_use_id", "callId"],
        );
        if e.args.is_none() {
            e.args = take_text(&mut obj, ARGS);
        }
        e.content = take(&mut obj, CONTENT).and_then(|c| json::content_text(&c));
        if kind == EventKind::ToolResult && e.call_id.is_some() {
            e.link_method = Some(LinkMethod::ExplicitId);
        }
        e.is_error = match take(&mut obj, &["is_error", "error", "isError"]) {
            Some(v) if json::as_bool(&v).is_some() => json::as_bool(&v),
            Some(v) if json::is_null(&v) => None,
            Some(v) => {
                if e.content.is_none() {
                    e.content = Some(json::to_text(&v));
                }
                Some(true)
            }
            None => None,
        };
        if let Some(status) = take_text(&mut obj, &["status"]) {
            if matches!(status.as_str(), "error" | "failed" | "failure") {
                e.is_error = Some(true);
            }
            obj.insert("status".into(), Value::String(status.into()));
        }
        if kind == EventKind::Error {
            e.is_error = Some(true);
        }
        let usage = take(&mut obj, &["usage", "token_usage"]);
        let tokens = |keys: &[&str], obj: &mut json::Object<'_>| {
            usage
                .as_ref()
                .and_then(|u| keys.iter().find_map(|k| json::get(u, k)))
                .and_then(json::as_i64)
                .or_else(|| take(obj, keys).and_then(|v| json::as_i64(&v)))
        };
        e.input_tokens = tokens(&["input_tokens", "prompt_tokens"], &mut obj);
        e.output_tokens = tokens(&["output_tokens", "completion_tokens"], &mut obj);
        e.cost_usd = usage
            .as_ref()
            .and_then(|u| json::get(u, "cost_usd").or_else(|| json::get(u, "cost")))
            .and_then(json::as_f64)
            .or_else(|| take(&mut obj, &["cost_usd", "cost"]).and_then(|v| json::as_f64(&v)));
        if let Some(usage) = usage {
            obj.insert("usage".into(), usage);
        }
        e.attributes = json::rest(&obj);
        out.push(e);
        Ok(())
    }
}

/// Maps the many words teams use for an event type onto the schema's kinds.
fn kind_of_name(name: &str) -> EventKind {
    let n = name.to_ascii_lowercase().replace(['-', '.', ' '], "_");
    if let Some(k) = EventKind::parse(&n) {
        return k;
    }
    match n.as_str() {
        "tool_use" | "function_call" | "tool_invocation" | "call" | "action" | "tool_start" => {
            EventKind::ToolCall
        }
        "tool_output"
        | "function_result"
        | "function_call_output"
        | "observation"
        | "tool_response"
        | "tool_end" => EventKind::ToolResult,
        "system" | "system_message" => EventKind::SystemPrompt,
        "user" | "human" | "prompt" | "input" => EventKind::UserMessage,
        "assistant" | "response" | "completion" | "llm_response" | "ai" | "output" => {
            EventKind::AssistantMessage
        }
        "thinking" | "thought" => EventKind::Reasoning,
        "exception" | "failure" => EventKind::Error,
        "approval" | "confirmation_request" | "permission_request" => EventKind::ApprovalRequest,
        "approval_response" | "confirmation" | "permission_decision" | "approved" | "denied" => {
            EventKind::ApprovalDecision
        }
        "user_feedback" | "report" | "rating" => EventKind::Feedback,
        "session_start" | "session_end" | "start" | "end" | "meta" => EventKind::SessionMeta,
        _ => EventKind::Other,
    }
}
