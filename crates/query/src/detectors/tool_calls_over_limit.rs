use super::{finding_at, Analysis, Detector};
use crate::finding::{Finding, Severity};

/// What it does: reports a session that makes more tool calls than `max_tool_calls_per_session`, at
/// the first call over the limit.
///
/// Why it matters: runaway loops, denial-of-wallet and mass actions (a thousand emails) show first as
/// call volume.
///
/// Example: an agent retrying `web_fetch` 400 times in one session.
///
/// Known false positives: long legitimate batch sessions (migrations, bulk triage); raise the limit for
/// those agents.
pub(crate) struct ToolCallsOverLimit;

impl Detector for ToolCallsOverLimit {
    fn name(&self) -> &'static str {
        "tool_calls_over_limit"
    }
    fn summary(&self) -> &'static str {
        "a session makes more tool calls than the policy allows"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        let limit = cx.policy.max_tool_calls_per_session;
        let calls: Vec<_> = cx
            .session
            .events
            .iter()
            .filter(|e| e.kind == "tool_call")
            .collect();
        if calls.len() > limit {
            out.push(finding_at(
                self.name(),
                Severity::Medium,
                calls[limit],
                format!(
                    "{} tool calls in the session, over the limit of {limit}",
                    calls.len()
                ),
                "",
            ));
        }
    }
}
