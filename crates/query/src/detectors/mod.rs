//! Detectors. Each is one file implementing [`Detector`], registered once in [`registry`]; a test checks
//! that no two share a name. Each detector's doc comment says What it does / Why it matters / Example /
//! Known false positives.
//!
//! A detector sees one session at a time ([`Detector::check`]), with the per-session analysis every
//! detector shares computed once ([`Analysis`]: instruction scores of tool outputs, provenance of
//! call arguments). Detectors that compare a session with the archive (baselines, medians) report from
//! per-session statistics after all sessions were seen ([`Detector::check_archive`]), so a scan reads
//! the store once.

mod argument_matches_nothing;
mod host_not_allowlisted;
mod secret_exposed;
mod sensitive_tool_without_approval;
mod spend_over_expected;
mod system_prompt_leak;
mod tokens_over_usual;
mod tool_call_argument_from_injected_output;
mod tool_calls_over_limit;
mod tool_error_rate_over_baseline;
mod tool_output_instructs_model;
mod tool_outside_allowed_set;
mod user_reports_wrong_action;

use crate::events::{EventRow, Session};
use crate::finding::{bounded, finding_id, Evidence, Finding, Severity};
use crate::instruction::{instruction_score_with, InstructionScore};
use crate::policy::Policy;
use crate::provenance::{session_provenance, target_provenance, ValueProvenance};
use tracehound_schema::features::TextFeatures;

pub use host_not_allowlisted::hosts_in;
pub use secret_exposed::{find_secrets, redact_secrets, redacted, redacted_as, SecretMatch};

/// What every detector may use about one session, computed once.
pub struct Analysis<'a> {
    pub session: &'a Session,
    pub policy: &'a Policy,
    /// Instruction score of each event (tool outputs only; `None` elsewhere).
    pub instruction: Vec<Option<InstructionScore>>,
    /// Provenance of each tool call's argument values, by event index. From [`Analysis::for_scan`],
    /// a session without a flagged output carries only its target values (emails, URLs, IBANs, paths).
    pub provenance: Vec<(usize, Vec<ValueProvenance>)>,
    /// For flagged tool outputs, the byte ranges the attacker wrote (empty elsewhere).
    pub regions: Vec<Vec<std::ops::Range<usize>>>,
}

impl<'a> Analysis<'a> {
    /// The whole analysis: the provenance of every argument value (what a timeline shows).
    pub fn new(session: &'a Session, policy: &'a Policy) -> Analysis<'a> {
        let mut analysis = Analysis::scored(session, policy);
        analysis.provenance = session_provenance(session);
        analysis
    }

    /// What the detectors need, and no more: the same findings as [`Analysis::new`] for less work.
    /// Values reach a finding only through an injected output (`tool_call_argument_from_injected_output`)
    /// or as targets from nowhere (`argument_matches_nothing`). In a session with no flagged output
    /// only the targets can; searching for them alone took the 1 GiB scan from 4.9 s to 4.2 s.
    pub fn for_scan(session: &'a Session, policy: &'a Policy) -> Analysis<'a> {
        let mut analysis = Analysis::scored(session, policy);
        let injected = (0..session.events.len()).any(|i| analysis.is_injected(i));
        analysis.provenance = if injected {
            session_provenance(session)
        } else {
            target_provenance(session)
        };
        analysis
    }

    /// Instruction scores and injected regions; no provenance yet.
    fn scored(session: &'a Session, policy: &'a Policy) -> Analysis<'a> {
        let instruction = session
            .events
            .iter()
            .map(|e| {
                // Outputs that cannot reach the threshold are not scored exactly: a scan only needs
                // to know which do.
                (e.kind == "tool_result").then(|| {
                    let features = e.features.and_then(TextFeatures::decode);
                    instruction_score_with(e.text(), policy.instruction_threshold, features)
                        .unwrap_or_default()
                })
            })
            .collect();
        let instruction: Vec<Option<InstructionScore>> = instruction;
        let regions = session
            .events
            .iter()
            .zip(&instruction)
            .map(|(e, score)| match score {
                Some(s) if s.score >= policy.instruction_threshold => {
                    tool_call_argument_from_injected_output::injected_region(e.text(), &s.cues)
                }
                _ => Vec::new(),
            })
            .collect();
        Analysis {
            session,
            policy,
            instruction,
            provenance: Vec::new(),
            regions,
        }
    }

    /// Whether event `i` is a tool output flagged as instructing the model.
    pub fn is_injected(&self, i: usize) -> bool {
        self.instruction[i]
            .as_ref()
            .is_some_and(|s| s.score >= self.policy.instruction_threshold)
    }

    /// The attacker-written passage of event `i`: from the start of the word its first injected region
    /// begins in to the end of its last, or the whole text when it has none; at most `max` bytes, cut at
    /// a character boundary. What campaigns cluster and `similar` looks for.
    pub fn passage(&self, i: usize, max: usize) -> &'a str {
        let text = self.session.events[i].text();
        let (start, end) = match self.regions[i].as_slice() {
            [] => (0, text.len()),
            r => (
                crate::finding::word_start(text, r.iter().map(|x| x.start).min().unwrap_or(0)),
                r.iter()
                    .map(|x| x.end)
                    .max()
                    .unwrap_or(text.len())
                    .min(text.len()),
            ),
        };
        let mut end = end.min(start + max);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[start..end]
    }

    pub fn index_of_seq(&self, seq: u32) -> Option<usize> {
        self.session
            .events
            .binary_search_by_key(&seq, |e| e.seq)
            .ok()
    }
}

