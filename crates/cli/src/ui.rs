//! The process-wide output manners chosen once from the global options: color, quiet, verbose,
//! threads. Kept in one place so every command behaves the same way in a terminal, in a pipe and in a
//! nightly job's log.

use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::args::{ColorChoice, GlobalArgs};

#[derive(Debug, Default)]
pub(crate) struct Ui {
    pub(crate) threads: Option<usize>,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
    color_stdout: bool,
    color_stderr: bool,
}

static UI: OnceLock<Ui> = OnceLock::new();

/// Sets the manners from the global options. `NO_COLOR` (any non-empty value) turns color off unless
/// `--color always` asks for it: the explicit flag wins, as no-color.org recommends.
pub(crate) fn init(args: &GlobalArgs) {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let auto = |terminal: bool| terminal && !no_color_env && !dumb;
    let (out, err) = match args.color {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto => (
            auto(std::io::stdout().is_terminal()),
            auto(std::io::stderr().is_terminal()),
        ),
    };
    let _ = UI.set(Ui {
        threads: args.threads,
        quiet: args.quiet,
        verbose: args.verbose,
        color_stdout: out,
        color_stderr: err,
    });
}

pub(crate) fn ui() -> &'static Ui {
    UI.get_or_init(Ui::default)
}

/// Where a painted label goes: color is decided per stream (stdout may be a pipe while stderr is a
/// terminal).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
    /// A file named by `--output`: never colored.
    File,
}

impl Ui {
    fn color(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.color_stdout,
            Stream::Stderr => self.color_stderr,
            Stream::File => false,
        }
    }

    /// A severity label, colored by level. Only our own fixed labels are ever painted; log content is
    /// never wrapped in escape sequences (it goes through `terminal_safe` instead).
    pub(crate) fn severity(&self, label: &str, width: usize, stream: Stream) -> String {
        let padded = format!("{label:<width$}");
        if !self.color(stream) {
            return padded;
        }
        let code = match label {
            "critical" => "1;31",
            "high" => "31",
            "medium" => "33",
            "low" => "36",
            _ => "2",
        };
        format!("\x1b[{code}m{padded}\x1b[0m")
    }

    /// The `error:` prefix, red on a color terminal.
    pub(crate) fn error_prefix(&self) -> &'static str {
        if self.color(Stream::Stderr) {
            "\x1b[1;31merror:\x1b[0m"
        } else {
            "error:"
        }
    }
}

/// A status line on stderr (summaries, timings), unless `--quiet`.
macro_rules! status {
    ($($arg:tt)*) => {
        if !$crate::ui::ui().quiet {
            eprintln!($($arg)*);
        }
    };
}

/// Detail on stderr only with `--verbose`.
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::ui::ui().verbose {
            eprintln!($($arg)*);
        }
    };
}

pub(crate) use {status, verbose};
