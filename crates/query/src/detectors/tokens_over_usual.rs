use super::{finding_at, median, Detector, SessionStats};
use crate::finding::{Finding, Severity};
use crate::policy::Policy;

/// What it does: reports sessions whose tokens (input plus output) exceed `token_factor` (10) x the
/// archive's median tokens per session.
///
/// Why it matters: context stuffing, loops and exfiltration of large documents through the model show
/// as sessions an order of magnitude larger than usual.
///
/// Example: median session 12,000 tokens; one session 480,000.
///
/// Known false positives: an archive mixing very different agents (set per-agent expectations with
/// spend instead); sources without usage are never flagged.
pub(crate) struct TokensOverUsual;

impl Detector for TokensOverUsual {
    fn name(&self) -> &'static str {
        "tokens_over_usual"
    }
    fn summary(&self) -> &'static str {
        "a session uses ten times the usual tokens"
    }
    fn check_archive(&self, stats: &[SessionStats], policy: &Policy, out: &mut Vec<Finding>) {
        let with: Vec<&SessionStats> = stats.iter().filter(|s| s.tokens > 0).collect();
        let usual = median(with.iter().map(|s| s.tokens as f64).collect());
        if with.len() < 3 || usual <= 0.0 {
            return;
        }
        for s in with {
            if s.tokens as f64 > policy.token_factor * usual {
                if let Some(first) = &s.first {
                    let mut f = finding_at(
                        self.name(),
                        Severity::Low,
                        first,
                        format!(
                            "{} tokens in the session, {:.0}x the archive median of {:.0}",
                            s.tokens,
                            s.tokens as f64 / usual,
                            usual
                        ),
                        "",
                    );
                    f.score = Some(s.tokens as f64 / usual);
                    out.push(f);
                }
            }
        }
    }
}
