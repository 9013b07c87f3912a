use std::io::Write;

use anyhow::Context;
use tracehound_query::{CountBy, SearchBuilder, Store};

use super::ExitStatus;
use crate::args::{ListFormat, SearchArgs};
use crate::output::redact_json;
use crate::output::{csv_cell, csv_row, fmt_ts, one_line, terminal_safe};

pub(crate) fn run(args: SearchArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let count_by = args.count_by.as_deref().map(|c| match c {
        "session" => CountBy::Session,
        "tool" => CountBy::Tool,
        "agent" => CountBy::Agent,
        _ => CountBy::Day,
    });
    let result = SearchBuilder::new(&args.pattern)
        .fixed(args.fixed)
        .ignore_case(args.ignore_case)
        .fields(args.field.clone())
        .kinds(args.kind.clone())
        .window(
            crate::output::time_arg(args.since.as_deref(), "--since")?,
            crate::output::time_arg(args.until.as_deref(), "--until")?,
        )
        .count_by(count_by)
        .threads(crate::ui::ui().threads)
        .run(&store)?;
    let show = args.show_secrets;
    let mut out = std::io::stdout().lock();
    if count_by.is_some() {
        match args.format {
            ListFormat::Json => {
                crate::output::json_pretty(
                    &mut out,
                    &redact_json(serde_json::to_value(&result.counts)?, show),
                )?;
                writeln!(out)?;
            }
            ListFormat::Jsonl => {
                for (k, n) in &result.counts {
                    let v = serde_json::json!({ "key": k, "events": n });
                    crate::output::json_line(&mut out, &redact_json(v, show))?;
                    writeln!(out)?;
                }
            }
            ListFormat::Csv => {
                writeln!(out, "key,events")?;
                for (k, n) in &result.counts {
                    writeln!(out, "{},{n}", csv_cell(&crate::output::redact(k, show)))?;
                }
            }
            ListFormat::Table => {
                for (k, n) in &result.counts {
                    writeln!(out, "{n:>10}  {}", one_line(k, 200, show))?;
                }
            }
        }
    } else {
        match args.format {
            ListFormat::Json => {
                crate::output::json_pretty(
                    &mut out,
                    &redact_json(serde_json::to_value(&result)?, show),
                )?;
                writeln!(out)?;
            }
            ListFormat::Jsonl => {
                for h in &result.hits {
                    crate::output::json_line(
                        &mut out,
                        &redact_json(serde_json::to_value(h)?, show),
                    )?;
                    writeln!(out)?;
                }
            }
            ListFormat::Csv => {
                writeln!(out, "session_id,seq,ts,kind,tool_name,field,start,end,excerpt,source_file,source_line,source_pointer")?;
                for h in &result.hits {
                    let cells = [
                        h.session_id.clone(),
                        h.seq.to_string(),
                        fmt_ts(h.ts),
                        h.kind.clone(),
                        h.tool_name.clone().unwrap_or_default(),
                        h.field.clone(),
                        h.start.to_string(),
                        h.end.to_string(),
                        crate::output::redact(&h.excerpt, show),
                        h.source_file.clone(),
                        h.source_line.map(|l| l.to_string()).unwrap_or_default(),
                        h.source_pointer.clone(),
                    ];
                    writeln!(out, "{}", csv_row(&cells))?;
                }
            }
            ListFormat::Table => {
                for h in &result.hits {
                    writeln!(
                        out,
                        "{} {} seq {:<4} {:<17} {:<16} {}: {}",
                        fmt_ts(h.ts),
                        terminal_safe(&h.session_id),
                        h.seq,
                        h.kind,
                        terminal_safe(h.tool_name.as_deref().unwrap_or("-")),
                        h.field,
                        one_line(&h.excerpt, 170, show)
                    )?;
                }
            }
        }
    }
    out.flush()?;
    drop(out);
    let secs = result.elapsed.as_secs_f64();
    crate::ui::status!(
        "{} of {} events matched; {:.1} MB of text searched in {:.2}s ({:.0} MB/s)",
        result.matched_events,
        result.scanned_events,
        result.scanned_bytes as f64 / 1e6,
        secs,
        result.scanned_bytes as f64 / 1e6 / secs.max(1e-9)
    );
    Ok(if result.matched_events > 0 {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}