/// Per-session numbers for the archive-level detectors.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionStats {
    pub session_id: String,
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub model: Option<String>,
    pub calls: usize,
    pub errors: usize,
    pub tokens: i64,
    pub spend: f64,
    pub has_spend: bool,
    /// Earliest timestamp: the day the session counts on.
    pub first_ts: Option<i64>,
    /// Per tool: (calls, results that were errors).
    pub tools: std::collections::BTreeMap<String, (u64, u64)>,
    /// Where to point a session-level finding: the first event.
    pub first: Option<EventRow>,
}

impl SessionStats {
    pub fn of(session: &Session) -> SessionStats {
        let mut s = SessionStats {
            session_id: session.id.clone(),
            ..SessionStats::default()
        };
        for e in &session.events {
            s.agent_id = s.agent_id.take().or_else(|| e.agent_id.clone());
            s.user_id = s.user_id.take().or_else(|| e.user_id.clone());
            s.model = s.model.take().or_else(|| e.model.clone());
            if let Some(ts) = e.ts {
                s.first_ts = Some(s.first_ts.map_or(ts, |f: i64| f.min(ts)));
            }
            let tool = || e.tool_name.clone().unwrap_or_else(|| "-".into());
            if e.kind == "tool_call" {
                s.calls += 1;
                s.tools.entry(tool()).or_default().0 += 1;
            }
            if e.kind == "tool_result" && e.is_error == Some(true) {
                s.errors += 1;
                s.tools.entry(tool()).or_default().1 += 1;
            }
            s.tokens += e.input_tokens.unwrap_or(0) + e.output_tokens.unwrap_or(0);
            if let Some(c) = e.cost_usd {
                s.spend += c;
                s.has_spend = true;
            }
        }
        s.first = session.events.first().cloned().map(|mut e| {
            // Only the location is needed; do not keep a 50 KB payload per session.
            e.content = None;
            e.args = None;
            e.attributes = None;
            // Derived from the text, and not carried between engines (they must compare equal).
            e.features = None;
            e
        });
        s
    }
}

/// One detector.
pub trait Detector: Send + Sync {
    fn name(&self) -> &'static str;
    /// One line: what it sees.
    fn summary(&self) -> &'static str;
    /// Findings within one session.
    fn check(&self, _cx: &Analysis<'_>, _out: &mut Vec<Finding>) {}
    /// Findings that compare sessions with the archive, from every session's statistics.
    fn check_archive(&self, _stats: &[SessionStats], _policy: &Policy, _out: &mut Vec<Finding>) {}
}

/// Every detector, in report order.
pub fn registry() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(tool_output_instructs_model::ToolOutputInstructsModel),
        Box::new(tool_call_argument_from_injected_output::ToolCallArgumentFromInjectedOutput),
        Box::new(tool_calls_over_limit::ToolCallsOverLimit),
        Box::new(host_not_allowlisted::HostNotAllowlisted),
        Box::new(tool_error_rate_over_baseline::ToolErrorRateOverBaseline),
        Box::new(spend_over_expected::SpendOverExpected),
        Box::new(tokens_over_usual::TokensOverUsual),
        Box::new(argument_matches_nothing::ArgumentMatchesNothing),
        Box::new(system_prompt_leak::SystemPromptLeak),
        Box::new(secret_exposed::SecretExposed),
        Box::new(tool_outside_allowed_set::ToolOutsideAllowedSet),
        Box::new(sensitive_tool_without_approval::SensitiveToolWithoutApproval),
        Box::new(user_reports_wrong_action::UserReportsWrongAction),
    ]
}

