use std::io::Write;

use anyhow::{bail, Context};
use tracehound_query::{ScanBuilder, Store};

use super::ExitStatus;
use crate::args::{ListFormat, SimilarArgs};
use crate::output::redact_json;
use crate::output::{csv_row, fmt_ts, one_line, terminal_safe};

pub(crate) fn run(args: SimilarArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let (session, seq) = match (&args.finding, &args.session, args.seq) {
        (Some(id), _, _) => {
            let scan = ScanBuilder::new()
                .policy(policy.clone())
                .build()
                .run(&store)?;
            let Some(f) = scan.findings.iter().find(|f| &f.id == id) else {
                bail!(
                    "no finding `{}` in `{}`; `tracehound scan --store {} --format jsonl` lists their ids",
                    terminal_safe(id),
                    args.store.display(),
                    args.store.display()
                );
            };
            (f.session_id.clone(), f.seq)
        }
        (None, Some(s), Some(q)) => (s.clone(), q),
        _ => bail!("give --session and --seq, or --finding"),
    };
    super::sessions(&store, &args.store, std::slice::from_ref(&session))?;
    let result = tracehound_query::similar(&store, &session, seq, &policy)?;
    let show = args.show_secrets;
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Json => {
            crate::output::json_pretty(
                &mut out,
                &redact_json(serde_json::to_value(&result)?, show),
            )?;
            writeln!(out)?;
        }
        ListFormat::Jsonl => {
            for o in &result.outputs {
                let mut v = serde_json::to_value(o)?;
                v["match"] = "payload".into();
                crate::output::json_line(&mut out, &redact_json(v, show))?;
                writeln!(out)?;
            }
            for c in &result.calls {
                let mut v = serde_json::to_value(c)?;
                v["match"] = "value".into();
                crate::output::json_line(&mut out, &redact_json(v, show))?;
                writeln!(out)?;
            }
        }
        ListFormat::Csv => {
            writeln!(
                out,
                "match,session_id,seq,ts,tool_name,agent_id,user_id,detail"
            )?;
            for o in &result.outputs {
                let cells = [
                    "payload".to_string(),
                    o.session_id.clone(),
                    o.seq.to_string(),
                    fmt_ts(o.ts),
                    o.tool_name.clone().unwrap_or_default(),
                    o.agent_id.clone().unwrap_or_default(),
                    o.user_id.clone().unwrap_or_default(),
                    format!(
                        "containment {:.3}{}",
                        o.containment,
                        if o.exact { " exact" } else { "" }
                    ),
                ];
                writeln!(out, "{}", csv_row(&cells))?;
            }
            for c in &result.calls {
                let cells = [
                    "value".to_string(),
                    c.session_id.clone(),
                    c.seq.to_string(),
                    fmt_ts(c.ts),
                    c.tool_name.clone().unwrap_or_default(),
                    c.agent_id.clone().unwrap_or_default(),
                    c.user_id.clone().unwrap_or_default(),
                    crate::output::redact(&c.value, show),
                ];
                writeln!(out, "{}", csv_row(&cells))?;
            }
        }
        ListFormat::Table => {
            if let Some(p) = &result.payload {
                writeln!(
                    out,
                    "payload (fingerprint {}): {}",
                    result.fingerprint.as_deref().unwrap_or("-"),
                    one_line(p, 160, show)
                )?;
            }
            if !result.values.is_empty() {
                let v: Vec<String> = result
                    .values
                    .iter()
                    .map(|v| one_line(v, 80, show))
                    .collect();
                writeln!(out, "values: {}", v.join(", "))?;
            }
            writeln!(
                out,
                "\ntool outputs carrying the payload: {}",
                result.outputs.len()
            )?;
            for o in &result.outputs {
                writeln!(
                    out,
                    "  {} {} seq {:<4} {:<16} containment {:.2}{}",
                    fmt_ts(o.ts),
                    terminal_safe(&o.session_id),
                    o.seq,
                    terminal_safe(o.tool_name.as_deref().unwrap_or("-")),
                    o.containment,
                    if o.exact { " (exact)" } else { "" }
                )?;
            }
            writeln!(
                out,
                "\ntool calls using the same value: {}",
                result.calls.len()
            )?;
            for c in &result.calls {
                writeln!(
                    out,
                    "  {} {} seq {:<4} {:<16} {}",
                    fmt_ts(c.ts),
                    terminal_safe(&c.session_id),
                    c.seq,
                    terminal_safe(c.tool_name.as_deref().unwrap_or("-")),
                    one_line(&c.value, 80, show)
                )?;
            }
            writeln!(out, "\n{} other session(s)", result.sessions.len())?;
        }
    }
    Ok(ExitStatus::Clean)
}
