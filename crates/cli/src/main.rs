//! The `tracehound` binary: parse arguments, run the command, map the result to an exit code.

mod args;
mod commands;
mod output;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracehound_query::tune_allocator();
    let cli = args::Cli::parse();
    ui::init(&cli.global);
    if let Some(n) = cli.global.threads {
        // Commands with their own pools take the count directly; this covers the rest (timeline,
        // similar, the evidence and response commands), which use rayon's global pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return commands::ExitStatus::Clean.into();
            }
            // Messages can quote log content (a session id, a file name): made terminal-safe too.
            let safe = |s: String| {
                s.lines()
                    .map(output::terminal_safe)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            eprintln!("{} {}", ui::ui().error_prefix(), safe(err.to_string()));
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {}", safe(cause.to_string()));
            }
            commands::ExitStatus::Error.into()
        }
    }
}
