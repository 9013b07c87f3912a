use std::io::Write;

use anyhow::Context;
use tracehound_query::{timeline, Around, Store};

use super::ExitStatus;
use crate::args::{ListFormat, TimelineArgs};
use crate::output::{csv_row, fmt_ts, one_line, parse_time, redact, redact_json, terminal_safe};

pub(crate) fn run(args: TimelineArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let session = super::sessions(&store, &args.store, std::slice::from_ref(&args.session))?
        .pop()
        .expect("one session");
    let around = match args.around.as_deref() {
        None => Around::All,
        Some(a) => match a.parse::<u32>() {
            Ok(seq) => Around::Seq(seq),
            Err(_) => Around::Time(parse_time(a).with_context(|| {
                format!("--around `{a}` is neither a seq nor an RFC 3339 time")
            })?),
        },
    };
    let tl = timeline(&session, &policy, around, args.before, args.after);
    let mut out = std::io::stdout().lock();
    let show = args.show_secrets;
    match args.format {
        ListFormat::Json => {
            let v = redact_json(serde_json::to_value(&tl)?, show);
            crate::output::json_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        ListFormat::Jsonl => {
            for e in &tl.entries {
                crate::output::json_line(&mut out, &redact_json(serde_json::to_value(e)?, show))?;
                writeln!(out)?;
            }
        }
        ListFormat::Csv => {
            writeln!(out, "seq,ts,kind,tool_name,call_id,paired_seq,latency_ms,args,content,findings,source_file,source_line,source_pointer")?;
            for e in &tl.entries {
                let ev = &e.event;
                let cells = [
                    ev.seq.to_string(),
                    fmt_ts(ev.ts),
                    ev.kind.clone(),
                    ev.tool_name.clone().unwrap_or_default(),
                    ev.call_id.clone().unwrap_or_default(),
                    e.paired_seq.map(|s| s.to_string()).unwrap_or_default(),
                    e.latency_ms.map(|l| format!("{l:.1}")).unwrap_or_default(),
                    redact(ev.args.as_deref().unwrap_or(""), show),
                    redact(ev.content.as_deref().unwrap_or(""), show),
                    e.findings.join(" "),
                    ev.source_file.clone(),
                    ev.source_line.map(|l| l.to_string()).unwrap_or_default(),
                    ev.source_pointer.clone(),
                ];
                writeln!(out, "{}", csv_row(&cells))?;
            }
        }
        ListFormat::Table => {
            writeln!(
                out,
                "session {} ({} events, showing {})",
                terminal_safe(&tl.session_id),
                tl.total_events,
                tl.entries.len()
            )?;
            let findings: std::collections::HashMap<&str, &tracehound_query::Finding> =
                tl.findings.iter().map(|f| (f.id.as_str(), f)).collect();
            for e in &tl.entries {
                let ev = &e.event;
                let indent = "  ".repeat(e.depth as usize);
                let (detail, field_max) = match ev.kind.as_str() {
                    "tool_call" => (
                        format!(
                            "{} {}",
                            ev.tool_name.as_deref().unwrap_or("?"),
                            ev.args.as_deref().unwrap_or("")
                        ),
                        110,
                    ),
                    "tool_result" => (
                        format!(
                            "{} → {}",
                            ev.tool_name.as_deref().unwrap_or(""),
                            ev.content.as_deref().unwrap_or("")
                        ),
                        110,
                    ),
                    _ => (ev.content.as_deref().unwrap_or_default().to_string(), 110),
                };
                let pair = match (ev.kind.as_str(), e.paired_seq, e.latency_ms) {
                    ("tool_call", Some(s), _) => format!("  [result: seq {s}]"),
                    ("tool_result", Some(s), Some(l)) => format!("  [call: seq {s}, {l:.0} ms]"),
                    ("tool_result", Some(s), None) => format!("  [call: seq {s}]"),
                    ("tool_call", None, _) => "  [no result]".to_string(),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{indent}{:>5}  {}  {:<17}  {}{pair}",
                    ev.seq,
                    fmt_ts(ev.ts),
                    ev.kind,
                    one_line(&detail, field_max, show)
                )?;
                for p in &e.provenance {
                    let from = match &p.origin {
                        Some(o) => format!("{} seq {}", o.kind, o.seq),
                        None => "nowhere in the conversation".to_string(),
                    };
                    writeln!(
                        out,
                        "{indent}         arg {} = {} ← {from}",
                        terminal_safe(&p.value.pointer),
                        one_line(&p.value.value, 60, show)
                    )?;
                }
                for id in &e.findings {
                    if let Some(f) = findings.get(id.as_str()) {
                        writeln!(
                            out,
                            "{indent}         ! {} [{}] {}",
                            f.detector,
                            crate::ui::ui().severity(
                                f.severity.as_str(),
                                0,
                                crate::ui::Stream::Stdout
                            ),
                            one_line(&f.summary, 140, show)
                        )?;
                    }
                }
            }
        }
    }
    Ok(ExitStatus::Clean)
}
