use std::io::Write;

use anyhow::{bail, Context};
use tracehound_evidence::{InputStatus, PreserveOptions, Selection};
use tracehound_query::Store;

use super::ExitStatus;
use crate::args::{OutputFormat, PreserveArgs};
use crate::output::{human_bytes, terminal_safe};

pub(crate) fn run(args: PreserveArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let selection = if args.sessions.is_empty() {
        Selection::Window {
            since: crate::output::time_arg(args.since.as_deref(), "--since")?,
            until: crate::output::time_arg(args.until.as_deref(), "--until")?,
        }
    } else {
        Selection::Sessions(args.sessions.clone())
    };
    let opts = PreserveOptions {
        selection,
        to: args.to.clone(),
        input_root: args.input_root.clone(),
        command_line: std::env::args().collect(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let manifest = tracehound_evidence::preserve(&store, &opts)?;
    let seal = tracehound_evidence::seal(&args.to)?;
    let mut out = std::io::stdout().lock();
    if args.format == OutputFormat::Json {
        let v = serde_json::json!({ "archive": args.to, "seal": seal, "manifest": manifest });
        crate::output::json_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        let to = terminal_safe(&args.to.display().to_string());
        writeln!(out, "preserved into {to} (read-only)")?;
        writeln!(
            out,
            "  sessions:    {}",
            terminal_safe(&manifest.sessions.join(" "))
        )?;
        writeln!(out, "  events:      {}", manifest.events)?;
        writeln!(out, "  raw records: {}", manifest.raw_records)?;
        let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
        writeln!(
            out,
            "  files:       {} ({}), each SHA-256 in manifest.json and SHA256SUMS",
            manifest.files.len() + 2,
            human_bytes(bytes)
        )?;
        for i in &manifest.inputs {
            let status = match i.status {
                InputStatus::Intact => "intact (same SHA-256 as at ingest)",
                InputStatus::Changed => "CHANGED since ingest",
                InputStatus::Missing => "MISSING",
            };
            writeln!(
                out,
                "  input {}: {} of {} records, {status}",
                terminal_safe(&i.path),
                i.records_archived,
                i.records_wanted
            )?;
            for n in &i.notes {
                writeln!(out, "    note: {}", terminal_safe(n))?;
            }
        }
        writeln!(out, "seal: {seal}")?;
        writeln!(
            out,
            "  keep the seal in the case notes; check later with: tracehound verify {to} --seal {seal}"
        )?;
    }
    // An archive that could not include every record is still written (it is what exists), but a
    // batch job must not take it for complete.
    let incomplete = manifest
        .inputs
        .iter()
        .any(|i| i.status != InputStatus::Intact || i.records_archived < i.records_wanted);
    if incomplete {
        out.flush()?;
        bail!(
            "the archive is incomplete or its inputs changed since ingest: see the notes above \
             (pass --input-root if ingest ran in another directory)"
        );
    }
    Ok(ExitStatus::Clean)
}
