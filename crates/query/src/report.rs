//! The nightly anomaly report: what went wrong in a window, arranged for the person who reads it first
//! thing. One [`Report`] (data, for JSON) rendered as Markdown or as one self-contained HTML file: no
//! script, no network, inline CSS and SVG charts, every byte of log content escaped.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::finding::{Finding, Severity};
use crate::hunt::{campaigns, Campaign};
use crate::respond::{markdown, timeline_command};
use crate::scan::ScanResult;
use crate::stats::{archive_stats, findings_by_detector, ChangePoint};

/// Detectors whose findings are threshold breaches (counts, rates, spend, hosts).
const THRESHOLDS: &[&str] = &[
    "tool_calls_over_limit",
    "host_not_allowlisted",
    "tool_error_rate_over_baseline",
    "spend_over_expected",
    "tokens_over_usual",
];

/// A session ranked for attention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRank {
    pub session_id: String,
    pub max_severity: Severity,
    pub findings: u64,
    /// An injection was acted on in it.
    pub acted_on: bool,
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub first_ts: Option<i64>,
    /// Where to start reading: its most severe finding.
    pub seq: u32,
    pub summary: String,
    pub open: String,
}

/// Findings and spend in one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeBucket {
    pub start: i64,
    pub findings: u64,
    pub findings_high: u64,
    pub spend_usd: f64,
    pub sessions: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub store: String,
    pub tool_version: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub sessions: u64,
    pub events: u64,
    pub findings_total: u64,
    pub by_severity: BTreeMap<String, u64>,
    pub by_detector: Vec<(String, Severity, u64)>,
    pub sessions_first: Vec<SessionRank>,
    pub thresholds: Vec<Finding>,
    pub campaigns: Vec<Campaign>,
    pub change_points: Vec<ChangePoint>,
    /// Bucket width in seconds (an hour when the window is short, else a day).
    pub bucket_seconds: i64,
    pub timeline: Vec<TimeBucket>,
    pub findings: Vec<Finding>,
    /// Findings left out of `findings` (the report lists at most [`MAX_LISTED`]).
    pub findings_not_listed: u64,
}

/// Findings listed one by one; the rest are counted (the JSON of `scan` has them all).
pub const MAX_LISTED: usize = 500;
/// Sessions in "needs a human first".
pub const MAX_SESSIONS: usize = 25;

fn in_window(ts: Option<i64>, since: Option<i64>, until: Option<i64>) -> bool {
    if since.is_none() && until.is_none() {
        return true;
    }
    ts.is_some_and(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u))
}

