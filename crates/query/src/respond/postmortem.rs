//! The post-mortem draft: what the logs say about an incident, arranged the way the write-up is read
//! (summary, root cause, impact, who to notify, detection, timeline, remediation), with the sections
//! only people can write left marked for them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::events::Session;
use crate::finding::{Finding, Severity};
use crate::policy::Policy;
use crate::provenance::{argument_values, ValueKind};
use crate::respond::{effect_of, markdown, shell_quote, timeline_command};
use crate::timeline::{timeline, Around, Timeline};

/// The seed's root-cause categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootCause {
    ExternalAttack,
    ToolMisconfiguration,
    PromptFailure,
    EvalGap,
    ModelRegression,
}

impl RootCause {
    pub fn label(self) -> &'static str {
        match self {
            RootCause::ExternalAttack => "external attack",
            RootCause::ToolMisconfiguration => "tool misconfiguration",
            RootCause::PromptFailure => "prompt failure",
            RootCause::EvalGap => "eval gap",
            RootCause::ModelRegression => "model regression",
        }
    }
}

/// One executed tool call with an effect in the world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionImpact {
    pub session_id: String,
    pub seq: u32,
    pub ts: Option<i64>,
    pub tool: String,
    /// `payment`, `message sent`, `deletion`, `command executed`, `state changed`, `external call`.
    pub effect: &'static str,
    /// Payments, messages, deletions and commands cannot be taken back.
    pub irreversible: bool,
    /// A detector tied it to an injection (the attack acted on) or a user reported it.
    pub harmful: bool,
    /// `executed`, `failed` (the result was an error) or `no result recorded`.
    pub outcome: &'static str,
    pub arguments: String,
    /// Emails and account numbers in the arguments: who received the effect.
    pub recipients: Vec<String>,
}

/// The category judged likely, with the evidence, and what else was considered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCauseAssessment {
    pub likely: RootCause,
    pub evidence: Vec<String>,
    /// Every category with what speaks for it (or why it was not chosen).
    pub considered: Vec<(RootCause, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub agents: Vec<String>,
    pub users: Vec<String>,
    pub models: Vec<String>,
    pub events: usize,
    pub tool_calls: usize,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

/// One remediation step, and the command that carries it out where there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemediationItem {
    pub action: String,
    pub command: Option<String>,
}

/// The draft's content.
#[derive(Debug, Clone, Serialize)]
pub struct Postmortem {
    pub store: String,
    pub tool_version: String,
    pub sessions: Vec<SessionSummary>,
    pub root_cause: RootCauseAssessment,
    pub impact: Vec<ActionImpact>,
    pub affected_users: Vec<String>,
    pub external_recipients: Vec<String>,
    pub findings: Vec<Finding>,
    pub remediation: Vec<RemediationItem>,
    #[serde(skip)]
    timelines: Vec<Timeline>,
}

const INJECTED: &str = "tool_output_instructs_model";
const ACTED_ON: &str = "tool_call_argument_from_injected_output";

fn is_irreversible(effect: &str) -> bool {
    matches!(
        effect,
        "payment" | "message sent" | "deletion" | "command executed"
    )
}

