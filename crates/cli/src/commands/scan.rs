use std::io::Write;

use anyhow::Context;
use tracehound_query::{ScanBuilder, Severity, Store};

use super::ExitStatus;
use crate::args::{Engine, ListFormat, ScanArgs};
use crate::output::redact_json;
use crate::output::{csv_row, fmt_ts, one_line, terminal_safe};

pub(crate) fn run(args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let min_severity = args.min_severity.as_deref().and_then(Severity::parse);
    let threads = crate::ui::ui().threads;
    let result = match (&args.cluster, args.engine) {
        (Some(address), _) => {
            let opts = tracehound_sql::ScanOptions {
                policy,
                min_severity,
            };
            tracehound_sql::runtime(threads)?.block_on(async {
                let ctx = tracehound_cluster::connect(address, &store, threads).await?;
                tracehound_cluster::scan(&ctx, &store, &opts, args.max_findings).await
            })?
        }
        (None, Engine::Native) => {
            let mut builder = ScanBuilder::new()
                .policy(policy)
                .min_severity(min_severity)
                .max_findings(args.max_findings);
            if let Some(n) = threads {
                builder = builder.threads(n);
            }
            builder.build().run(&store)?
        }
        (None, Engine::Datafusion) => {
            let opts = tracehound_sql::ScanOptions {
                policy,
                min_severity,
            };
            tracehound_sql::runtime(threads)?.block_on(tracehound_sql::scan(
                &store,
                &opts,
                args.max_findings,
                threads,
            ))?
        }
    };
    let show = args.show_secrets;
    if let Some(path) = args
        .output
        .as_ref()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
    {
        // Redacted like every other output unless asked.
        let findings: Vec<tracehound_query::Finding> = if show {
            result.findings.clone()
        } else {
            result
                .findings
                .iter()
                .map(|f| serde_json::from_value(redact_json(serde_json::to_value(f)?, false)))
                .collect::<Result<_, _>>()?
        };
        tracehound_query::write_findings_parquet(&findings, path)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        return finish(result, &args);
    }
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create `{}`", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        ListFormat::Jsonl => {
            // Redacting and encoding are per finding and independent: rendered in parallel, a batch at
            // a time so memory stays bounded, and written in order.
            use rayon::prelude::*;
            for batch in result.findings.chunks(4096) {
                let lines = batch
                    .par_iter()
                    .map(|f| -> anyhow::Result<Vec<u8>> {
                        let mut line = Vec::with_capacity(1024);
                        crate::output::finding_line(&mut line, f, show)?;
                        line.push(b'\n');
                        Ok(line)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                for line in lines {
                    sink.write_all(&line)?;
                }
            }
        }
        ListFormat::Json => {
            crate::output::json_pretty(
                &mut sink,
                &redact_json(serde_json::to_value(&result)?, show),
            )?;
            writeln!(sink)?;
        }
        ListFormat::Csv => {
            writeln!(sink, "id,detector,severity,session_id,seq,ts,summary,related,source_file,source_line,source_pointer")?;
            for f in &result.findings {
                let related: Vec<String> = f.related.iter().map(|s| s.to_string()).collect();
                let cells = [
                    f.id.clone(),
                    f.detector.clone(),
                    f.severity.as_str().to_string(),
                    f.session_id.clone(),
                    f.seq.to_string(),
                    fmt_ts(f.ts),
                    crate::output::redact(&f.summary, show),
                    related.join(" "),
                    f.source_file.clone(),
                    f.source_line.map(|l| l.to_string()).unwrap_or_default(),
                    f.source_pointer.clone(),
                ];
                writeln!(sink, "{}", csv_row(&cells))?;
            }
        }
        ListFormat::Table => {
            let stream = match args.output {
                Some(_) => crate::ui::Stream::File,
                None => crate::ui::Stream::Stdout,
            };
            for f in &result.findings {
                writeln!(
                    sink,
                    "{} {:<40} {} seq {}: {}",
                    crate::ui::ui().severity(f.severity.as_str(), 8, stream),
                    f.detector,
                    terminal_safe(&f.session_id),
                    f.seq,
                    one_line(&f.summary, 160, show)
                )?;
                writeln!(
                    sink,
                    "         open: tracehound timeline {} --store {} --around {}",
                    terminal_safe(&tracehound_query::shell_quote(&f.session_id)),
                    terminal_safe(&tracehound_query::shell_quote(
                        &args.store.display().to_string()
                    )),
                    f.seq
                )?;
            }
        }
    }
    sink.flush()?;
    drop(sink);
    finish(result, &args)
}

/// The summary on stderr, so stdout stays pure findings for pipes, and the exit status. Takes the
/// result to leave it unfreed: the process exits next, and freeing a large scan's findings one
/// string at a time took 0.15 s of the 1 GiB benchmark, for memory the exit returns anyway.
fn finish(result: tracehound_query::ScanResult, args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let result = std::mem::ManuallyDrop::new(result);
    if !crate::ui::ui().quiet {
        let mut err = std::io::stderr().lock();
        let secs = result.elapsed.as_secs_f64();
        writeln!(
            err,
            "scanned {} sessions, {} events in {:.2}s ({:.0} MB/s of original input)",
            result.sessions,
            result.events,
            secs,
            result.input_bytes as f64 / 1e6 / secs.max(1e-9)
        )?;
        writeln!(
            err,
            "{} findings in {} sessions, {} to {}",
            result.findings.len(),
            result.sessions_affected,
            fmt_ts(result.first_ts),
            fmt_ts(result.last_ts)
        )?;
        for (detector, by_sev) in &result.counts {
            let parts: Vec<String> = by_sev
                .iter()
                .rev()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            writeln!(err, "  {detector:<40} {}", parts.join(", "))?;
        }
    }
    let fail_on = args.fail_on.as_deref().and_then(Severity::parse);
    Ok(match fail_on {
        Some(level) if result.findings.iter().any(|f| f.severity >= level) => ExitStatus::Findings,
        _ => ExitStatus::Clean,
    })
}
