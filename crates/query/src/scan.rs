//! Every detector over every session of a store, in parallel over buckets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::detectors::{registry, Analysis, SessionStats};
use crate::finding::{Finding, Severity};
use crate::policy::Policy;
use crate::{QueryError, Session, Store};

/// Configures a scan: `ScanBuilder::new().policy(p).threads(n).build().run(&store)`.
#[derive(Debug, Clone)]
pub struct ScanBuilder {
    policy: Policy,
    threads: Option<usize>,
    min_severity: Option<Severity>,
    max_findings: u64,
}

/// Findings a scan holds in memory by default (each is about 1 KB): past it the scan stops with an
/// error that says how to narrow it, instead of growing until the machine kills it.
pub const DEFAULT_MAX_FINDINGS: u64 = 1_000_000;

impl Default for ScanBuilder {
    fn default() -> ScanBuilder {
        ScanBuilder {
            policy: Policy::default(),
            threads: None,
            min_severity: None,
            max_findings: DEFAULT_MAX_FINDINGS,
        }
    }
}

impl ScanBuilder {
    pub fn new() -> ScanBuilder {
        ScanBuilder::default()
    }
    /// The most findings kept in memory (at or above `min_severity`); more is an error.
    pub fn max_findings(mut self, n: u64) -> Self {
        self.max_findings = n;
        self
    }
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }
    pub fn min_severity(mut self, s: Option<Severity>) -> Self {
        self.min_severity = s;
        self
    }
    pub fn build(self) -> Scan {
        Scan { opts: self }
    }
}

pub struct Scan {
    opts: ScanBuilder,
}

/// Findings and the numbers a batch job reports.
#[derive(Debug, Clone, Serialize)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub sessions: u64,
    pub events: u64,
    pub sessions_affected: u64,
    /// Findings per detector and severity.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    /// Raw input bytes the scanned store was ingested from.
    pub input_bytes: u64,
    #[serde(skip)]
    pub elapsed: Duration,
    /// Every session's numbers, by `session_id` (what `stats` groups).
    #[serde(skip)]
    pub session_stats: Vec<SessionStats>,
    /// Every tool output flagged as instructing the model, with its injected passage (what campaigns
    /// and `similar` cluster), by (`session_id`, `seq`).
    #[serde(skip)]
    pub payloads: Vec<Payload>,
}

/// A flagged tool output's injected passage, and whether the session acted on it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Payload {
    pub session_id: String,
    pub seq: u32,
    pub ts: Option<i64>,
    pub tool_name: Option<String>,
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    /// The attacker-written passage (bounded to 4 KiB).
    pub text: String,
    /// A call in the same session used a value planted by this output.
    pub acted_on: bool,
}

/// The passage of a flagged output, bounded.
const PAYLOAD_BYTES: usize = 4096;

fn payloads_of(analysis: &Analysis<'_>, findings: &[Finding], out: &mut Vec<Payload>) {
    let session = analysis.session;
    let acted: std::collections::BTreeSet<u32> = findings
        .iter()
        .filter(|f| {
            f.detector == "tool_call_argument_from_injected_output" && f.session_id == session.id
        })
        .flat_map(|f| f.related.iter().copied())
        .collect();
    let user = session.events.iter().find_map(|e| e.user_id.clone());
    for (i, e) in session.events.iter().enumerate() {
        if !analysis.is_injected(i) {
            continue;
        }
        out.push(Payload {
            session_id: session.id.clone(),
            seq: e.seq,
            ts: e.ts,
            tool_name: e.tool_name.clone(),
            agent_id: e.agent_id.clone(),
            user_id: e.user_id.clone().or_else(|| user.clone()),
            text: analysis.passage(i, PAYLOAD_BYTES).to_string(),
            acted_on: acted.contains(&e.seq),
        });
    }
}

/// What scanning one session gives: its findings (at or above the minimum severity), its numbers for
/// the archive-level detectors, its flagged payloads, and its event count and time range. The unit
/// every engine computes (rayon here, DataFusion and Ballista through `tracehound-sql`) and
/// [`ScanBuilder::assemble`] joins, so every engine gives the same result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SessionScan {
    pub findings: Vec<Finding>,
    pub stats: SessionStats,
    pub payloads: Vec<Payload>,
    pub events: u64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

impl ScanBuilder {
    /// Scans one session (its events in `seq` order) with the session-level detectors.
    pub fn scan_session(&self, session: &Session) -> SessionScan {
        scan_session(session, &self.policy, self.min_severity)
    }

