mod campaigns;
mod cluster;
mod contain;
mod eval_case;
mod export;
mod info;
mod ingest;
mod policy;
mod postmortem;
mod preserve;
mod report;
mod scan;
mod search;
mod similar;
mod sql;
mod stats;
mod timeline;
mod verify;

use crate::args::{Cli, Command};

/// Exit codes: 0 clean, 1 findings at or above the requested severity, 2 error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    Clean,
    Findings,
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(match s {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// Where a report goes: the file asked for, or stdout.
pub(crate) fn sink(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn std::io::Write>> {
    use anyhow::Context;
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create `{}`", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// The events of each named session, or an error naming the first that is not in the store.
pub(crate) fn sessions(
    store: &tracehound_query::Store,
    store_path: &std::path::Path,
    ids: &[String],
) -> anyhow::Result<Vec<tracehound_query::Session>> {
    ids.iter()
        .map(|id| {
            let s = store.session(id)?;
            if s.events.is_empty() {
                anyhow::bail!(
                    "no session `{}` in `{}`; `tracehound scan --store {}` lists sessions with findings",
                    crate::output::terminal_safe(id),
                    store_path.display(),
                    store_path.display()
                );
            }
            Ok(s)
        })
        .collect()
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Ingest(args) => ingest::run(args),
        Command::Info(args) => info::run(args),
        Command::Timeline(args) => timeline::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Preserve(args) => preserve::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Search(args) => search::run(args),
        Command::Sql(args) => sql::run(args),
        Command::Similar(args) => similar::run(args),
        Command::Campaigns(args) => campaigns::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Report(args) => report::run(args),
        Command::Contain(args) => contain::run(args),
        Command::EvalCase(args) => eval_case::run(args),
        Command::Postmortem(args) => postmortem::run(args),
        Command::Export(args) => export::run(args),
        Command::Cluster(cmd) => cluster::run(cmd),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "tracehound", &mut std::io::stdout());
            Ok(ExitStatus::Clean)
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(ExitStatus::Clean)
        }
    }
}