/// Builds the report from a scan of the whole store (baselines need it), restricted to the window.
///
/// Takes the scan by value: on a large archive its findings are most of the memory, and the report
/// keeps the window's without copying them.
pub fn build_report(
    store_label: &str,
    scan: ScanResult,
    since: Option<i64>,
    until: Option<i64>,
) -> Report {
    let all_stats = scan.session_stats;
    let owned: Vec<Finding> = scan
        .findings
        .into_iter()
        .filter(|f| in_window(f.ts, since, until))
        .collect();
    let payloads: Vec<_> = scan
        .payloads
        .into_iter()
        .filter(|p| in_window(p.ts, since, until))
        .collect();
    let findings: Vec<&Finding> = owned.iter().collect();
    let sessions: Vec<_> = all_stats
        .iter()
        .filter(|s| in_window(s.first_ts, since, until))
        .collect();
    let mut by_severity = BTreeMap::new();
    for f in &findings {
        *by_severity
            .entry(f.severity.as_str().to_string())
            .or_insert(0) += 1;
    }

    // Sessions first: acted-on injections, then severity, then number of findings.
    let mut per: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &findings {
        per.entry(f.session_id.as_str()).or_default().push(f);
    }
    let stats_of: BTreeMap<&str, _> = all_stats
        .iter()
        .map(|s| (s.session_id.as_str(), s))
        .collect();
    let mut ranked: Vec<SessionRank> = per
        .into_iter()
        .map(|(id, fs)| {
            let top = fs
                .iter()
                .max_by_key(|f| (f.severity, std::cmp::Reverse(f.seq)))
                .expect("non-empty");
            let st = stats_of.get(id);
            SessionRank {
                session_id: id.to_string(),
                max_severity: top.severity,
                findings: fs.len() as u64,
                acted_on: fs
                    .iter()
                    .any(|f| f.detector == "tool_call_argument_from_injected_output"),
                agent_id: st.and_then(|s| s.agent_id.clone()),
                user_id: st.and_then(|s| s.user_id.clone()),
                first_ts: st.and_then(|s| s.first_ts),
                seq: top.seq,
                summary: top.summary.clone(),
                open: timeline_command(store_label, id, top.seq),
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.acted_on),
            std::cmp::Reverse(a.max_severity),
            std::cmp::Reverse(a.findings),
            &a.session_id,
        )
            .cmp(&(
                std::cmp::Reverse(b.acted_on),
                std::cmp::Reverse(b.max_severity),
                std::cmp::Reverse(b.findings),
                &b.session_id,
            ))
    });
    ranked.truncate(MAX_SESSIONS);

    // Time buckets over the findings and sessions in the window.
    let times: Vec<i64> = findings
        .iter()
        .filter_map(|f| f.ts)
        .chain(sessions.iter().filter_map(|s| s.first_ts))
        .collect();
    let (lo, hi) = (times.iter().min().copied(), times.iter().max().copied());
    let bucket_seconds = match (lo, hi) {
        (Some(l), Some(h)) if h - l <= 3 * 86_400 * 1_000_000 => 3600,
        _ => 86_400,
    };
    let width = bucket_seconds * 1_000_000;
    let mut buckets: BTreeMap<i64, TimeBucket> = BTreeMap::new();
    fn bucket(buckets: &mut BTreeMap<i64, TimeBucket>, width: i64, t: i64) -> &mut TimeBucket {
        let start = t.div_euclid(width) * width;
        buckets.entry(start).or_insert(TimeBucket {
            start,
            findings: 0,
            findings_high: 0,
            spend_usd: 0.0,
            sessions: 0,
        })
    }
    for f in &findings {
        if let Some(t) = f.ts {
            let b = bucket(&mut buckets, width, t);
            b.findings += 1;
            b.findings_high += u64::from(f.severity >= Severity::High);
        }
    }
    for s in &sessions {
        if let Some(t) = s.first_ts {
            let b = bucket(&mut buckets, width, t);
            b.sessions += 1;
            b.spend_usd += s.spend;
        }
    }
    // Empty buckets between the first and last are drawn too: a quiet hour is information.
    if let (Some(first), Some(last)) = (
        buckets.keys().next().copied(),
        buckets.keys().last().copied(),
    ) {
        let mut t = first;
        while t <= last && buckets.len() < 2000 {
            bucket(&mut buckets, width, t);
            t += width;
        }
    }

    let mut listed: Vec<&Finding> = findings.clone();
    listed.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.session_id, a.seq).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.session_id,
            b.seq,
        ))
    });
    let not_listed = listed.len().saturating_sub(MAX_LISTED) as u64;
    let listed: Vec<Finding> = listed.into_iter().take(MAX_LISTED).cloned().collect();
    let thresholds: Vec<Finding> = findings
        .iter()
        .filter(|f| THRESHOLDS.contains(&f.detector.as_str()))
        .take(200)
        .map(|f| (*f).clone())
        .collect();
    let window_sessions: Vec<_> = sessions.iter().map(|s| (*s).clone()).collect();
    let session_count = window_sessions.len() as u64;
    let findings_total = owned.len() as u64;
    let by_detector = findings_by_detector(&owned);
    drop(findings);
    let window_scan = ScanResult {
        findings: owned,
        sessions: session_count,
        events: scan.events,
        sessions_affected: 0,
        counts: BTreeMap::new(),
        first_ts: None,
        last_ts: None,
        input_bytes: scan.input_bytes,
        elapsed: scan.elapsed,
        session_stats: window_sessions,
        payloads,
    };
    let (campaign_list, _) = campaigns(&window_scan, 2);
    let stats = archive_stats(&window_scan);
    Report {
        store: store_label.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        since,
        until,
        sessions: session_count,
        events: scan.events,
        findings_total,
        by_severity,
        by_detector,
        sessions_first: ranked,
        thresholds,
        campaigns: campaign_list.into_iter().take(20).collect(),
        change_points: stats.change_points,
        bucket_seconds,
        timeline: buckets.into_values().collect(),
        findings: listed,
        findings_not_listed: not_listed,
    }
}

