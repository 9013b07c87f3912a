//! One session's timeline: events in order, each tool call paired with its result (and the latency
//! where clocks exist), sub-agent events marked by depth, the provenance of every argument value, and
//! the detectors' findings at the events they concern.

use std::collections::HashMap;

use serde::Serialize;

use crate::detectors::Analysis;
use crate::events::{EventRow, Session};
use crate::finding::Finding;
use crate::policy::Policy;
use crate::provenance::ValueProvenance;
use crate::scan::session_findings;

/// One line of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    #[serde(flatten)]
    pub event: EventRow,
    /// Nesting: 0 for the main agent, 1 for events of a sub-agent.
    pub depth: u32,
    /// For a call, the seq of its result; for a result, the seq of its call.
    pub paired_seq: Option<u32>,
    /// Result time minus call time, for a result, in milliseconds.
    pub latency_ms: Option<f64>,
    /// For a call, where each argument value came from.
    pub provenance: Vec<ValueProvenance>,
    /// Ids of findings at this event.
    pub findings: Vec<String>,
}

/// A session's timeline and the findings shown in it.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub session_id: String,
    pub total_events: usize,
    pub entries: Vec<Entry>,
    pub findings: Vec<Finding>,
}

/// Which part of the session to show.
#[derive(Debug, Clone, Copy, Default)]
pub enum Around {
    #[default]
    All,
    Seq(u32),
    /// Microseconds since the epoch: the event nearest this time.
    Time(i64),
}

pub fn timeline(
    session: &Session,
    policy: &Policy,
    around: Around,
    before: usize,
    after: usize,
) -> Timeline {
    let analysis = Analysis::new(session, policy);
    let findings = session_findings(session, policy);
    let mut by_seq: HashMap<u32, Vec<String>> = HashMap::new();
    for f in &findings {
        by_seq.entry(f.seq).or_default().push(f.id.clone());
    }
    let provenance: HashMap<usize, &Vec<ValueProvenance>> =
        analysis.provenance.iter().map(|(i, p)| (*i, p)).collect();
    // Pair calls and results by call id (ingest already paired id-less ones by order).
    let mut call_at: HashMap<&str, usize> = HashMap::new();
    let mut paired: Vec<Option<usize>> = vec![None; session.events.len()];
    for (i, e) in session.events.iter().enumerate() {
        let Some(id) = e.call_id.as_deref() else {
            continue;
        };
        match e.kind.as_str() {
            "tool_call" => {
                call_at.insert(id, i);
            }
            "tool_result" => {
                if let Some(&c) = call_at.get(id) {
                    paired[i] = Some(c);
                    paired[c] = Some(i);
                }
            }
            _ => {}
        }
    }
    let main_agent = session.events.iter().find_map(|e| e.agent_id.clone());
    let entries: Vec<Entry> = session
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let latency_ms = match (e.kind.as_str(), paired[i]) {
                ("tool_result", Some(c)) => match (session.events[c].ts, e.ts) {
                    (Some(a), Some(b)) => Some((b - a) as f64 / 1000.0),
                    _ => None,
                },
                _ => None,
            };
            let sidechain = e
                .attributes
                .as_deref()
                .is_some_and(|a| a.contains("\"isSidechain\":true"));
            let depth = u32::from(
                sidechain
                    || (e.agent_id.is_some()
                        && e.agent_id != main_agent
                        && e.source_format == "claude-code"),
            );
            Entry {
                event: e.clone(),
                depth,
                paired_seq: paired[i].map(|p| session.events[p].seq),
                latency_ms,
                provenance: provenance.get(&i).map(|p| (*p).clone()).unwrap_or_default(),
                findings: by_seq.remove(&e.seq).unwrap_or_default(),
            }
        })
        .collect();
    let total = entries.len();
    let center = match around {
        Around::All => None,
        Around::Seq(seq) => Some(
            entries
                .iter()
                .position(|e| e.event.seq >= seq)
                .unwrap_or(total.saturating_sub(1)),
        ),
        Around::Time(t) => entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.event.ts.map(|ts| ((ts - t).abs(), i)))
            .min()
            .map(|(_, i)| i),
    };
    let entries = match center {
        None => entries,
        Some(c) => {
            let start = c.saturating_sub(before);
            let end = (c + after + 1).min(total);
            entries.into_iter().skip(start).take(end - start).collect()
        }
    };
    let shown: std::collections::HashSet<u32> = entries.iter().map(|e| e.event.seq).collect();
    Timeline {
        session_id: session.id.clone(),
        total_events: total,
        findings: findings
            .into_iter()
            .filter(|f| shown.contains(&f.seq))
            .collect(),
        entries,
    }
}
