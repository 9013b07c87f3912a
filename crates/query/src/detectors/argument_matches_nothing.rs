use super::{args_evidence, finding_at, Analysis, Detector};
use crate::finding::{Finding, Severity};
use crate::provenance::is_target;

/// What it does: reports tool calls with a target-like argument (email address, URL, IBAN, path) that
/// appears nowhere earlier in the conversation: not in the system prompt, the user's messages, or any
/// tool output.
///
/// Why it matters: a recipient or account the model produced from nothing is either a hallucination or
/// comes from a channel the log does not show (memory, a poisoned fine-tune); both need a look before
/// the action is trusted.
///
/// Example: `send_money` to `GB33BUKB20201555555555` when no earlier event mentions that IBAN.
///
/// Known false positives: values the model derives legitimately (a URL built from a base and an id),
/// sources that do not log tool outputs, and sessions cut before their start.
pub(crate) struct ArgumentMatchesNothing;

impl Detector for ArgumentMatchesNothing {
    fn name(&self) -> &'static str {
        "argument_matches_nothing"
    }
    fn summary(&self) -> &'static str {
        "a tool call's target appears nowhere earlier in the conversation"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        for (idx, values) in &cx.provenance {
            let call = &cx.session.events[*idx];
            let orphans: Vec<_> = values
                .iter()
                .filter(|v| v.origin.is_none())
                .filter(|v| is_target(v.value.kind))
                .collect();
            if orphans.is_empty() {
                continue;
            }
            let list: Vec<_> = orphans.iter().map(|v| v.value.value.as_str()).collect();
            let mut f = finding_at(
                self.name(),
                Severity::Low,
                call,
                format!(
                    "{} called with {} found nowhere earlier in the conversation",
                    call.tool_name.as_deref().unwrap_or("tool"),
                    list.join(", ")
                ),
                "",
            );
            for v in orphans {
                f.evidence
                    .extend(args_evidence(call, &v.value.value, &v.value.pointer));
            }
            out.push(f);
        }
    }
}