/// Builds the draft from the sessions (already read from the store) and the policy the detectors use.
pub fn postmortem(store_label: &str, sessions: &[Session], policy: &Policy) -> Postmortem {
    let timelines: Vec<Timeline> = sessions
        .iter()
        .map(|s| timeline(s, policy, Around::All, 0, 0))
        .collect();
    let mut findings: Vec<Finding> = timelines.iter().flat_map(|t| t.findings.clone()).collect();
    findings.sort_by(|a, b| {
        (a.ts, &a.session_id, a.seq, &a.detector).cmp(&(b.ts, &b.session_id, b.seq, &b.detector))
    });

    let mut summaries = Vec::new();
    let mut impact = Vec::new();
    let mut users = BTreeSet::new();
    let mut recipients = BTreeSet::new();
    for (session, tl) in sessions.iter().zip(&timelines) {
        let set = |f: fn(&crate::EventRow) -> Option<&String>| -> Vec<String> {
            session
                .events
                .iter()
                .filter_map(f)
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let ts: Vec<i64> = session.events.iter().filter_map(|e| e.ts).collect();
        let summary = SessionSummary {
            session_id: session.id.clone(),
            agents: set(|e| e.agent_id.as_ref()),
            users: set(|e| e.user_id.as_ref()),
            models: set(|e| e.model.as_ref()),
            events: session.events.len(),
            tool_calls: session
                .events
                .iter()
                .filter(|e| e.kind == "tool_call")
                .count(),
            first_ts: ts.iter().min().copied(),
            last_ts: ts.iter().max().copied(),
        };
        users.extend(summary.users.iter().cloned());
        summaries.push(summary);
        let harmful: BTreeSet<u32> = tl
            .findings
            .iter()
            .filter(|f| f.detector == ACTED_ON)
            .map(|f| f.seq)
            .chain(
                tl.findings
                    .iter()
                    .filter(|f| f.detector == "user_reports_wrong_action")
                    .flat_map(|f| f.related.iter().copied()),
            )
            .collect();
        for entry in tl.entries.iter().filter(|e| e.event.kind == "tool_call") {
            let call = &entry.event;
            let Some(effect) = effect_of(call) else {
                continue;
            };
            let result = entry
                .paired_seq
                .and_then(|p| session.events.iter().find(|e| e.seq == p));
            let outcome = match result {
                Some(r) if r.is_error == Some(true) => "failed",
                Some(_) => "executed",
                None => "no result recorded",
            };
            let args = call.args.as_deref().unwrap_or_default().to_string();
            let named: Vec<String> = argument_values(&args)
                .into_iter()
                .filter(|v| matches!(v.kind, ValueKind::Email | ValueKind::Iban))
                .map(|v| v.value)
                .collect();
            let irreversible = is_irreversible(effect);
            if irreversible && outcome != "failed" {
                recipients.extend(named.iter().cloned());
            }
            impact.push(ActionImpact {
                session_id: session.id.clone(),
                seq: call.seq,
                ts: call.ts,
                tool: call.tool_name.clone().unwrap_or_default(),
                effect,
                irreversible,
                harmful: harmful.contains(&call.seq),
                outcome,
                arguments: args,
                recipients: named,
            });
        }
    }
    let root_cause = assess(&findings, &impact, &summaries);
    let remediation = remediation(store_label, &findings, &impact, policy, sessions);
    Postmortem {
        store: store_label.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        sessions: summaries,
        root_cause,
        impact,
        affected_users: users.into_iter().collect(),
        external_recipients: recipients.into_iter().collect(),
        findings,
        remediation,
        timelines,
    }
}

fn assess(
    findings: &[Finding],
    impact: &[ActionImpact],
    sessions: &[SessionSummary],
) -> RootCauseAssessment {
    let of = |names: &[&str]| -> Vec<&Finding> {
        findings
            .iter()
            .filter(|f| names.contains(&f.detector.as_str()))
            .collect()
    };
    let line = |f: &Finding| {
        format!(
            "{} (session {}, seq {}): {}",
            f.detector, f.session_id, f.seq, f.summary
        )
    };
    let attack = of(&[INJECTED, ACTED_ON]);
    let config = of(&[
        "sensitive_tool_without_approval",
        "tool_outside_allowed_set",
        "host_not_allowlisted",
        "tool_error_rate_over_baseline",
        "tool_calls_over_limit",
    ]);
    let prompt = of(&[
        "system_prompt_leak",
        "argument_matches_nothing",
        "user_reports_wrong_action",
    ]);
    let harmful = impact.iter().filter(|a| a.harmful).count();
    let models: BTreeSet<&String> = sessions.iter().flat_map(|s| &s.models).collect();

    let mut considered = Vec::new();
    let say = |v: &[&Finding], none: &str| -> String {
        if v.is_empty() {
            none.to_string()
        } else {
            v.iter()
                .take(4)
                .map(|f| line(f))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    considered.push((
        RootCause::ExternalAttack,
        say(&attack, "no tool output read as instructions to the model"),
    ));
    considered.push((
        RootCause::ToolMisconfiguration,
        say(
            &config,
            "no approval, allowlist, scope or error-rate finding",
        ),
    ));
    considered.push((
        RootCause::PromptFailure,
        say(&prompt, "no leak, invented argument or user report"),
    ));
    considered.push((
        RootCause::EvalGap,
        if harmful > 0 {
            format!("{harmful} harmful action(s) were possible in production: no regression case covered this behaviour")
        } else {
            "no harmful action identified".to_string()
        },
    ));
    considered.push((
        RootCause::ModelRegression,
        format!(
            "not assessable from these sessions alone (model(s): {}); compare flag rates across model versions over the archive",
            if models.is_empty() { "unrecorded".to_string() } else { models.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ") }
        ),
    ));
    let (likely, evidence) = if !attack.is_empty() {
        (
            RootCause::ExternalAttack,
            attack.iter().map(|f| line(f)).collect(),
        )
    } else if !config.is_empty() {
        (
            RootCause::ToolMisconfiguration,
            config.iter().map(|f| line(f)).collect(),
        )
    } else if !prompt.is_empty() {
        (
            RootCause::PromptFailure,
            prompt.iter().map(|f| line(f)).collect(),
        )
    } else {
        (
            RootCause::EvalGap,
            vec!["no detector explains the incident: the behaviour was not covered by any check or eval".to_string()],
        )
    };
    RootCauseAssessment {
        likely,
        evidence,
        considered,
    }
}

fn remediation(
    store: &str,
    findings: &[Finding],
    impact: &[ActionImpact],
    policy: &Policy,
    sessions: &[Session],
) -> Vec<RemediationItem> {
    let item = |action: String, command: Option<String>| RemediationItem { action, command };
    let mut out = Vec::new();
    for a in impact.iter().filter(|a| a.harmful) {
        out.push(item(
            format!(
                "Add a regression eval case for the harmful call {} at seq {}",
                a.tool, a.seq
            ),
            Some(format!(
                "tracehound eval-case --store {} --session {} --seq {} --format promptfoo",
                shell_quote(store),
                shell_quote(&a.session_id),
                a.seq
            )),
        ));
    }
    let mut gated = BTreeSet::new();
    for a in impact
        .iter()
        .filter(|a| a.irreversible && a.outcome != "failed")
    {
        if !policy.sensitive_tools.iter().any(|t| t == &a.tool) && gated.insert(a.tool.clone()) {
            out.push(item(
                format!(
                    "Require human approval for {} ({}): add it to sensitive_tools in the policy and to the agent's approval gate",
                    a.tool, a.effect
                ),
                None,
            ));
        }
    }
    let carriers: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.detector == INJECTED)
        .filter_map(|f| f.tool_name.clone())
        .collect();
    for t in carriers {
        out.push(item(
            format!("Treat the output of {t} as untrusted data: sanitise it or keep it out of the instruction context"),
            None,
        ));
    }
    let ids: Vec<String> = sessions.iter().map(|s| shell_quote(&s.id)).collect();
    let contain = format!(
        "tracehound contain --store {} --sessions {}",
        shell_quote(store),
        ids.join(" ")
    );
    if findings
        .iter()
        .any(|f| f.detector == "host_not_allowlisted")
    {
        out.push(item(
            "Review allowed_hosts and block the hosts the containment checklist lists".into(),
            Some(contain.clone()),
        ));
    }
    if findings.iter().any(|f| f.detector == "secret_exposed") {
        out.push(item(
            "Rotate the credentials the containment checklist lists".into(),
            Some(contain),
        ));
    }
    out.push(item(
        "Preserve the evidence".into(),
        Some(format!(
            "tracehound preserve --store {} --sessions {} --to evidence/CASE-ID",
            shell_quote(store),
            ids.join(" ")
        )),
    ));
    out
}

use crate::time::format_utc_seconds as fmt_ts;

impl Postmortem {
    /// The draft as Markdown. Log content is escaped and, unless `show_secrets`, redacted.
    pub fn to_markdown(&self, show_secrets: bool) -> String {
        let red = |s: &str| crate::redact_secrets(s, show_secrets);
        let t = |s: &str| markdown::text(&red(s));
        let short = |s: &str, n: usize| markdown::short(&red(s), n);
        let mut o = String::new();
        let ids: Vec<String> = self
            .sessions
            .iter()
            .map(|s| markdown::code(&s.session_id))
            .collect();
        o.push_str("# Post-mortem (draft): _title to fill_\n\n");
        o.push_str(&format!(
            "> Drafted by tracehound {} from store {}, session(s) {}. Sections marked _to fill_ are for the \
             incident team; everything else is derived from the logs. Log content is escaped{}.\n\n",
            self.tool_version,
            markdown::code(&self.store),
            ids.join(", "),
            if show_secrets { "" } else { " and credentials are redacted" }
        ));

        // Summary.
        let first = self.sessions.iter().filter_map(|s| s.first_ts).min();
        let last = self.sessions.iter().filter_map(|s| s.last_ts).max();
        let executed = self.impact.iter().filter(|a| a.outcome != "failed").count();
        let irreversible = self
            .impact
            .iter()
            .filter(|a| a.irreversible && a.outcome != "failed")
            .count();
        let harmful = self.impact.iter().filter(|a| a.harmful).count();
        let mut by_sev: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
        for f in &self.findings {
            *by_sev.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
        }
        let sev: Vec<String> = by_sev
            .iter()
            .map(|(s, n)| format!("{n} {}", s.0.as_str()))
            .collect();
        o.push_str(
            "## Summary\n\n_To fill: what happened, in two sentences a customer could read._\n\n",
        );
        o.push_str(&format!(
            "From the logs: {} session(s) between {} and {} UTC; {} action(s) with an effect executed, {} of them \
             irreversible, {} tied to the incident; detectors raised {} finding(s){}.\n\n",
            self.sessions.len(),
            fmt_ts(first),
            fmt_ts(last),
            executed,
            irreversible,
            harmful,
            self.findings.len(),
            if sev.is_empty() { String::new() } else { format!(" ({})", sev.join(", ")) }
        ));

        // Root cause.
        o.push_str("## Root cause\n\n");
        o.push_str(&format!(
            "Likely category: **{}**.\n\nEvidence:\n\n",
            self.root_cause.likely.label()
        ));
        for e in &self.root_cause.evidence {
            o.push_str(&format!("- {}\n", short(e, 300)));
        }
        o.push_str("\nCategories considered:\n\n");
        for (c, why) in &self.root_cause.considered {
            let mark = if *c == self.root_cause.likely {
                " (chosen)"
            } else {
                ""
            };
            o.push_str(&format!("- {}{mark}: {}\n", c.label(), short(why, 400)));
        }
        o.push_str(
            "\n_To fill: confirm or correct the category, and the contributing factors._\n\n",
        );

        // Impact.
        o.push_str("## Impact\n\n");
        if self.impact.is_empty() {
            o.push_str("No tool call with an effect in the world was recorded.\n\n");
        } else {
            o.push_str("| Session | Seq | Time (UTC) | Tool | Effect | Irreversible | Outcome | Tied to incident | Arguments |\n");
            o.push_str("|---|---|---|---|---|---|---|---|---|\n");
            for a in &self.impact {
                o.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    markdown::text(&a.session_id),
                    a.seq,
                    fmt_ts(a.ts),
                    markdown::text(&a.tool),
                    a.effect,
                    if a.irreversible { "yes" } else { "no" },
                    a.outcome,
                    if a.harmful { "**yes**" } else { "" },
                    short(&a.arguments, 120)
                ));
            }
            o.push('\n');
        }

        // Who to notify.
        o.push_str("## Affected users (who to notify)\n\n");
        if self.affected_users.is_empty() {
            o.push_str("- Users of the sessions: none recorded (the logs carry no user id)\n");
        } else {
            let u: Vec<String> = self
                .affected_users
                .iter()
                .map(|u| markdown::code(&red(u)))
                .collect();
            o.push_str(&format!("- Users of the sessions: {}\n", u.join(", ")));
        }
        if !self.external_recipients.is_empty() {
            let r: Vec<String> = self
                .external_recipients
                .iter()
                .map(|u| markdown::code(&red(u)))
                .collect();
            o.push_str(&format!(
                "- People and accounts named in executed irreversible actions (addresses written to, accounts paid): {}\n",
                r.join(", ")
            ));
        }
        o.push_str("\n_To fill: who notifies whom, by when, and under which obligation._\n\n");

        // Detection.
        o.push_str("## Detection\n\n");
        if self.findings.is_empty() {
            o.push_str("No detector raised a finding on these sessions: how was the incident noticed? _To fill._\n\n");
        } else {
            o.push_str("What the detectors caught, at the time of the event each concerns:\n\n");
            o.push_str("| Time (UTC) | Severity | Detector | Session | Seq | Summary |\n|---|---|---|---|---|---|\n");
            for f in &self.findings {
                o.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    fmt_ts(f.ts),
                    f.severity.as_str(),
                    f.detector,
                    markdown::text(&f.session_id),
                    f.seq,
                    short(&f.summary, 200)
                ));
            }
            o.push_str("\n_To fill: when the incident was noticed, by whom or what, and how long after the first finding._\n\n");
        }

        // Timeline.
        o.push_str("## Timeline\n\nMarkers: **TRIGGER** a tool output that instructs the model; **HARMFUL** an action tied to the incident; \
                    **irreversible** an executed payment, message, deletion or command. Quiet stretches are folded.\n\n");
        for (s, tl) in self.sessions.iter().zip(&self.timelines) {
            o.push_str(&format!(
                "### Session {}\n\nAgent(s) {}, user(s) {}, model(s) {}; {} events, {} tool calls.\n\nOpen it: {}\n\n",
                markdown::code(&s.session_id),
                list(&s.agents),
                list(&s.users.iter().map(|u| red(u)).collect::<Vec<_>>()),
                list(&s.models),
                s.events,
                s.tool_calls,
                markdown::code(&timeline_command(&self.store, &s.session_id, 0).replace(" --around 0", ""))
            ));
            o.push_str("| Seq | Time (UTC) | Event | Tool | Marker | Excerpt |\n|---|---|---|---|---|---|\n");
            let triggers: BTreeSet<u32> = tl
                .findings
                .iter()
                .filter(|f| f.detector == INJECTED)
                .map(|f| f.seq)
                .collect();
            let harmful: BTreeSet<u32> = self
                .impact
                .iter()
                .filter(|a| a.session_id == s.session_id && a.harmful)
                .map(|a| a.seq)
                .collect();
            let irrev: BTreeSet<u32> = self
                .impact
                .iter()
                .filter(|a| a.session_id == s.session_id && a.irreversible && a.outcome != "failed")
                .map(|a| a.seq)
                .collect();
            let notable = |e: &crate::Entry| {
                let q = e.event.seq;
                triggers.contains(&q)
                    || harmful.contains(&q)
                    || irrev.contains(&q)
                    || !e.findings.is_empty()
                    || matches!(
                        e.event.kind.as_str(),
                        "system_prompt" | "user_message" | "feedback" | "approval"
                    )
            };
            let keep: Vec<bool> = (0..tl.entries.len())
                .map(|i| {
                    tl.entries.len() <= 40
                        || (i.saturating_sub(1)..=(i + 1).min(tl.entries.len() - 1))
                            .any(|j| notable(&tl.entries[j]))
                })
                .collect();
            let mut folded = 0;
            for (e, k) in tl.entries.iter().zip(&keep) {
                if !k {
                    folded += 1;
                    continue;
                }
                if folded > 0 {
                    o.push_str(&format!("| | | _{folded} events folded_ | | | |\n"));
                    folded = 0;
                }
                let q = e.event.seq;
                let mut marks = Vec::new();
                if triggers.contains(&q) {
                    marks.push("**TRIGGER**");
                }
                if harmful.contains(&q) {
                    marks.push("**HARMFUL**");
                }
                if irrev.contains(&q) {
                    marks.push("irreversible");
                }
                let body = match e.event.kind.as_str() {
                    "tool_call" => e.event.args.as_deref().unwrap_or(""),
                    _ => e.event.content.as_deref().unwrap_or(""),
                };
                o.push_str(&format!(
                    "| {q} | {} | {}{} | {} | {} | {} |\n",
                    fmt_ts(e.event.ts),
                    if e.depth > 0 { "↳ " } else { "" },
                    markdown::text(&e.event.kind),
                    e.event
                        .tool_name
                        .as_deref()
                        .map(markdown::text)
                        .unwrap_or_default(),
                    marks.join(" "),
                    short(body, 140)
                ));
            }
            if folded > 0 {
                o.push_str(&format!("| | | _{folded} events folded_ | | | |\n"));
            }
            o.push('\n');
        }

        // Remediation.
        o.push_str("## Remediation\n\n");
        for r in &self.remediation {
            match &r.command {
                Some(c) => o.push_str(&format!("- [ ] {}: {}\n", t(&r.action), markdown::code(c))),
                None => o.push_str(&format!("- [ ] {}\n", t(&r.action))),
            }
        }
        o.push_str("\n## What went well, what went wrong\n\n_To fill._\n\n");
        o.push_str("## Action items\n\n| Item | Owner | Due |\n|---|---|---|\n| _to fill_ | | |\n");
        o
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "unrecorded".into()
    } else {
        items
            .iter()
            .map(|s| markdown::code(s))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
