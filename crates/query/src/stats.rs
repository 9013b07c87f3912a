//! Archive metrics from one scan: per day, agent, model and tool, the sessions, calls, error rates,
//! tokens, spend and findings; and the change points where an agent's model changed and its flag rate
//! moved with it (the seed's "model regression").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::detectors::SessionStats;
use crate::finding::{Finding, Severity};
use crate::scan::ScanResult;

/// One group's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupStats {
    pub key: String,
    pub sessions: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    /// Errors per call, `None` without calls.
    pub error_rate: Option<f64>,
    pub tokens: i64,
    pub spend_usd: f64,
    pub findings: u64,
    /// Findings at high or critical.
    pub findings_high: u64,
    /// Sessions with at least one finding at medium or above.
    pub flagged_sessions: u64,
}

/// Where an agent's model changed, and its flag rate before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePoint {
    pub agent: String,
    pub from_model: String,
    pub to_model: String,
    /// First session of the new model.
    pub at: Option<i64>,
    pub sessions_before: u64,
    pub sessions_after: u64,
    /// Share of sessions with a finding at medium or above.
    pub flag_rate_before: f64,
    pub flag_rate_after: f64,
    pub error_rate_before: Option<f64>,
    pub error_rate_after: Option<f64>,
    /// The flag rate moved by at least [`CHANGE_THRESHOLD`] with enough sessions on both sides.
    pub moved: bool,
}

/// The smallest move of the flag rate (absolute) reported as a change.
pub const CHANGE_THRESHOLD: f64 = 0.10;
/// Sessions needed on each side of a change point to judge it.
pub const CHANGE_MIN_SESSIONS: u64 = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArchiveStats {
    pub sessions: u64,
    pub events: u64,
    pub by_day: Vec<GroupStats>,
    pub by_agent: Vec<GroupStats>,
    pub by_model: Vec<GroupStats>,
    pub by_tool: Vec<GroupStats>,
    pub change_points: Vec<ChangePoint>,
}

#[derive(Default)]
struct Acc {
    sessions: BTreeSet<String>,
    g: GroupStats,
}

impl Acc {
    fn session(&mut self, s: &SessionStats, flags: &SessionFlags) {
        if self.sessions.insert(s.session_id.clone()) {
            self.g.sessions += 1;
            self.g.tokens += s.tokens;
            self.g.spend_usd += s.spend;
            self.g.findings += flags.findings;
            self.g.findings_high += flags.high;
            self.g.flagged_sessions += u64::from(flags.flagged);
        }
    }
    fn finish(mut self, key: String) -> GroupStats {
        self.g.key = key;
        self.g.error_rate =
            (self.g.tool_calls > 0).then(|| self.g.tool_errors as f64 / self.g.tool_calls as f64);
        self.g
    }
}

#[derive(Default, Clone, Copy)]
struct SessionFlags {
    findings: u64,
    high: u64,
    flagged: bool,
}

