//! Incident-response artefacts built from a store and its findings: the containment checklist, a
//! regression eval case, and the post-mortem draft. Each is plain data (serializable) plus, where a
//! person reads it, a Markdown rendering that escapes every byte of log content.

mod contain;
mod eval_case;
pub(crate) mod markdown;
mod postmortem;

pub use contain::{
    contain, AgentAction, Containment, CredentialAction, EvidenceRef, HostAction, ToolAction,
};
pub use eval_case::{eval_case, EvalCase, EvalMessage, ForbiddenCall, OffendingValue, Trigger};
pub use postmortem::{postmortem, ActionImpact, Postmortem, RemediationItem, RootCause};

use crate::events::EventRow;

/// What kind of irreversible effect a tool call has, judged by its name (and, for external calls, by a
/// URL in its arguments): what a post-mortem lists as impact.
pub fn effect_of(call: &EventRow) -> Option<&'static str> {
    let name = call.tool_name.as_deref().unwrap_or("").to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    // Name parts (`get_payment_status` is `get`, `payment`, `status`): reading verbs lead.
    let first = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|t| !t.is_empty())
        .unwrap_or("");
    let reads = [
        "search", "get", "read", "list", "find", "lookup", "query", "view", "show", "check",
        "retrieve", "describe", "count", "fetch", "browse", "download", "open",
    ];
    let urls = call
        .args
        .as_deref()
        .is_some_and(|a| a.contains("http://") || a.contains("https://"));
    if reads.iter().any(|r| first.starts_with(r)) {
        return urls.then_some("external call");
    }
    if has(&[
        "send_money",
        "transfer",
        "payment",
        "pay_",
        "wire",
        "purchase",
        "buy",
        "refund",
        "checkout",
        "charge",
    ]) || name == "pay"
    {
        Some("payment")
    } else if has(&[
        "delete", "remove", "drop", "truncate", "destroy", "erase", "wipe",
    ]) || name == "rm"
    {
        Some("deletion")
    } else if has(&[
        "send", "email", "mail", "message", "post_", "reply", "sms", "slack", "invite", "share",
        "publish",
    ]) {
        Some("message sent")
    } else if has(&[
        "shell",
        "bash",
        "exec",
        "terminal",
        "run_command",
        "command",
    ]) {
        Some("command executed")
    } else if has(&[
        "write", "update", "create", "append", "edit", "put", "set_", "reserve", "book",
        "schedule", "cancel", "add_", "insert", "upload",
    ]) {
        Some("state changed")
    } else if urls || has(&["http", "request", "curl", "web", "url"]) {
        Some("external call")
    } else {
        None
    }
}

/// The command that opens an event's timeline, for copying into a terminal. Ids come from logs, so
/// they are quoted for a POSIX shell.
pub fn timeline_command(store: &str, session: &str, seq: u32) -> String {
    format!(
        "tracehound timeline {} --store {} --around {seq}",
        shell_quote(session),
        shell_quote(store)
    )
}

/// Single-quotes a word for a POSIX shell unless it is plainly safe.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
