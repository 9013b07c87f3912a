use std::io::Write;

use anyhow::Context;
use tracehound_query::{archive_stats, GroupStats, ScanBuilder, Store};

use super::ExitStatus;
use crate::args::{OutputFormat, StatsArgs};
use crate::output::{fmt_ts, terminal_safe};

pub(crate) fn run(args: StatsArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let mut builder = ScanBuilder::new().policy(policy);
    if let Some(n) = crate::ui::ui().threads {
        builder = builder.threads(n);
    }
    let scan = builder.build().run(&store)?;
    let stats = archive_stats(&scan);
    let mut out = std::io::stdout().lock();
    if args.format == OutputFormat::Json {
        crate::output::json_pretty(&mut out, &stats)?;
        writeln!(out)?;
        return Ok(ExitStatus::Clean);
    }
    let tables: [(&str, &[GroupStats]); 4] = [
        ("day", &stats.by_day),
        ("agent", &stats.by_agent),
        ("model", &stats.by_model),
        ("tool", &stats.by_tool),
    ];
    for (name, rows) in tables {
        if args.by != "all" && args.by != name {
            continue;
        }
        writeln!(
            out,
            "{name:<28} {:>8} {:>9} {:>7} {:>8} {:>12} {:>10} {:>8} {:>6} {:>8}",
            "sessions",
            "calls",
            "errors",
            "err_rate",
            "tokens",
            "spend_usd",
            "findings",
            "high",
            "flagged"
        )?;
        for g in rows {
            writeln!(
                out,
                "{:<28} {:>8} {:>9} {:>7} {:>8} {:>12} {:>10.2} {:>8} {:>6} {:>8}",
                terminal_safe(&g.key).chars().take(28).collect::<String>(),
                g.sessions,
                g.tool_calls,
                g.tool_errors,
                g.error_rate
                    .map(|r| format!("{:.1}%", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
                g.tokens,
                g.spend_usd,
                g.findings,
                g.findings_high,
                g.flagged_sessions
            )?;
        }
        writeln!(out)?;
    }
    if args.by == "all" || args.by == "model" {
        writeln!(
            out,
            "model changes per agent (flag rate = sessions with a finding at medium or above):"
        )?;
        if stats.change_points.is_empty() {
            writeln!(out, "  none: no agent changed model")?;
        }
        for c in &stats.change_points {
            writeln!(
                out,
                "  {} {}: {} -> {} at {}: flag rate {:.1}% ({} sessions) -> {:.1}% ({} sessions)",
                if c.moved { "MOVED" } else { "     " },
                terminal_safe(&c.agent),
                terminal_safe(&c.from_model),
                terminal_safe(&c.to_model),
                fmt_ts(c.at),
                c.flag_rate_before * 100.0,
                c.sessions_before,
                c.flag_rate_after * 100.0,
                c.sessions_after,
            )?;
        }
    }
    Ok(ExitStatus::Clean)
}
