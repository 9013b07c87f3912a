use std::io::Write;

use super::ExitStatus;
use crate::args::PolicyCommand;

pub(crate) fn run(cmd: PolicyCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        PolicyCommand::Init => {
            std::io::stdout()
                .lock()
                .write_all(tracehound_query::Policy::default_toml().as_bytes())?;
            Ok(ExitStatus::Clean)
        }
    }
}

/// The policy at `path`, or the defaults.
pub(crate) fn load(path: Option<&std::path::Path>) -> anyhow::Result<tracehound_query::Policy> {
    Ok(match path {
        Some(p) => tracehound_query::Policy::load(p)?,
        None => tracehound_query::Policy::default(),
    })
}
