use super::{finding_at, Analysis, Detector};
use crate::finding::{Finding, Severity};

/// What it does: reports calls to a `sensitive_tools` tool (payments, deletions, shell, outbound email by
/// default) that had no approval decision since the previous call to a sensitive tool, or that follow a
/// denial.
///
/// Why it matters: human-approval gates are the control that stops an injected or confused agent from
/// acting; a sensitive action without one is the control failing or missing.
///
/// Example: `send_money` of 9,800 EUR with no `approval_decision` event before it.
///
/// Known false positives: sources that do not log approvals (the gate exists but is invisible), and
/// approvals granted once for a whole session.
pub(crate) struct SensitiveToolWithoutApproval;

impl Detector for SensitiveToolWithoutApproval {
    fn name(&self) -> &'static str {
        "sensitive_tool_without_approval"
    }
    fn summary(&self) -> &'static str {
        "a sensitive tool is called without an approval, or after a denial"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        let sensitive = |t: &str| cx.policy.sensitive_tools.iter().any(|s| s == t);
        // The last approval decision since the last sensitive call: None, approved, or denied.
        let mut decision: Option<(bool, u32)> = None;
        for e in &cx.session.events {
            match e.kind.as_str() {
                "approval_decision" => {
                    let text = e.content.as_deref().unwrap_or("").to_ascii_lowercase();
                    let denied = e.is_error == Some(true)
                        || ["deny", "denied", "reject", "no"]
                            .iter()
                            .any(|w| text.split(|c: char| !c.is_alphanumeric()).any(|t| t == *w));
                    decision = Some((!denied, e.seq));
                }
                "tool_call" if e.tool_name.as_deref().is_some_and(sensitive) => {
                    let tool = e.tool_name.as_deref().unwrap_or("");
                    match decision {
                        Some((true, _)) => {}
                        Some((false, seq)) => {
                            let mut f = finding_at(
                                self.name(),
                                Severity::Critical,
                                e,
                                format!("{tool} called after the approval was denied (seq {seq})"),
                                "denied",
                            );
                            f.related.push(seq);
                            out.push(f);
                        }
                        None => out.push(finding_at(
                            self.name(),
                            Severity::Medium,
                            e,
                            format!("{tool} called with no approval before it"),
                            "",
                        )),
                    }
                    decision = None;
                }
                _ => {}
            }
        }
    }
}
