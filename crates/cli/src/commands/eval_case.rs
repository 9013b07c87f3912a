use std::io::Write;

use anyhow::Context;
use tracehound_query::Store;

use super::ExitStatus;
use crate::args::{EvalCaseArgs, EvalFormat};
use crate::output::redact_json;

pub(crate) fn run(args: EvalCaseArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let policy = super::policy::load(args.policy.as_deref())?;
    let session = super::sessions(&store, &args.store, std::slice::from_ref(&args.session))?
        .pop()
        .expect("one session");
    let case = tracehound_query::eval_case(&session, args.seq, &policy)?;
    let mut out = super::sink(args.output.as_deref())?;
    match args.format {
        EvalFormat::Jsonl => {
            let v = redact_json(serde_json::to_value(&case)?, args.show_secrets);
            crate::output::json_line(&mut out, &v)?;
            writeln!(out)?;
        }
        EvalFormat::Promptfoo => {
            // Redact the case before building the test, so the assertion's values match what the
            // conversation shows.
            let test = if args.show_secrets {
                case.to_promptfoo()
            } else {
                redact_json(case.to_promptfoo(), false)
            };
            crate::output::json_pretty(&mut out, &serde_json::Value::Array(vec![test]))?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}