/// Groups a scan's per-session numbers and findings.
pub fn archive_stats(scan: &ScanResult) -> ArchiveStats {
    let mut flags: BTreeMap<&str, SessionFlags> = BTreeMap::new();
    let mut tool_findings: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for f in &scan.findings {
        let e = flags.entry(f.session_id.as_str()).or_default();
        e.findings += 1;
        e.high += u64::from(f.severity >= Severity::High);
        e.flagged |= f.severity >= Severity::Medium;
        if let Some(t) = &f.tool_name {
            let c = tool_findings.entry(t.as_str()).or_default();
            c.0 += 1;
            c.1 += u64::from(f.severity >= Severity::High);
        }
    }
    let none = SessionFlags::default();
    let mut day: BTreeMap<String, Acc> = BTreeMap::new();
    let mut agent: BTreeMap<String, Acc> = BTreeMap::new();
    let mut model: BTreeMap<String, Acc> = BTreeMap::new();
    let mut tool: BTreeMap<String, Acc> = BTreeMap::new();
    for s in &scan.session_stats {
        let fl = flags.get(s.session_id.as_str()).copied().unwrap_or(none);
        let d = s.first_ts.map(crate::day_utc).unwrap_or_else(|| "-".into());
        let a = s.agent_id.clone().unwrap_or_else(|| "-".into());
        let m = s.model.clone().unwrap_or_else(|| "-".into());
        for (map, key) in [(&mut day, d), (&mut agent, a), (&mut model, m)] {
            let acc = map.entry(key).or_default();
            acc.session(s, &fl);
            acc.g.tool_calls += s.calls as u64;
            acc.g.tool_errors += s.errors as u64;
        }
        for (t, (calls, errors)) in &s.tools {
            let acc = tool.entry(t.clone()).or_default();
            if acc.sessions.insert(s.session_id.clone()) {
                acc.g.sessions += 1;
            }
            acc.g.tool_calls += calls;
            acc.g.tool_errors += errors;
        }
    }
    for (t, (n, high)) in tool_findings {
        let acc = tool.entry(t.to_string()).or_default();
        acc.g.findings += n;
        acc.g.findings_high += high;
    }
    let finish = |m: BTreeMap<String, Acc>| -> Vec<GroupStats> {
        m.into_iter().map(|(k, a)| a.finish(k)).collect()
    };
    ArchiveStats {
        sessions: scan.sessions,
        events: scan.events,
        change_points: change_points(&scan.session_stats, &flags),
        by_day: finish(day),
        by_agent: finish(agent),
        by_model: finish(model),
        by_tool: finish(tool),
    }
}

/// For each agent, its sessions in time order; wherever the model differs from the previous session's,
/// the flag and error rates of the run of sessions before (on the old model) and after (on the new).
fn change_points(stats: &[SessionStats], flags: &BTreeMap<&str, SessionFlags>) -> Vec<ChangePoint> {
    let mut by_agent: BTreeMap<&str, Vec<&SessionStats>> = BTreeMap::new();
    for s in stats {
        if let (Some(a), Some(_)) = (&s.agent_id, &s.model) {
            by_agent.entry(a.as_str()).or_default().push(s);
        }
    }
    let mut out = Vec::new();
    for (agent, mut sessions) in by_agent {
        sessions.sort_by(|a, b| (a.first_ts, &a.session_id).cmp(&(b.first_ts, &b.session_id)));
        // Runs of consecutive sessions on one model.
        let mut runs: Vec<(&str, Vec<&SessionStats>)> = Vec::new();
        for s in sessions {
            let m = s.model.as_deref().unwrap_or("-");
            match runs.last_mut() {
                Some((cur, v)) if *cur == m => v.push(s),
                _ => runs.push((m, vec![s])),
            }
        }
        for w in runs.windows(2) {
            let ((from, before), (to, after)) = (&w[0], &w[1]);
            let rate = |v: &[&SessionStats]| {
                v.iter()
                    .filter(|s| flags.get(s.session_id.as_str()).is_some_and(|f| f.flagged))
                    .count() as f64
                    / v.len() as f64
            };
            let errors = |v: &[&SessionStats]| {
                let calls: usize = v.iter().map(|s| s.calls).sum();
                (calls > 0).then(|| v.iter().map(|s| s.errors).sum::<usize>() as f64 / calls as f64)
            };
            let (rb, ra) = (rate(before), rate(after));
            let enough = before.len() as u64 >= CHANGE_MIN_SESSIONS
                && after.len() as u64 >= CHANGE_MIN_SESSIONS;
            out.push(ChangePoint {
                agent: agent.to_string(),
                from_model: from.to_string(),
                to_model: to.to_string(),
                at: after[0].first_ts,
                sessions_before: before.len() as u64,
                sessions_after: after.len() as u64,
                flag_rate_before: rb,
                flag_rate_after: ra,
                error_rate_before: errors(before),
                error_rate_after: errors(after),
                moved: enough && (ra - rb).abs() >= CHANGE_THRESHOLD,
            });
        }
    }
    out
}

