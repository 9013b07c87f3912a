use std::collections::BTreeMap;

use super::{finding_at, median, Detector, SessionStats};
use crate::finding::{Finding, Severity};
use crate::policy::Policy;

/// What it does: reports sessions whose spend (`cost_usd` summed) is above `spend_factor` x the
/// expected spend: the policy's `expected_spend_usd` for the session's agent (or model), else the
/// archive's median session spend for that agent.
///
/// Why it matters: denial-of-wallet, loops and prompt stuffing cost money before they do anything else.
///
/// Example: a support agent whose sessions cost 0.04 USD at the median spends 1.20 USD in one session.
///
/// Known false positives: legitimately long tasks; sources without cost fields are never flagged.
pub(crate) struct SpendOverExpected;

impl Detector for SpendOverExpected {
    fn name(&self) -> &'static str {
        "spend_over_expected"
    }
    fn summary(&self) -> &'static str {
        "a session spends more than twice what is expected"
    }
    fn check_archive(&self, stats: &[SessionStats], policy: &Policy, out: &mut Vec<Finding>) {
        let key = |s: &SessionStats| {
            s.agent_id
                .clone()
                .or_else(|| s.model.clone())
                .unwrap_or_default()
        };
        let mut by_key: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for s in stats.iter().filter(|s| s.has_spend) {
            by_key.entry(key(s)).or_default().push(s.spend);
        }
        let medians: BTreeMap<String, f64> =
            by_key.into_iter().map(|(k, v)| (k, median(v))).collect();
        for s in stats.iter().filter(|s| s.has_spend) {
            let k = key(s);
            let expected = policy
                .expected_spend_usd
                .get(&k)
                .or_else(|| {
                    s.model
                        .as_ref()
                        .and_then(|m| policy.expected_spend_usd.get(m))
                })
                .copied()
                .unwrap_or_else(|| medians.get(&k).copied().unwrap_or(0.0));
            if expected > 0.0 && s.spend > policy.spend_factor * expected {
                if let Some(first) = &s.first {
                    let mut f = finding_at(
                        self.name(),
                        Severity::Medium,
                        first,
                        format!(
                            "session spent {:.4} USD, {:.1}x the expected {:.4} USD for {}",
                            s.spend,
                            s.spend / expected,
                            expected,
                            if k.is_empty() { "this archive" } else { &k }
                        ),
                        "",
                    );
                    f.score = Some(s.spend / expected);
                    out.push(f);
                }
            }
        }
    }
}
