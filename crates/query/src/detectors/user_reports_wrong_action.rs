use super::{finding_at, Analysis, Detector};
use crate::finding::{Finding, Severity};

/// What it does: reports feedback events (thumbs down, user reports, interrupts) and points at the last
/// tool call before them as the action in question.
///
/// Why it matters: users are the last detector; a report that "the agent did this" is where many
/// incidents start.
///
/// Example: "Bank flagged a 9,800 EUR transfer I never approved." after a `send_money` call.
///
/// Known false positives: feedback about tone or answer quality, not about an action.
pub(crate) struct UserReportsWrongAction;

impl Detector for UserReportsWrongAction {
    fn name(&self) -> &'static str {
        "user_reports_wrong_action"
    }
    fn summary(&self) -> &'static str {
        "a user reported a problem with what the agent did"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        for (i, e) in cx.session.events.iter().enumerate() {
            if e.kind != "feedback" {
                continue;
            }
            let last_call = cx.session.events[..i]
                .iter()
                .rev()
                .find(|c| c.kind == "tool_call");
            let text: String = e
                .content
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            let mut f = finding_at(
                self.name(),
                Severity::Medium,
                e,
                format!("user feedback: {text}"),
                "",
            );
            if let Some(c) = last_call {
                f.related.push(c.seq);
                f.summary.push_str(&format!(
                    " (last action: {} at seq {})",
                    c.tool_name.as_deref().unwrap_or("tool"),
                    c.seq
                ));
            }
            out.push(f);
        }
    }
}
