//! The containment checklist: from the findings, which credentials to rotate, which tools and connectors
//! to disable or gate, which hosts to block and which agents to pause, each line with its evidence.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::detectors::find_secrets;
use crate::finding::{Finding, Severity};
use crate::respond::markdown;
use crate::{QueryError, Store};

/// A finding a checklist line rests on, with the command that opens it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRef {
    pub finding: String,
    pub detector: String,
    pub severity: Severity,
    pub session_id: String,
    pub seq: u32,
    pub ts: Option<i64>,
    pub summary: String,
    pub open: String,
}

/// A credential seen in the logs: rotate it. Never carries the secret, only its redacted form and
/// fingerprint (SHA-256 prefix, the same in every tracehound output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialAction {
    pub kind: String,
    pub fingerprint: String,
    pub redacted: String,
    /// Passed as a tool argument: it may have left the system, not only been read.
    pub sent_in_tool_call: bool,
    pub sessions: Vec<String>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub evidence: Vec<EvidenceRef>,
}

/// A tool or connector to disable, gate behind approval, or sanitise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolAction {
    pub tool: String,
    /// What to do, most urgent first (`disable`, `require approval`, `sanitise outputs`, ...).
    pub actions: Vec<String>,
    pub reasons: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
}

/// A host to block at the egress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostAction {
    pub host: String,
    pub tools: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
}

/// An agent to pause until the incident is understood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentAction {
    pub agent: String,
    pub reasons: Vec<String>,
    pub sessions: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
}

/// The checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Containment {
    pub store: String,
    /// The sessions considered; empty for the whole store.
    pub sessions: Vec<String>,
    pub findings_considered: usize,
    pub credentials: Vec<CredentialAction>,
    pub tools: Vec<ToolAction>,
    pub hosts: Vec<HostAction>,
    pub agents: Vec<AgentAction>,
}

const ACTED_ON: &str = "tool_call_argument_from_injected_output";
const INJECTED: &str = "tool_output_instructs_model";

fn evidence_ref(store: &str, f: &Finding) -> EvidenceRef {
    EvidenceRef {
        finding: f.id.clone(),
        detector: f.detector.clone(),
        severity: f.severity,
        session_id: f.session_id.clone(),
        seq: f.seq,
        ts: f.ts,
        summary: f.summary.clone(),
        open: super::timeline_command(store, &f.session_id, f.seq),
    }
}

/// Reasons, sessions and evidence gathered for one agent.
type AgentAcc = (BTreeSet<String>, BTreeSet<String>, Vec<EvidenceRef>);

