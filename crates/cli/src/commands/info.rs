use std::io::Write;

use anyhow::Context;

use super::ExitStatus;
use crate::args::{InfoArgs, OutputFormat};
use crate::output::{human_bytes, terminal_safe};

pub(crate) fn run(args: InfoArgs) -> anyhow::Result<ExitStatus> {
    let store = tracehound_query::Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let info = tracehound_query::info(&store)?;
    let mut out = std::io::stdout().lock();
    if args.format == OutputFormat::Json {
        crate::output::json_pretty(&mut out, &info)?;
        writeln!(out)?;
        return Ok(ExitStatus::Clean);
    }
    writeln!(
        out,
        "store       {}",
        terminal_safe(&args.store.display().to_string())
    )?;
    writeln!(
        out,
        "schema      v{} (tracehound {})",
        info.schema_version,
        terminal_safe(&info.tool_version)
    )?;
    writeln!(
        out,
        "created     {}   updated {}",
        terminal_safe(&info.created),
        terminal_safe(&info.updated)
    )?;
    writeln!(out, "ingests     {}", info.runs)?;
    writeln!(
        out,
        "inputs      {} files, {}",
        info.inputs,
        human_bytes(info.input_bytes)
    )?;
    writeln!(
        out,
        "store size  {} in {} buckets",
        human_bytes(info.store_bytes),
        info.buckets
    )?;
    writeln!(out, "events      {}", info.events)?;
    writeln!(out, "sessions    {}", info.sessions)?;
    writeln!(out, "rejects     {}", info.rejects)?;
    writeln!(
        out,
        "\n{:<20} {:>7} {:>10} {:>8}",
        "format", "files", "events", "rejects"
    )?;
    for (name, f) in &info.formats {
        writeln!(
            out,
            "{:<20} {:>7} {:>10} {:>8}",
            name, f.files, f.events, f.rejects
        )?;
    }
    writeln!(out, "\n{:<20} {:>10}", "kind", "events")?;
    for (kind, n) in &info.kinds {
        writeln!(out, "{kind:<20} {n:>10}")?;
    }
    Ok(ExitStatus::Clean)
}
