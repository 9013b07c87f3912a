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

/// Sub-agent id to the call id of the tool call that spawned it. Claude Code records this on the
/// parent's progress events: `parentToolUseID` (the `Task` call) with `data.agentId`.
fn subagent_spawners(session: &Session) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for e in &session.events {
        let Some(attrs) = e.attributes.as_deref() else {
            continue;
        };
        if !(attrs.contains("\"parentToolUseID\"") && attrs.contains("\"agentId\"")) {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(attrs) else {
            continue;
        };
        if let (Some(call), Some(agent)) =
            (v["parentToolUseID"].as_str(), v["data"]["agentId"].as_str())
        {
            out.entry(agent.to_string())
                .or_insert_with(|| call.to_string());
        }
    }
    out
}

/// Moves each sub-agent's events (in their own order) right after the call that spawned it, so the
/// timeline reads as the investigator thinks of it: the call, what the sub-agent did, the call's result.
/// Sub-agents whose spawner is unknown keep their place.
fn nest_subagents(entries: Vec<Entry>, spawned_by: &HashMap<String, String>) -> Vec<Entry> {
    if spawned_by.is_empty() {
        return entries;
    }
    let mut children: HashMap<String, Vec<Entry>> = HashMap::new();
    let mut main = Vec::with_capacity(entries.len());
    for e in entries {
        match e.event.agent_id.as_deref().and_then(|a| spawned_by.get(a)) {
            Some(call) => children.entry(call.clone()).or_default().push(e),
            None => main.push(e),
        }
    }
    let mut out = Vec::with_capacity(main.len());
    for e in main {
        let spawned = (e.event.kind == "tool_call")
            .then(|| e.event.call_id.clone())
            .flatten();
        out.push(e);
        if let Some(kids) = spawned.and_then(|c| children.remove(&c)) {
            out.extend(kids);
        }
    }
    // Spawners not in the session (a lost line): append, in seq order.
    let mut rest: Vec<Entry> = children.into_values().flatten().collect();
    rest.sort_by_key(|e| e.event.seq);
    out.extend(rest);
    out
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
    let findings = session_findings(&analysis);
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
    let spawned_by = subagent_spawners(session);
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
            let spawned = e
                .agent_id
                .as_deref()
                .is_some_and(|a| spawned_by.contains_key(a));
            let depth = u32::from(
                sidechain
                    || spawned
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
    let entries = nest_subagents(entries, &spawned_by);
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