#[derive(Default)]
struct ToolAcc {
    actions: BTreeSet<(u8, &'static str)>,
    reasons: BTreeSet<String>,
    evidence: Vec<EvidenceRef>,
}

/// Builds the checklist from findings (of `scan`, or of the chosen sessions). Sessions are read back
/// only where a line needs an event the finding does not carry: the secret's fingerprint, the tool
/// whose output carried an injection.
pub fn contain(
    store: &Store,
    store_label: &str,
    sessions: &[String],
    findings: &[Finding],
) -> Result<Containment, QueryError> {
    let mut creds: BTreeMap<String, CredentialAction> = BTreeMap::new();
    let mut tools: BTreeMap<String, ToolAcc> = BTreeMap::new();
    let mut hosts: BTreeMap<String, HostAction> = BTreeMap::new();
    let mut agents: BTreeMap<String, AgentAcc> = BTreeMap::new();
    // The sessions whose events a line needs (a secret's fingerprint, the tool behind an injection),
    // each read once, before the loop borrows them.
    let mut loaded: BTreeMap<&str, crate::Session> = BTreeMap::new();
    for f in findings {
        if matches!(f.detector.as_str(), "secret_exposed" | ACTED_ON)
            && !loaded.contains_key(f.session_id.as_str())
        {
            loaded.insert(&f.session_id, store.session(&f.session_id)?);
        }
    }
    let mut add_tool =
        |tool: &str, rank: u8, action: &'static str, reason: String, e: EvidenceRef| {
            let t = tools.entry(tool.to_string()).or_default();
            t.actions.insert((rank, action));
            t.reasons.insert(reason);
            if !t.evidence.iter().any(|x| x.finding == e.finding) {
                t.evidence.push(e);
            }
        };
    let mut pause = |f: &Finding, reason: String, e: EvidenceRef| {
        if let Some(agent) = &f.agent_id {
            let a = agents.entry(agent.clone()).or_default();
            a.0.insert(reason);
            a.1.insert(f.session_id.clone());
            a.2.push(e);
        }
    };
    for f in findings {
        let e = evidence_ref(store_label, f);
        match f.detector.as_str() {
            "secret_exposed" => {
                let s = &loaded[f.session_id.as_str()];
                let Ok(i) = s.events.binary_search_by_key(&f.seq, |x| x.seq) else {
                    continue;
                };
                let event = &s.events[i];
                for ev in &f.evidence {
                    let text = if ev.field == "args" {
                        event.args.as_deref()
                    } else {
                        event.content.as_deref()
                    }
                    .unwrap_or("");
                    let Some(span) = text.get(ev.start..ev.end) else {
                        continue;
                    };
                    for m in find_secrets(span) {
                        let c = creds.entry(m.fingerprint.clone()).or_insert_with(|| {
                            CredentialAction {
                                kind: m.kind.to_string(),
                                fingerprint: m.fingerprint.clone(),
                                redacted: m.redacted.clone(),
                                sent_in_tool_call: false,
                                sessions: Vec::new(),
                                first_seen: None,
                                last_seen: None,
                                evidence: Vec::new(),
                            }
                        });
                        c.sent_in_tool_call |= event.kind == "tool_call";
                        if !c.sessions.contains(&f.session_id) {
                            c.sessions.push(f.session_id.clone());
                        }
                        if let Some(ts) = f.ts {
                            c.first_seen = Some(c.first_seen.map_or(ts, |x| x.min(ts)));
                            c.last_seen = Some(c.last_seen.map_or(ts, |x| x.max(ts)));
                        }
                        if !c.evidence.iter().any(|x| x.finding == e.finding) {
                            c.evidence.push(e.clone());
                        }
                    }
                }
                if event.kind == "tool_call" {
                    pause(f, "passed a credential to a tool".into(), e.clone());
                }
            }
            ACTED_ON => {
                // The action taken on the attacker's words, and the connector that carried them.
                if let Some(tool) = &f.tool_name {
                    add_tool(
                        tool,
                        0,
                        "disable or require human approval",
                        "called with a value planted by an injected tool output".into(),
                        e.clone(),
                    );
                }
                let s = &loaded[f.session_id.as_str()];
                for seq in &f.related {
                    if let Some(src) = s
                        .events
                        .binary_search_by_key(seq, |x| x.seq)
                        .ok()
                        .and_then(|i| s.events[i].tool_name.clone())
                    {
                        add_tool(
                            &src,
                            1,
                            "disable the connector or sanitise its outputs",
                            "its output carried an injection the agent acted on".into(),
                            e.clone(),
                        );
                    }
                }
                pause(f, "acted on an injected instruction".into(), e);
            }
            INJECTED => {
                if let Some(tool) = &f.tool_name {
                    add_tool(
                        tool,
                        2,
                        "review: sanitise outputs or mark them untrusted",
                        "its output carried instructions addressed to the model".into(),
                        e,
                    );
                }
            }
            "tool_outside_allowed_set" => {
                if let Some(tool) = &f.tool_name {
                    add_tool(
                        tool,
                        0,
                        "disable for the agent (outside its allowed set)",
                        "called by an agent not allowed to".into(),
                        e.clone(),
                    );
                }
                pause(f, "called a tool outside its allowed set".into(), e);
            }
            "sensitive_tool_without_approval" => {
                if let Some(tool) = &f.tool_name {
                    add_tool(
                        tool,
                        1,
                        "require human approval",
                        "sensitive tool called without an approval (or after a denial)".into(),
                        e,
                    );
                }
            }
            "host_not_allowlisted" => {
                for ev in &f.evidence {
                    let h = hosts.entry(ev.label.clone()).or_insert_with(|| HostAction {
                        host: ev.label.clone(),
                        tools: Vec::new(),
                        evidence: Vec::new(),
                    });
                    if let Some(t) = &f.tool_name {
                        if !h.tools.contains(t) {
                            h.tools.push(t.clone());
                        }
                    }
                    if !h.evidence.iter().any(|x| x.finding == e.finding) {
                        h.evidence.push(e.clone());
                    }
                }
            }
            _ => {}
        }
    }
    let tools = tools
        .into_iter()
        .map(|(tool, t)| ToolAction {
            tool,
            actions: t.actions.into_iter().map(|(_, a)| a.to_string()).collect(),
            reasons: t.reasons.into_iter().collect(),
            evidence: t.evidence,
        })
        .collect::<Vec<_>>();
    let mut tools = tools;
    // Most urgent first: tools with a `disable` action, then by name.
    tools.sort_by_key(|t| {
        (
            !t.actions.iter().any(|a| a.starts_with("disable")),
            t.tool.clone(),
        )
    });
    Ok(Containment {
        store: store_label.to_string(),
        sessions: sessions.to_vec(),
        findings_considered: findings.len(),
        credentials: creds.into_values().collect(),
        tools,
        hosts: hosts.into_values().collect(),
        agents: agents
            .into_iter()
            .map(|(agent, (reasons, sessions, evidence))| AgentAction {
                agent,
                reasons: reasons.into_iter().collect(),
                sessions: sessions.into_iter().collect(),
                evidence,
            })
            .collect(),
    })
}

