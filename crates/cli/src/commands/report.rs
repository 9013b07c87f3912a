use std::io::Write;

use anyhow::{bail, Context};
use tracehound_query::{build_report, ScanBuilder, Severity, Store};

use super::ExitStatus;
use crate::args::ReportArgs;
use crate::output::redact_json;
use crate::output::{redact, terminal_safe};

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<ExitStatus> {
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(ext.as_str(), "html" | "htm" | "md" | "json") {
        bail!(
            "--output `{}`: the extension chooses the format; use .html, .md or .json",
            args.output.display()
        );
    }
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let (since, until) = (
        crate::output::time_arg(args.since.as_deref(), "--since")?,
        crate::output::time_arg(args.until.as_deref(), "--until")?,
    );
    let policy = super::policy::load(args.policy.as_deref())?;
    let mut builder = ScanBuilder::new()
        .policy(policy)
        .max_findings(args.max_findings);
    if let Some(n) = crate::ui::ui().threads {
        builder = builder.threads(n);
    }
    let scan = builder.build().run(&store)?;
    let report = build_report(&args.store.display().to_string(), scan, since, until);
    let show = args.show_secrets;
    let red = |s: &str| redact(s, show);
    let body = match ext.as_str() {
        "md" => report.to_markdown(&red),
        "json" => {
            let mut buf = Vec::new();
            crate::output::json_pretty(
                &mut buf,
                &redact_json(serde_json::to_value(&report)?, show),
            )?;
            buf.push(b'\n');
            String::from_utf8(buf)?
        }
        _ => report.to_html(&red),
    };
    let mut file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create `{}`", args.output.display()))?;
    file.write_all(body.as_bytes())?;
    crate::ui::status!(
        "wrote {}: {} findings in {} sessions, {} to rank first, {} campaign(s)",
        terminal_safe(&args.output.display().to_string()),
        report.findings_total,
        report.sessions,
        report.sessions_first.len(),
        report.campaigns.len()
    );
    let fail_on = args.fail_on.as_deref().and_then(Severity::parse);
    Ok(match fail_on {
        Some(level) if report.findings.iter().any(|f| f.severity >= level) => ExitStatus::Findings,
        _ => ExitStatus::Clean,
    })
}
