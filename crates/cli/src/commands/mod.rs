mod info;
mod ingest;
mod policy;
mod preserve;
mod scan;
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

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Ingest(args) => ingest::run(args),
        Command::Info(args) => info::run(args),
        Command::Timeline(args) => timeline::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Preserve(args) => preserve::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Policy(cmd) => policy::run(cmd),
    }
}
