use super::{finding_at, Detector, SessionStats};
use crate::finding::{Finding, Severity};
use crate::policy::Policy;

/// What it does: compares each session's tool error rate with the archive's overall rate and reports
/// sessions above `error_rate_factor` x that rate (with at least `min_calls_for_error_rate` calls).
///
/// Why it matters: a burst of failing calls is how probing, broken credentials, a misconfigured tool or
/// an agent fighting a guardrail look from outside.
///
/// Example: 9 of 10 `sql_query` calls fail in one session while the archive fails 3 % of calls.
///
/// Known false positives: an outage of a downstream service hits every session at once; compare with the
/// time of day.
pub(crate) struct ToolErrorRateOverBaseline;

impl Detector for ToolErrorRateOverBaseline {
    fn name(&self) -> &'static str {
        "tool_error_rate_over_baseline"
    }
    fn summary(&self) -> &'static str {
        "a session's tool error rate is far above the archive's"
    }
    fn check_archive(&self, stats: &[SessionStats], policy: &Policy, out: &mut Vec<Finding>) {
        let (calls, errors) = stats
            .iter()
            .fold((0, 0), |(c, e), s| (c + s.calls, e + s.errors));
        if calls == 0 {
            return;
        }
        let base = errors as f64 / calls as f64;
        for s in stats
            .iter()
            .filter(|s| s.calls >= policy.min_calls_for_error_rate && s.calls > 0)
        {
            let rate = s.errors as f64 / s.calls as f64;
            if rate > base * policy.error_rate_factor && rate > 0.0 {
                if let Some(first) = &s.first {
                    let mut f = finding_at(
                        self.name(),
                        Severity::Low,
                        first,
                        format!(
                            "{} of {} tool calls failed ({:.0} %), archive baseline {:.1} %",
                            s.errors,
                            s.calls,
                            rate * 100.0,
                            base * 100.0
                        ),
                        "",
                    );
                    f.score = Some(rate);
                    out.push(f);
                }
            }
        }
    }
}
