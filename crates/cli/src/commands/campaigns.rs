use std::io::Write;

use anyhow::Context;
use tracehound_query::{ScanBuilder, Store};

use super::ExitStatus;
use crate::args::{CampaignsArgs, ListFormat};
use crate::output::redact_json;
use crate::output::{csv_row, fmt_ts, one_line, terminal_safe};

pub(crate) fn run(args: CampaignsArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let mut builder = ScanBuilder::new().policy(policy);
    if let Some(n) = crate::ui::ui().threads {
        builder = builder.threads(n);
    }
    let scan = builder.build().run(&store)?;
    let (campaigns, alone) = tracehound_query::campaigns(&scan, args.min_sessions);
    let show = args.show_secrets;
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Json => {
            let v = serde_json::json!({ "campaigns": campaigns, "payloads": scan.payloads.len(), "one_off_payloads": alone });
            crate::output::json_pretty(&mut out, &redact_json(v, show))?;
            writeln!(out)?;
        }
        ListFormat::Jsonl => {
            for c in &campaigns {
                crate::output::json_line(&mut out, &redact_json(serde_json::to_value(c)?, show))?;
                writeln!(out)?;
            }
        }
        ListFormat::Csv => {
            writeln!(out, "id,sessions,payloads,acted_on_sessions,users,agents,carriers,first_seen,last_seen,planted_values,excerpt")?;
            for c in &campaigns {
                let cells = [
                    c.id.clone(),
                    c.sessions.len().to_string(),
                    c.payloads.to_string(),
                    c.acted_on_sessions.to_string(),
                    c.users.join(" "),
                    c.agents.join(" "),
                    c.carriers.join(" "),
                    fmt_ts(c.first_seen),
                    fmt_ts(c.last_seen),
                    crate::output::redact(&c.planted_values.join(" "), show),
                    crate::output::redact(&c.excerpt, show),
                ];
                writeln!(out, "{}", csv_row(&cells))?;
            }
        }
        ListFormat::Table => {
            for c in &campaigns {
                writeln!(
                    out,
                    "campaign {}: {} sessions, {} payloads, acted on in {} session(s), {} to {}",
                    c.id,
                    c.sessions.len(),
                    c.payloads,
                    c.acted_on_sessions,
                    fmt_ts(c.first_seen),
                    fmt_ts(c.last_seen)
                )?;
                writeln!(out, "  payload:  {}", one_line(&c.excerpt, 150, show))?;
                let list = |v: &[String]| {
                    terminal_safe(&v.iter().take(8).cloned().collect::<Vec<_>>().join(", "))
                };
                writeln!(
                    out,
                    "  carriers: {}; agents: {}; users: {}",
                    list(&c.carriers),
                    list(&c.agents),
                    list(&c.users)
                )?;
                if !c.planted_values.is_empty() {
                    writeln!(
                        out,
                        "  planted:  {}",
                        one_line(&c.planted_values.join(", "), 150, show)
                    )?;
                }
                writeln!(
                    out,
                    "  open:     tracehound similar --store {} --session {} --seq {}",
                    terminal_safe(&tracehound_query::shell_quote(
                        &args.store.display().to_string()
                    )),
                    terminal_safe(&tracehound_query::shell_quote(&c.first_session)),
                    c.first_seq
                )?;
            }
        }
    }
    drop(out);
    crate::ui::status!(
        "{} campaign(s) of at least {} sessions from {} flagged payloads; {} payload(s) stand alone",
        campaigns.len(),
        args.min_sessions,
        scan.payloads.len(),
        alone
    );
    Ok(ExitStatus::Clean)
}
