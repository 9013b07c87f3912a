use std::io::Write;

use anyhow::Context;
use tracehound_query::{session_findings, Analysis, ScanBuilder, Store};

use super::ExitStatus;
use crate::args::{ContainArgs, ReportFormat};
use crate::output::redact_json;

pub(crate) fn run(args: ContainArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    // Chosen sessions: their own detectors only (the archive baselines are not needed to decide what
    // to rotate or disable); otherwise the full scan.
    let findings = if args.sessions.is_empty() {
        ScanBuilder::new()
            .policy(policy)
            .build()
            .run(&store)?
            .findings
    } else {
        let mut all = Vec::new();
        for s in super::sessions(&store, &args.store, &args.sessions)? {
            all.extend(session_findings(&Analysis::new(&s, &policy)));
        }
        all
    };
    let label = args.store.display().to_string();
    let checklist = tracehound_query::contain(&store, &label, &args.sessions, &findings)?;
    let mut out = super::sink(args.output.as_deref())?;
    match args.format {
        ReportFormat::Json => {
            let v = redact_json(serde_json::to_value(&checklist)?, args.show_secrets);
            crate::output::json_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        ReportFormat::Markdown => {
            out.write_all(checklist.to_markdown(args.show_secrets).as_bytes())?
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}
