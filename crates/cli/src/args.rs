use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Forensic engine for AI-agent logs: ingest raw archives into a columnar store, then investigate.
#[derive(Debug, Parser)]
#[command(name = "tracehound", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read raw agent logs (files, directories, .gz, .zst) into a store.
    #[command(
        after_help = "Example:\n  tracehound ingest ~/.claude/projects logs/*.jsonl.gz --store case-42"
    )]
    Ingest(IngestArgs),
    /// Show what a store holds: inputs, formats, events per kind.
    #[command(after_help = "Example:\n  tracehound info --store case-42 --format json")]
    Info(InfoArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct IngestArgs {
    /// Files or directories to read (directories recursively).
    #[arg(required = true)]
    pub(crate) inputs: Vec<PathBuf>,
    /// The store directory (created if missing; ingesting again adds to it).
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Force one input format instead of detecting it per file.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(tracehound_ingest::format_names()))]
    pub(crate) format: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Longest line parsed, in bytes; longer lines are rejected.
    #[arg(long, default_value_t = 64 << 20)]
    pub(crate) max_line: usize,
    /// Largest JSON document read whole, in bytes.
    #[arg(long, default_value_t = 512 << 20)]
    pub(crate) max_document: u64,
    /// Most bytes a compressed file may expand to.
    #[arg(long, default_value_t = 64 << 30)]
    pub(crate) max_decompressed: u64,
    /// Memory for buffered events before spilling to disk, in MiB.
    #[arg(long, default_value_t = 64)]
    pub(crate) memory_mb: usize,
    /// zstd level of the large text columns (content, args, attributes).
    #[arg(long, default_value_t = 1)]
    pub(crate) zstd_text_level: i32,
    /// zstd level of the other columns.
    #[arg(long, default_value_t = 3)]
    pub(crate) zstd_level: i32,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InfoArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}