/// Every character that could start markup, as an entity. Applied to every string from a log.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls, and bidi or invisible characters that would reorder or hide text on the page.
            c if crate::is_deceptive_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

use crate::time::format_utc_seconds as ts;

/// A bar chart as inline SVG: one bar per bucket, the value's share of the largest.
fn svg_bars(title: &str, values: &[(i64, f64)], unit: &str) -> String {
    let max = values.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let (w, h) = (720.0, 140.0);
    let n = values.len().max(1) as f64;
    let bw = (w / n).max(1.0);
    let mut bars = String::new();
    for (i, (t, v)) in values.iter().enumerate() {
        let bh = if max > 0.0 { v / max * (h - 20.0) } else { 0.0 };
        bars.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} {}: {}</title></rect>",
            i as f64 * bw,
            h - bh,
            (bw - 1.0).max(0.5),
            bh,
            html_escape(&ts(Some(*t))),
            html_escape(unit),
            if unit == "USD" { format!("{v:.2}") } else { format!("{v:.0}") }
        ));
    }
    format!(
        "<figure><figcaption>{} (max {})</figcaption><svg role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\">{bars}</svg><div class=\"axis\"><span>{}</span><span>{}</span></div></figure>",
        html_escape(title),
        if unit == "USD" { format!("{max:.2} {unit}") } else { format!("{max:.0} {unit}") },
        html_escape(&ts(values.first().map(|v| v.0))),
        html_escape(&ts(values.last().map(|v| v.0))),
    )
}

impl Report {
    fn window(&self) -> String {
        match (self.since, self.until) {
            (None, None) => "the whole store".into(),
            (s, u) => format!("{} to {} UTC", ts(s), ts(u)),
        }
    }