    /// Joins per-session scans into the archive's result: the archive-level detectors over every
    /// session's numbers, the severity filter, the findings limit, the deterministic order, the counts.
    /// `input_bytes` is what the store was ingested from (for MB/s).
    pub fn assemble(
        &self,
        mut parts: Vec<SessionScan>,
        input_bytes: u64,
        started: Instant,
    ) -> Result<ScanResult, QueryError> {
        let max = self.max_findings;
        let held: u64 = parts.iter().map(|p| p.findings.len() as u64).sum();
        if held > max {
            return Err(too_many(max));
        }
        parts.sort_by(|a, b| a.stats.session_id.cmp(&b.stats.session_id));
        let mut findings = Vec::with_capacity(held as usize);
        let mut stats = Vec::with_capacity(parts.len());
        let mut payloads = Vec::new();
        let (mut events, mut first_ts, mut last_ts) = (0, None, None);
        for p in parts {
            findings.extend(p.findings);
            stats.push(p.stats);
            payloads.extend(p.payloads);
            events += p.events;
            first_ts = match (first_ts, p.first_ts) {
                (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                (a, b) => a.or(b),
            };
            last_ts = match (last_ts, p.last_ts) {
                (Some(a), Some(b)) => Some(std::cmp::max(a, b)),
                (a, b) => a.or(b),
            };
        }
        for d in &registry() {
            d.check_archive(&stats, &self.policy, &mut findings);
        }
        if let Some(min) = self.min_severity {
            findings.retain(|f| f.severity >= min);
        }
        if findings.len() as u64 > max {
            return Err(too_many(max));
        }
        // Same input, same order, whatever the thread count or engine. Each session's findings
        // arrive sorted and the sessions in order, so this mostly merges the archive-level findings.
        findings.sort_by(finding_order);
        payloads.sort_by(|a, b| (&a.session_id, a.seq).cmp(&(&b.session_id, b.seq)));
        // Counted by detector and severity first, named after: no string per finding.
        let mut tally: BTreeMap<(&str, Severity), u64> = BTreeMap::new();
        for f in &findings {
            *tally.entry((f.detector.as_str(), f.severity)).or_insert(0) += 1;
        }
        let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((detector, severity), n) in tally {
            counts
                .entry(detector.to_string())
                .or_default()
                .insert(severity.as_str().to_string(), n);
        }
        // Sorted by session: each session's findings are adjacent.
        let sessions_affected = findings
            .chunk_by(|a, b| a.session_id == b.session_id)
            .count() as u64;
        Ok(ScanResult {
            sessions_affected,
            findings,
            sessions: stats.len() as u64,
            events,
            counts,
            first_ts,
            last_ts,
            input_bytes,
            elapsed: started.elapsed(),
            session_stats: stats,
            payloads,
        })
    }

    /// The policy scans run with.
    pub fn policy_ref(&self) -> &Policy {
        &self.policy
    }
}

/// The order of findings in every output: by session, event, detector and id.
fn finding_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.session_id, a.seq, &a.detector, &a.id).cmp(&(&b.session_id, b.seq, &b.detector, &b.id))
}

fn too_many(max: u64) -> QueryError {
    QueryError::Invalid(format!(
        "more than {max} findings to hold in memory (--max-findings); narrow the scan with \
         --min-severity medium or high, or raise --max-findings if this machine has the memory \
         (about 1 KB per finding)"
    ))
}

/// One session through every session-level detector.
fn scan_session(session: &Session, policy: &Policy, min: Option<Severity>) -> SessionScan {
    let mut out = SessionScan {
        events: session.events.len() as u64,
        ..SessionScan::default()
    };
    for ts in session.events.iter().filter_map(|e| e.ts) {
        out.first_ts = Some(out.first_ts.map_or(ts, |f: i64| f.min(ts)));
        out.last_ts = Some(out.last_ts.map_or(ts, |l: i64| l.max(ts)));
    }
    let analysis = Analysis::for_scan(session, policy);
    for d in &registry() {
        d.check(&analysis, &mut out.findings);
    }
    payloads_of(&analysis, &out.findings, &mut out.payloads);
    if let Some(min) = min {
        out.findings.retain(|f| f.severity >= min);
    }
    // Sorted here, in parallel, so the archive-wide sort finds one long run.
    out.findings.sort_by(finding_order);
    out.stats = SessionStats::of(session);
    out
}

impl Scan {
    pub fn run(&self, store: &Store) -> Result<ScanResult, QueryError> {
        let started = Instant::now();
        let opts = &self.opts;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.unwrap_or(0))
            .build()
            .expect("thread pool builds");
        let max = opts.max_findings;
        // Findings kept so far, over all buckets: checked after every session, so memory stops
        // growing near the limit rather than after the whole archive.
        let held = std::sync::atomic::AtomicU64::new(0);
        let over = || held.load(std::sync::atomic::Ordering::Relaxed) > max;
        let parts: Vec<Vec<SessionScan>> = pool.install(|| {
            store
                .buckets()
                .into_par_iter()
                .map(|bucket| {
                    let mut out = Vec::new();
                    store.bucket_sessions(bucket, |session| {
                        if over() {
                            return;
                        }
                        let part = opts.scan_session(&session);
                        held.fetch_add(
                            part.findings.len() as u64,
                            std::sync::atomic::Ordering::Relaxed,
                        );
                        out.push(part);
                    })?;
                    Ok(out)
                })
                .collect::<Result<Vec<_>, QueryError>>()
        })?;
        if over() {
            return Err(too_many(max));
        }
        let input_bytes = store.manifest().inputs.iter().map(|i| i.size).sum();
        opts.assemble(parts.into_iter().flatten().collect(), input_bytes, started)
    }
}

/// Findings of the session-local detectors for one analysed session (the timeline's inline findings).
pub fn session_findings(analysis: &Analysis<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in registry() {
        d.check(analysis, &mut out);
    }
    out.sort_by(finding_order);
    out
}
