use std::io::Write;

use anyhow::Context;
use tracehound_query::{export_events, timesketch_record, ExportSelection, Store};

use super::ExitStatus;
use crate::args::{ExportArgs, ExportFormat};
use crate::output::redact_json;
use crate::output::{csv_row, redact, terminal_safe, time_arg};

/// The CSV columns, in the store's column order.
const CSV_HEADER: &str = "session_id,seq,ts,event_id,parent_id,kind,role,user_id,agent_id,model,provider,tool_name,call_id,link_method,args,content,is_error,input_tokens,output_tokens,cost_usd,source_format,source_file,source_line,source_offset,source_pointer,attributes";

pub(crate) fn run(args: ExportArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let selection = ExportSelection {
        sessions: args.session.clone(),
        since: time_arg(args.since.as_deref(), "--since")?,
        until: time_arg(args.until.as_deref(), "--until")?,
    };
    let show = args.show_secrets;
    let mut out = super::sink(args.output.as_deref())?;
    if args.format == ExportFormat::Csv {
        writeln!(out, "{CSV_HEADER}")?;
    }
    let mut untimed = 0u64;
    let written = export_events(&store, &selection, |e| -> anyhow::Result<()> {
        match args.format {
            ExportFormat::Timesketch => match timesketch_record(e, show) {
                Some(v) => {
                    crate::output::json_line(&mut out, &v)?;
                    writeln!(out)?;
                }
                None => untimed += 1,
            },
            ExportFormat::Jsonl => {
                let mut v = redact_json(serde_json::to_value(e)?, show);
                if let Some(ts) = e.ts {
                    // Keep the microseconds and add the readable form beside them.
                    v["datetime"] = tracehound_query::rfc3339_utc(ts).into();
                }
                crate::output::json_line(&mut out, &v)?;
                writeln!(out)?;
            }
            ExportFormat::Csv => {
                let opt = |v: Option<&str>| redact(v.unwrap_or(""), show);
                let num = |v: Option<String>| v.unwrap_or_default();
                let cells = [
                    redact(&e.session_id, show),
                    e.seq.to_string(),
                    num(e.ts.map(tracehound_query::rfc3339_utc)),
                    opt(e.event_id.as_deref()),
                    opt(e.parent_id.as_deref()),
                    e.kind.clone(),
                    opt(e.role.as_deref()),
                    opt(e.user_id.as_deref()),
                    opt(e.agent_id.as_deref()),
                    opt(e.model.as_deref()),
                    opt(e.provider.as_deref()),
                    opt(e.tool_name.as_deref()),
                    opt(e.call_id.as_deref()),
                    opt(e.link_method.as_deref()),
                    opt(e.args.as_deref()),
                    opt(e.content.as_deref()),
                    num(e.is_error.map(|b| b.to_string())),
                    num(e.input_tokens.map(|n| n.to_string())),
                    num(e.output_tokens.map(|n| n.to_string())),
                    num(e.cost_usd.map(|n| n.to_string())),
                    e.source_format.clone(),
                    e.source_file.clone(),
                    num(e.source_line.map(|n| n.to_string())),
                    e.source_offset.to_string(),
                    e.source_pointer.clone(),
                    opt(e.attributes.as_deref()),
                ];
                writeln!(out, "{}", csv_row(&cells))?;
            }
        }
        Ok(())
    })?;
    out.flush()?;
    drop(out);
    let written = written - untimed;
    crate::ui::status!(
        "exported {written} event{}{}",
        if written == 1 { "" } else { "s" },
        args.output
            .as_ref()
            .map(|p| format!(" to {}", terminal_safe(&p.display().to_string())))
            .unwrap_or_default()
    );
    if untimed > 0 {
        // Said even with --quiet: events left out of an export must never go unnoticed.
        eprintln!(
            "warning: {untimed} event(s) without a timestamp left out: Timesketch cannot place them; \
             `--format jsonl` or `--format csv` includes them"
        );
    }
    Ok(ExitStatus::Clean)
}
