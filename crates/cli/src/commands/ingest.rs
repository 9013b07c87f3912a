use std::io::{IsTerminal, Write};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tracehound_ingest::{IngestBuilder, Limits};
use tracehound_schema::SourceFormat;

use super::ExitStatus;
use crate::args::IngestArgs;
use crate::output::{human_bytes, terminal_safe};

pub(crate) fn run(args: IngestArgs) -> anyhow::Result<ExitStatus> {
    let ui = crate::ui::ui();
    let total: u64 = args.inputs.iter().map(|p| dir_size(p)).sum();
    // A progress bar only where someone watches it: never into a pipe, a file or a CI log.
    let bar = if std::io::stderr().is_terminal() && !ui.quiet {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("static template"),
        );
        Some(bar)
    } else {
        None
    };
    let mut builder = IngestBuilder::new()
        .format(args.format.as_deref().and_then(SourceFormat::parse))
        .limits(Limits {
            max_line: args.max_line,
            max_document: args.max_document,
            max_decompressed: args.max_decompressed,
            max_depth: args.max_depth,
        })
        .memory_budget(args.memory_mb << 20)
        .zstd_levels(args.zstd_text_level, args.zstd_level)
        .command_line(std::env::args().collect());
    if let Some(n) = crate::ui::ui().threads {
        builder = builder.threads(n);
    }
    if let Some(bar) = &bar {
        let bar = bar.clone();
        builder = builder.progress(move |n| bar.inc(n));
    }
    let summary = builder
        .build()
        .run(&args.inputs, &args.store)
        .with_context(|| format!("failed to ingest into `{}`", args.store.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for i in &summary.inputs {
        crate::ui::verbose!(
            "read {} ({}{}): {} records, {} events, {} rejects, {} blank lines",
            terminal_safe(&i.path),
            i.format.as_deref().unwrap_or("unknown"),
            i.compression
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            i.records,
            i.events,
            i.rejects,
            i.blank_lines
        );
    }
    if ui.quiet {
        return Ok(ExitStatus::Clean);
    }
    let mut out = std::io::stdout().lock();
    let secs = summary.elapsed.as_secs_f64();
    let formats: Vec<String> = summary
        .formats()
        .iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    writeln!(
        out,
        "ingested {} files into {}",
        summary.inputs.len(),
        terminal_safe(&args.store.display().to_string())
    )?;
    writeln!(
        out,
        "  formats:  {}",
        if formats.is_empty() {
            "-".into()
        } else {
            formats.join(", ")
        }
    )?;
    writeln!(out, "  events:   {}", summary.events)?;
    writeln!(out, "  sessions: {}", summary.sessions)?;
    writeln!(out, "  rejects:  {}", summary.rejects)?;
    if !summary.skipped.is_empty() {
        writeln!(
            out,
            "  skipped:  {} already in the store (same SHA-256)",
            summary.skipped.len()
        )?;
        for s in &summary.skipped {
            writeln!(out, "            {}", terminal_safe(s))?;
        }
    }
    writeln!(
        out,
        "  read:     {} in {:.2}s ({:.1} MB/s)",
        human_bytes(summary.bytes),
        secs,
        summary.bytes as f64 / 1e6 / secs.max(1e-9)
    )?;
    for i in summary.inputs.iter().filter(|i| i.error.is_some()) {
        writeln!(
            out,
            "  unreadable: {}: {}",
            terminal_safe(&i.path),
            terminal_safe(i.error.as_deref().unwrap_or(""))
        )?;
    }
    if summary.rejects > 0 {
        writeln!(
            out,
            "  rejects are listed in {}/rejects/ (file, line, byte offset, reason)",
            terminal_safe(&args.store.display().to_string())
        )?;
    }
    Ok(ExitStatus::Clean)
}

fn dir_size(path: &std::path::Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}
