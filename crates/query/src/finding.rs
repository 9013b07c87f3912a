//! What a detector reports.

use serde::{Deserialize, Serialize};

/// Severity, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A span of evidence inside one event's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub seq: u32,
    /// `content` or `args`.
    pub field: String,
    pub start: usize,
    pub end: usize,
    /// What this span shows (a cue name, an argument pointer).
    pub label: String,
    /// The span's text, bounded to 200 characters.
    pub text: String,
}

/// One finding of one detector at one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: detector, session and seq hashed, so the same input gives the same ids.
    pub id: String,
    pub detector: String,
    pub severity: Severity,
    pub session_id: String,
    pub seq: u32,
    pub ts: Option<i64>,
    pub source_file: String,
    pub source_line: Option<u64>,
    pub source_pointer: String,
    pub summary: String,
    pub score: Option<f64>,
    pub evidence: Vec<Evidence>,
    /// Other events this finding rests on (e.g. the injected output behind an action).
    pub related: Vec<u32>,
    pub tool_name: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
}

pub(crate) fn bounded(text: &str, start: usize, end: usize) -> String {
    let mut s = start.min(text.len());
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = end.min(text.len()).min(s + 200);
    while !text.is_char_boundary(e) {
        e -= 1;
    }
    text[s..e].to_string()
}

pub(crate) fn finding_id(detector: &str, session: &str, seq: u32, extra: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [detector, session, &seq.to_string(), extra] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
