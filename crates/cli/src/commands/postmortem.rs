use std::io::Write;

use anyhow::Context;
use tracehound_query::Store;

use super::ExitStatus;
use crate::args::{PostmortemArgs, ReportFormat};
use crate::output::redact_json;

pub(crate) fn run(args: PostmortemArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let sessions = super::sessions(&store, &args.store, &args.session)?;
    let pm = tracehound_query::postmortem(&args.store.display().to_string(), &sessions, &policy);
    let mut out = super::sink(args.output.as_deref())?;
    match args.format {
        ReportFormat::Json => {
            let v = redact_json(serde_json::to_value(&pm)?, args.show_secrets);
            crate::output::json_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        ReportFormat::Markdown => out.write_all(pm.to_markdown(args.show_secrets).as_bytes())?,
    }
    out.flush()?;
    if let Some(p) = &args.output {
        crate::ui::status!(
            "wrote {}",
            crate::output::terminal_safe(&p.display().to_string())
        );
    }
    Ok(ExitStatus::Clean)
}