impl Containment {
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
            && self.tools.is_empty()
            && self.hosts.is_empty()
            && self.agents.is_empty()
    }

    /// The checklist as Markdown, log content escaped. Summaries are redacted unless `show_secrets`.
    pub fn to_markdown(&self, show_secrets: bool) -> String {
        let red = |s: &str| crate::redact_secrets(s, show_secrets);
        let mut out = String::new();
        let scope = if self.sessions.is_empty() {
            "every session of the store".to_string()
        } else {
            self.sessions
                .iter()
                .map(|s| markdown::code(s))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str("# Containment checklist\n\n");
        out.push_str(&format!(
            "Store {}, {scope}; {} findings considered.\n\n",
            markdown::code(&self.store),
            self.findings_considered
        ));
        let evidence = |out: &mut String, ev: &[EvidenceRef]| {
            for e in ev.iter().take(5) {
                out.push_str(&format!(
                    "  - {} {} at {} seq {}: {}\n    {}\n",
                    e.severity.as_str(),
                    e.detector,
                    markdown::text(&e.session_id),
                    e.seq,
                    markdown::short(&red(&e.summary), 160),
                    markdown::code(&e.open)
                ));
            }
            if ev.len() > 5 {
                out.push_str(&format!("  - and {} more\n", ev.len() - 5));
            }
        };
        out.push_str("## Credentials to rotate\n\n");
        if self.credentials.is_empty() {
            out.push_str("None seen in the logs.\n");
        }
        for c in &self.credentials {
            out.push_str(&format!(
                "- [ ] Rotate {} {} (fingerprint `{}`){}: seen in {} session(s)\n",
                c.kind,
                markdown::text(&c.redacted),
                c.fingerprint,
                if c.sent_in_tool_call {
                    ", **passed to a tool: treat as leaked**"
                } else {
                    ""
                },
                c.sessions.len()
            ));
            evidence(&mut out, &c.evidence);
        }
        out.push_str("\n## Tools and connectors to disable or gate\n\n");
        if self.tools.is_empty() {
            out.push_str("None implicated.\n");
        }
        for t in &self.tools {
            out.push_str(&format!(
                "- [ ] {}: {} ({})\n",
                markdown::code(&t.tool),
                t.actions.join("; "),
                t.reasons
                    .iter()
                    .map(|r| markdown::text(r))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            evidence(&mut out, &t.evidence);
        }
        out.push_str("\n## Hosts to block\n\n");
        if self.hosts.is_empty() {
            out.push_str("None outside the allowlist (or no allowlist configured: `allowed_hosts` in the policy).\n");
        }
        for h in &self.hosts {
            out.push_str(&format!(
                "- [ ] Block {} (called through {})\n",
                markdown::text(&h.host),
                h.tools
                    .iter()
                    .map(|t| markdown::code(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            evidence(&mut out, &h.evidence);
        }
        out.push_str("\n## Agents to pause\n\n");
        if self.agents.is_empty() {
            out.push_str("None (no agent acted on an injection, leaked a credential to a tool or left its allowed set).\n");
        }
        for a in &self.agents {
            out.push_str(&format!(
                "- [ ] Pause {}: {} ({} session(s))\n",
                markdown::code(&a.agent),
                a.reasons.join("; "),
                a.sessions.len()
            ));
            evidence(&mut out, &a.evidence);
        }
        out
    }
}