/// Findings at or above `min`, by detector and severity, most severe first: the report's headline.
pub fn findings_by_detector(findings: &[Finding]) -> Vec<(String, Severity, u64)> {
    let mut m: BTreeMap<(std::cmp::Reverse<Severity>, String), u64> = BTreeMap::new();
    for f in findings {
        *m.entry((std::cmp::Reverse(f.severity), f.detector.clone()))
            .or_default() += 1;
    }
    m.into_iter().map(|((s, d), n)| (d, s.0, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Severity};

    fn session(
        id: &str,
        agent: &str,
        model: &str,
        t: i64,
        calls: usize,
        errors: usize,
    ) -> SessionStats {
        SessionStats {
            session_id: id.into(),
            agent_id: Some(agent.into()),
            model: Some(model.into()),
            first_ts: Some(t),
            calls,
            errors,
            ..SessionStats::default()
        }
    }

    fn finding(session: &str, severity: Severity) -> Finding {
        Finding {
            id: format!("f-{session}"),
            detector: "tool_output_instructs_model".into(),
            severity,
            session_id: session.into(),
            seq: 1,
            ts: None,
            source_file: String::new(),
            source_line: None,
            source_pointer: String::new(),
            summary: String::new(),
            score: None,
            evidence: Vec::new(),
            related: Vec::new(),
            tool_name: Some("fetch".into()),
            user_id: None,
            agent_id: None,
        }
    }

    fn scan(stats: Vec<SessionStats>, findings: Vec<Finding>) -> ScanResult {
        ScanResult {
            findings,
            sessions: stats.len() as u64,
            events: 0,
            sessions_affected: 0,
            counts: Default::default(),
            first_ts: None,
            last_ts: None,
            input_bytes: 0,
            elapsed: Default::default(),
            session_stats: stats,
            payloads: Vec::new(),
        }
    }

    #[test]
    fn a_model_change_that_moves_the_flag_rate_is_reported() {
        // Agent a: 6 sessions on m1 (1 flagged), then 6 on m2 (4 flagged). Agent b: one model only.
        let mut stats = Vec::new();
        let mut findings = Vec::new();
        for i in 0..12 {
            let id = format!("a{i:02}");
            let model = if i < 6 { "m1" } else { "m2" };
            stats.push(session(
                &id,
                "a",
                model,
                i * 1_000_000,
                4,
                usize::from(i >= 6),
            ));
            if i == 0 || i >= 8 {
                findings.push(finding(&id, Severity::High));
            }
        }
        stats.push(session("b0", "b", "m1", 0, 2, 0));
        findings.push(finding("b0", Severity::Low));
        let s = archive_stats(&scan(stats, findings));
        assert_eq!(s.change_points.len(), 1);
        let c = &s.change_points[0];
        assert_eq!(
            (c.agent.as_str(), c.from_model.as_str(), c.to_model.as_str()),
            ("a", "m1", "m2")
        );
        assert_eq!((c.sessions_before, c.sessions_after), (6, 6));
        assert!((c.flag_rate_before - 1.0 / 6.0).abs() < 1e-9);
        assert!((c.flag_rate_after - 4.0 / 6.0).abs() < 1e-9);
        assert_eq!(c.error_rate_after, Some(6.0 / 24.0));
        assert!(c.moved);
        assert_eq!(c.at, Some(6_000_000));

        // Grouping: the low finding counts as a finding but does not flag its session.
        let m1 = s.by_model.iter().find(|g| g.key == "m1").unwrap();
        assert_eq!((m1.sessions, m1.findings, m1.flagged_sessions), (7, 2, 1));
        let fetch = s.by_tool.iter().find(|g| g.key == "fetch").unwrap();
        assert_eq!((fetch.findings, fetch.findings_high), (6, 5));
    }

    #[test]
    fn too_few_sessions_do_not_make_a_move() {
        let stats = vec![
            session("x1", "a", "m1", 1, 1, 0),
            session("x2", "a", "m2", 2, 1, 0),
        ];
        let s = archive_stats(&scan(stats, vec![finding("x2", Severity::High)]));
        assert_eq!(s.change_points.len(), 1);
        assert!(
            !s.change_points[0].moved,
            "one session a side is not evidence"
        );
    }
}
