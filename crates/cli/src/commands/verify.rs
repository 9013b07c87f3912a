use std::io::Write;

use anyhow::Context;
use tracehound_evidence::ProblemKind;

use super::ExitStatus;
use crate::args::{OutputFormat, VerifyArgs};
use crate::output::terminal_safe;

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let report = match (&args.archive, &args.store) {
        (Some(archive), _) => tracehound_evidence::verify_archive(archive, args.seal.as_deref())
            .with_context(|| format!("cannot verify `{}`", archive.display()))?,
        (None, Some(store)) => {
            tracehound_evidence::verify_store(store, args.inputs, args.input_root.as_deref())
                .with_context(|| format!("cannot verify store `{}`", store.display()))?
        }
        (None, None) => unreachable!("clap requires one"),
    };
    let mut out = std::io::stdout().lock();
    if args.format == OutputFormat::Json {
        crate::output::json_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for p in &report.problems {
            let kind = match p.kind {
                ProblemKind::Changed => "CHANGED",
                ProblemKind::Removed => "REMOVED",
                ProblemKind::Added => "ADDED",
                ProblemKind::Manifest => "MANIFEST",
            };
            writeln!(
                out,
                "{kind:<9} {}: {}",
                terminal_safe(&p.path),
                terminal_safe(&p.detail)
            )?;
        }
        let verdict = if report.is_clean() { "OK" } else { "FAILED" };
        writeln!(
            out,
            "{verdict}: {} {}, {} files hashed, {} problem{}",
            report.what,
            terminal_safe(&report.root),
            report.checked,
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" }
        )?;
        if let Some(seal) = &report.seal {
            let note = if args.seal.is_some() {
                ""
            } else {
                " (compare with the seal recorded when it was written, or pass --seal)"
            };
            writeln!(out, "seal: {seal}{note}")?;
        }
    }
    Ok(if report.is_clean() {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}
