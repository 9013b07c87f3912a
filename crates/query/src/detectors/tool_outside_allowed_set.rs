use super::{finding_at, Analysis, Detector};
use crate::finding::{Finding, Severity};

/// What it does: reports calls to a tool that is not in the `allowed_tools` list of the calling agent.
/// Agents without a list are not checked.
///
/// Why it matters: an agent reaching for a tool outside its job (a billing agent running shell
/// commands) is scope creep, a misconfigured connector, or an attacker steering it.
///
/// Example: agent `ap-clerk`, allowed `search_emails` and `send_money`, calls `run_shell`.
///
/// Known false positives: tools renamed or added after the policy was written.
pub(crate) struct ToolOutsideAllowedSet;

impl Detector for ToolOutsideAllowedSet {
    fn name(&self) -> &'static str {
        "tool_outside_allowed_set"
    }
    fn summary(&self) -> &'static str {
        "an agent calls a tool outside its allowed set"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        for e in cx.session.events.iter().filter(|e| e.kind == "tool_call") {
            let (Some(agent), Some(tool)) = (e.agent_id.as_deref(), e.tool_name.as_deref()) else {
                continue;
            };
            if let Some(allowed) = cx.policy.allowed_tools.get(agent) {
                if !allowed.iter().any(|t| t == tool) {
                    out.push(finding_at(
                        self.name(),
                        Severity::High,
                        e,
                        format!("agent {agent} called {tool}, which is not in its allowed tools"),
                        "",
                    ));
                }
            }
        }
    }
}