    /// The report as one self-contained HTML page. `redact` is applied to log text before escaping.
    pub fn to_html(&self, redact: &dyn Fn(&str) -> String) -> String {
        let e = |s: &str| html_escape(&redact(s));
        let mut o = String::new();
        o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        // Nothing may load or run, whatever a log managed to put in the page.
        o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
        o.push_str(&format!(
            "<title>tracehound report: {}</title>",
            e(&self.store)
        ));
        o.push_str("<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1a1a1a}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}code,pre{font:12px ui-monospace,monospace;background:#f6f6f6;white-space:pre-wrap;word-break:break-all}.critical{color:#fff;background:#8b0000}.high{background:#f4b183}.medium{background:#ffe699}.low,.info{background:#e2efda}svg rect{fill:#4472c4}figure{margin:0 0 1em}.axis{display:flex;justify-content:space-between;font-size:11px;color:#666;max-width:720px}.num{text-align:right}</style></head><body>\n");
        o.push_str(&format!(
            "<h1>Anomaly report</h1><p>Store <code>{}</code>, {}; {} sessions, {} findings. tracehound {}.</p>\n",
            e(&self.store),
            html_escape(&self.window()),
            self.sessions,
            self.findings_total,
            html_escape(&self.tool_version)
        ));
        o.push_str("<h2>Findings by severity and detector</h2><table><tr><th>Severity</th><th>Detector</th><th class=\"num\">Findings</th></tr>");
        for (d, s, n) in &self.by_detector {
            o.push_str(&format!(
                "<tr><td class=\"{0}\">{0}</td><td>{1}</td><td class=\"num\">{2}</td></tr>",
                s.as_str(),
                html_escape(d),
                n
            ));
        }
        o.push_str("</table>\n<h2>Sessions that need a human first</h2>");
        if self.sessions_first.is_empty() {
            o.push_str("<p>None: no finding in the window.</p>");
        } else {
            o.push_str("<table><tr><th>Session</th><th>Worst</th><th class=\"num\">Findings</th><th>Injection acted on</th><th>Agent</th><th>User</th><th>Why</th><th>Open it</th></tr>");
            for r in &self.sessions_first {
                o.push_str(&format!(
                    "<tr><td><code>{}</code></td><td class=\"{1}\">{1}</td><td class=\"num\">{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td><td><code>{7}</code></td></tr>",
                    e(&r.session_id),
                    r.max_severity.as_str(),
                    r.findings,
                    if r.acted_on { "yes" } else { "" },
                    e(r.agent_id.as_deref().unwrap_or("-")),
                    e(r.user_id.as_deref().unwrap_or("-")),
                    e(&r.summary),
                    e(&r.open)
                ));
            }
            o.push_str("</table>");
        }
        o.push_str("\n<h2>Threshold breaches</h2>");
        if self.thresholds.is_empty() {
            o.push_str("<p>None: tool-call counts, hosts, error rates, spend and tokens within the policy.</p>");
        } else {
            o.push_str("<table><tr><th>Detector</th><th>Session</th><th>Time (UTC)</th><th>Summary</th></tr>");
            for f in &self.thresholds {
                o.push_str(&format!(
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    html_escape(&f.detector),
                    e(&f.session_id),
                    ts(f.ts),
                    e(&f.summary)
                ));
            }
            o.push_str("</table>");
        }
        o.push_str("\n<h2>Campaigns</h2>");
        if self.campaigns.is_empty() {
            o.push_str("<p>None: no injected payload was seen in more than one session.</p>");
        } else {
            o.push_str("<table><tr><th>Campaign</th><th class=\"num\">Sessions</th><th class=\"num\">Acted on</th><th>First seen</th><th>Last seen</th><th>Carriers</th><th>Payload</th></tr>");
            for c in &self.campaigns {
                o.push_str(&format!(
                    "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                    html_escape(&c.id),
                    c.sessions.len(),
                    c.acted_on_sessions,
                    ts(c.first_seen),
                    ts(c.last_seen),
                    e(&c.carriers.join(", ")),
                    e(&c.excerpt)
                ));
            }
            o.push_str("</table>");
        }
        o.push_str("\n<h2>Over time</h2>");
        let unit = if self.bucket_seconds == 3600 {
            "per hour"
        } else {
            "per day"
        };
        let flags: Vec<(i64, f64)> = self
            .timeline
            .iter()
            .map(|b| (b.start, b.findings as f64))
            .collect();
        let spend: Vec<(i64, f64)> = self
            .timeline
            .iter()
            .map(|b| (b.start, b.spend_usd))
            .collect();
        o.push_str(&svg_bars(&format!("Findings {unit}"), &flags, "findings"));
        o.push_str(&svg_bars(&format!("Spend {unit}"), &spend, "USD"));
        o.push_str("\n<h2>Model changes</h2>");
        if self.change_points.is_empty() {
            o.push_str("<p>No agent changed model in the window.</p>");
        } else {
            o.push_str("<table><tr><th>Agent</th><th>From</th><th>To</th><th>At</th><th>Flag rate before</th><th>After</th><th>Moved</th></tr>");
            for c in &self.change_points {
                o.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.1}% of {}</td><td class=\"num\">{:.1}% of {}</td><td>{}</td></tr>",
                    e(&c.agent),
                    e(&c.from_model),
                    e(&c.to_model),
                    ts(c.at),
                    c.flag_rate_before * 100.0,
                    c.sessions_before,
                    c.flag_rate_after * 100.0,
                    c.sessions_after,
                    if c.moved { "yes" } else { "" }
                ));
            }
            o.push_str("</table>");
        }
        o.push_str(&format!(
            "\n<h2>Findings ({} listed{})</h2>",
            self.findings.len(),
            if self.findings_not_listed > 0 {
                format!(", {} more in `tracehound scan`", self.findings_not_listed)
            } else {
                String::new()
            }
        ));
        o.push_str("<table><tr><th>Severity</th><th>Detector</th><th>Session</th><th>Seq</th><th>Time (UTC)</th><th>Summary</th><th>Open it</th></tr>");
        for f in &self.findings {
            o.push_str(&format!(
                "<tr><td class=\"{0}\">{0}</td><td>{1}</td><td><code>{2}</code></td><td class=\"num\">{3}</td><td>{4}</td><td>{5}</td><td><code>{6}</code></td></tr>",
                f.severity.as_str(),
                html_escape(&f.detector),
                e(&f.session_id),
                f.seq,
                ts(f.ts),
                e(&f.summary),
                e(&timeline_command(&self.store, &f.session_id, f.seq))
            ));
        }
        o.push_str("</table>\n</body></html>\n");
        o
    }

    /// The report as Markdown, log content escaped.
    pub fn to_markdown(&self, redact: &dyn Fn(&str) -> String) -> String {
        let t = |s: &str| markdown::text(&redact(s));
        let c = |s: &str| markdown::code(&redact(s));
        let mut o = String::new();
        o.push_str(&format!(
            "# Anomaly report\n\nStore {}, {}; {} sessions, {} findings. tracehound {}.\n\n",
            c(&self.store),
            self.window(),
            self.sessions,
            self.findings_total,
            self.tool_version
        ));
        o.push_str("## Findings by severity and detector\n\n| Severity | Detector | Findings |\n|---|---|---|\n");
        for (d, s, n) in &self.by_detector {
            o.push_str(&format!("| {} | {} | {n} |\n", s.as_str(), t(d)));
        }
        o.push_str("\n## Sessions that need a human first\n\n");
        for r in &self.sessions_first {
            o.push_str(&format!(
                "- {} {} ({} findings{}): {}\n  {}\n",
                r.max_severity.as_str(),
                c(&r.session_id),
                r.findings,
                if r.acted_on {
                    ", injection acted on"
                } else {
                    ""
                },
                markdown::short(&redact(&r.summary), 200),
                c(&r.open)
            ));
        }
        if self.sessions_first.is_empty() {
            o.push_str("None.\n");
        }
        o.push_str("\n## Threshold breaches\n\n");
        for f in &self.thresholds {
            o.push_str(&format!(
                "- {} {} at {}: {}\n",
                t(&f.detector),
                c(&f.session_id),
                ts(f.ts),
                markdown::short(&redact(&f.summary), 200)
            ));
        }
        if self.thresholds.is_empty() {
            o.push_str("None.\n");
        }
        o.push_str("\n## Campaigns\n\n");
        for k in &self.campaigns {
            o.push_str(&format!(
                "- {}: {} sessions, acted on in {}, {} to {}, carried by {}: {}\n",
                c(&k.id),
                k.sessions.len(),
                k.acted_on_sessions,
                ts(k.first_seen),
                ts(k.last_seen),
                t(&k.carriers.join(", ")),
                markdown::short(&redact(&k.excerpt), 200)
            ));
        }
        if self.campaigns.is_empty() {
            o.push_str("None.\n");
        }
        o.push_str("\n## Over time\n\n| Bucket (UTC) | Findings | High or critical | Sessions | Spend (USD) |\n|---|---|---|---|---|\n");
        for b in &self.timeline {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {:.2} |\n",
                ts(Some(b.start)),
                b.findings,
                b.findings_high,
                b.sessions,
                b.spend_usd
            ));
        }
        o.push_str("\n## Model changes\n\n");
        for k in &self.change_points {
            o.push_str(&format!(
                "- {} {} to {} at {}: flag rate {:.1}% to {:.1}%{}\n",
                t(&k.agent),
                t(&k.from_model),
                t(&k.to_model),
                ts(k.at),
                k.flag_rate_before * 100.0,
                k.flag_rate_after * 100.0,
                if k.moved { " (moved)" } else { "" }
            ));
        }
        if self.change_points.is_empty() {
            o.push_str("None.\n");
        }
        o.push_str("\n## Findings\n\n");
        for f in &self.findings {
            o.push_str(&format!(
                "- {} {} {} seq {}: {}\n  {}\n",
                f.severity.as_str(),
                t(&f.detector),
                c(&f.session_id),
                f.seq,
                markdown::short(&redact(&f.summary), 200),
                c(&timeline_command(&self.store, &f.session_id, f.seq))
            ));
        }
        if self.findings_not_listed > 0 {
            o.push_str(&format!(
                "\nAnd {} more: `tracehound scan` lists them all.\n",
                self.findings_not_listed
            ));
        }
        o
    }
}