/// A finding at an event, with the common fields filled.
pub(crate) fn finding_at(
    detector: &str,
    severity: Severity,
    e: &EventRow,
    summary: String,
    extra_id: &str,
) -> Finding {
    Finding {
        id: finding_id(detector, &e.session_id, e.seq, extra_id),
        detector: detector.to_string(),
        severity,
        session_id: e.session_id.clone(),
        seq: e.seq,
        ts: e.ts,
        source_file: e.source_file.clone(),
        source_line: e.source_line,
        source_pointer: e.source_pointer.clone(),
        summary,
        score: None,
        evidence: Vec::new(),
        related: Vec::new(),
        tool_name: e.tool_name.clone(),
        user_id: e.user_id.clone(),
        agent_id: e.agent_id.clone(),
    }
}

pub(crate) fn evidence(
    e: &EventRow,
    field: &str,
    start: usize,
    end: usize,
    label: &str,
) -> Evidence {
    let text = if field == "args" {
        e.args.as_deref()
    } else {
        e.content.as_deref()
    }
    .unwrap_or("");
    Evidence {
        seq: e.seq,
        field: field.to_string(),
        start,
        end,
        label: label.to_string(),
        text: bounded(text, start, end),
    }
}

/// Evidence pointing at a value inside a call's arguments, when it is there verbatim.
pub(crate) fn args_evidence(call: &EventRow, value: &str, label: &str) -> Option<Evidence> {
    let pos = call.args.as_deref()?.find(value)?;
    Some(evidence(call, "args", pos, pos + value.len(), label))
}

/// Median of a list (0 when empty).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The detector reference (`docs/detectors.md`), generated from each detector's doc comment so the
/// two cannot drift: a test compares the file with this and `UPDATE_SNAPSHOTS=1` rewrites it.
pub fn reference_markdown() -> String {
    const SOURCES: &[(&str, &str)] = &[
        (
            "tool_output_instructs_model",
            include_str!("tool_output_instructs_model.rs"),
        ),
        (
            "tool_call_argument_from_injected_output",
            include_str!("tool_call_argument_from_injected_output.rs"),
        ),
        (
            "tool_calls_over_limit",
            include_str!("tool_calls_over_limit.rs"),
        ),
        (
            "host_not_allowlisted",
            include_str!("host_not_allowlisted.rs"),
        ),
        (
            "tool_error_rate_over_baseline",
            include_str!("tool_error_rate_over_baseline.rs"),
        ),
        (
            "spend_over_expected",
            include_str!("spend_over_expected.rs"),
        ),
        ("tokens_over_usual", include_str!("tokens_over_usual.rs")),
        (
            "argument_matches_nothing",
            include_str!("argument_matches_nothing.rs"),
        ),
        ("system_prompt_leak", include_str!("system_prompt_leak.rs")),
        ("secret_exposed", include_str!("secret_exposed.rs")),
        (
            "tool_outside_allowed_set",
            include_str!("tool_outside_allowed_set.rs"),
        ),
        (
            "sensitive_tool_without_approval",
            include_str!("sensitive_tool_without_approval.rs"),
        ),
        (
            "user_reports_wrong_action",
            include_str!("user_reports_wrong_action.rs"),
        ),
    ];
    let mut out = String::from(
        "# Detector reference\n\nGenerated from the detectors' doc comments (`crates/query/src/detectors/`); do not edit by hand.\n",
    );
    for (name, source) in SOURCES {
        out.push_str(&format!("\n## `{name}`\n\n"));
        let doc: Vec<&str> = source
            .lines()
            .skip_while(|l| !l.starts_with("///"))
            .take_while(|l| l.starts_with("///"))
            .map(|l| {
                l.trim_start_matches("///")
                    .strip_prefix(' ')
                    .unwrap_or(l.trim_start_matches("///"))
            })
            .collect();
        for line in doc {
            for label in [
                "What it does:",
                "Why it matters:",
                "Example:",
                "Known false positives:",
            ] {
                if let Some(rest) = line.strip_prefix(label) {
                    out.push_str(&format!("**{label}**{rest}\n"));
                    break;
                }
            }
            if ![
                "What it does:",
                "Why it matters:",
                "Example:",
                "Known false positives:",
            ]
            .iter()
            .any(|l| line.starts_with(l))
            {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_reference_in_docs_is_generated_from_the_doc_comments() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/detectors.md");
        let generated = reference_markdown();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            generated,
            "run with UPDATE_SNAPSHOTS=1"
        );
        for name in registry().iter().map(|d| d.name()) {
            assert!(
                generated.contains(&format!("## `{name}`")),
                "{name} is missing from the reference"
            );
        }
    }

    #[test]
    fn detector_names_are_unique_snake_case() {
        let mut names: Vec<_> = registry().iter().map(|d| d.name()).collect();
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(n, names.len());
        assert_eq!(names.len(), 13);
    }
}
