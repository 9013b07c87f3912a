use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Forensic engine for AI-agent logs: ingest raw archives into a columnar store, then investigate.
#[derive(Debug, Parser)]
#[command(name = "tracehound", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes, before or after its name.
#[derive(Debug, clap::Args)]
pub(crate) struct GlobalArgs {
    /// Worker threads (default: all cores). Output is the same whatever the count.
    #[arg(long, global = true, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..4097))]
    pub(crate) threads: Option<usize>,
    /// Color our own labels (severities, errors): auto colors a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Print nothing on stderr but errors: no summaries, no progress bar.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// More on stderr: threads, timings, each input read.
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
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
    /// One session's events in order: calls paired with results, argument provenance, findings inline.
    #[command(
        after_help = "Example:\n  tracehound timeline fin-0001 --store case-42 --around 11 --before 5 --after 2"
    )]
    Timeline(TimelineArgs),
    /// Run every detector over every session; exit 1 when a finding reaches --fail-on.
    #[command(
        after_help = "Examples:\n  tracehound scan --store case-42 --min-severity medium --fail-on high --format jsonl --output findings.jsonl\n  tracehound scan --store /mnt/archive/case-42 --cluster sched.corp:50050 --format jsonl"
    )]
    Scan(ScanArgs),
    /// Copy the raw records and store rows behind sessions or a time window into a hashed, read-only
    /// evidence archive.
    #[command(
        after_help = "Examples:\n  tracehound preserve --store case-42 --sessions fin-0001 fin-0007 --to evidence/case-42-fin\n  tracehound preserve --store case-42 --since 2026-11-20T08:00:00Z --until 2026-11-20T10:00:00Z --to evidence/window"
    )]
    Preserve(PreserveArgs),
    /// Recompute every hash of an evidence archive (or a store) and report what changed; exit 1 on any
    /// mismatch.
    #[command(
        after_help = "Examples:\n  tracehound verify evidence/case-42-fin --seal 3f1c...e9\n  tracehound verify --store case-42 --inputs"
    )]
    Verify(VerifyArgs),
    /// The containment checklist from the findings: credentials to rotate, tools and connectors to
    /// disable or gate, hosts to block, agents to pause, each with its evidence.
    #[command(
        after_help = "Examples:\n  tracehound contain --store case-42\n  tracehound contain --store case-42 --sessions fin-0001 --format json"
    )]
    Contain(ContainArgs),
    /// A regression eval case: the conversation up to a harmful tool call and the expectation that
    /// the agent must not make it.
    #[command(
        after_help = "Examples:\n  tracehound eval-case --store case-42 --session fin-0001 --seq 6 > fin-0001-6.jsonl\n  tracehound eval-case --store case-42 --session fin-0001 --seq 6 --format promptfoo --output tests/fin-0001.json"
    )]
    EvalCase(EvalCaseArgs),
    /// A post-mortem draft in Markdown: timeline, root-cause category, impact, who to notify,
    /// detection, remediation.
    #[command(
        after_help = "Example:\n  tracehound postmortem --store case-42 --session fin-0001 --output postmortem-fin-0001.md"
    )]
    Postmortem(PostmortemArgs),
    /// Search the store's text columns for a pattern, in parallel: matching events with where they came
    /// from, or counts. Exit 0 when something matched, 1 when nothing did, 2 on error (as grep).
    #[command(
        after_help = "Examples:\n  tracehound search 'GB33BUKB20201555555555' --store case-42 -F\n  tracehound search 'ignore (all|your) previous instructions' --store case-42 -i --kind tool_result --count-by session\n  tracehound search evil.example --store case-42 --field args --since 2026-11-20T00:00:00Z --format jsonl"
    )]
    Search(SearchArgs),
    /// SQL over the store (Apache DataFusion): tables `events` and `findings`, and the detectors'
    /// building blocks as functions (instruction_score, instruction_cues, hosts, arg_values,
    /// secret_kinds, redact).
    #[command(
        after_help = "Examples:\n  tracehound sql \"SELECT tool_name, count(*) AS calls FROM events WHERE kind = 'tool_call' GROUP BY tool_name ORDER BY calls DESC\" --store case-42\n  tracehound sql \"SELECT session_id, seq, unnest(hosts(args)) AS host FROM events WHERE kind = 'tool_call'\" --store case-42\n  tracehound sql \"SELECT detector, count(*) FROM findings GROUP BY detector\" --store case-42 --format csv"
    )]
    Sql(SqlArgs),
    /// The same payload or the same planted value elsewhere: tool outputs carrying a near-identical
    /// passage, and tool calls using the same suspicious value, across every session.
    #[command(
        after_help = "Examples:\n  tracehound similar --store case-42 --session fin-0001 --seq 3\n  tracehound similar --store case-42 --finding dddae10f0c1d2e3f --format json"
    )]
    Similar(SimilarArgs),
    /// Flagged payloads clustered across the archive into campaigns: sessions, users, agents, first and
    /// last seen, and how often the injection was acted on.
    #[command(
        after_help = "Example:\n  tracehound campaigns --store case-42 --min-sessions 2 --format json"
    )]
    Campaigns(CampaignsArgs),
    /// Metrics per day, agent, model and tool, and the change points where a model changed and flag
    /// rates moved with it.
    #[command(after_help = "Example:\n  tracehound stats --store case-42 --by model")]
    Stats(StatsArgs),
    /// The nightly anomaly report: findings by severity, the sessions that need a human first,
    /// threshold breaches, campaigns, charts over time; HTML (self-contained), Markdown or JSON by the
    /// output's extension. Exit 1 when a finding reaches --fail-on.
    #[command(
        after_help = "Example:\n  tracehound report --store case-42 --since 2026-11-20T00:00:00Z --until 2026-11-21T00:00:00Z --output nightly.html --fail-on high"
    )]
    Report(ReportArgs),
    /// Events out of the store for other tools: Timesketch JSONL, one stored event per JSON line, or
    /// CSV; all of them, some sessions', or a time window's.
    #[command(
        after_help = "Examples:\n  tracehound export --store case-42 --format timesketch --output case-42.timesketch.jsonl\n  tracehound export --store case-42 --format csv --session fin-0001 > fin-0001.csv\n  tracehound export --store case-42 --format jsonl --since 24h"
    )]
    Export(ExportArgs),
    /// Run a Ballista scheduler or executor that knows tracehound's functions, for `scan --cluster`
    /// and `sql --cluster` over archives larger than one machine.
    #[command(
        subcommand,
        after_help = "Example:\n  tracehound cluster scheduler --bind 0.0.0.0:50050\n  tracehound cluster executor --scheduler sched.corp:50050 --bind-host 0.0.0.0\n  tracehound scan --store /mnt/archive/case-42 --cluster sched.corp:50050"
    )]
    Cluster(ClusterCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  tracehound completions bash > ~/.local/share/bash-completion/completions/tracehound\n  tracehound completions zsh > ~/.zfunc/_tracehound\n  tracehound completions fish > ~/.config/fish/completions/tracehound.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these same definitions.
    #[command(after_help = "Example:\n  tracehound man > tracehound.1 && man ./tracehound.1")]
    Man,
    /// Scan policies: `tracehound policy init > policy.toml` writes the commented default.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// Start a scheduler; it plans each job and hands its tasks to the executors.
    #[command(
        after_help = "Example:\n  tracehound cluster scheduler --bind 0.0.0.0:50050 --external-host sched.corp"
    )]
    Scheduler {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// Host name other nodes reach this scheduler at (default: the bind address).
        #[arg(long)]
        external_host: Option<String>,
    },
    /// Start an executor; it registers with the scheduler and runs tasks over the shared store.
    #[command(
        after_help = "Example:\n  tracehound cluster executor --scheduler sched.corp:50050 --bind-host 0.0.0.0 --external-host node7.corp --work-dir /scratch/tracehound"
    )]
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// Host name other nodes reach this executor at (default: the bind address).
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port: other executors fetch shuffle data from it.
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port: the scheduler sends tasks to it.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks run at once (default: --threads, else all cores).
        #[arg(long)]
        concurrent_tasks: Option<usize>,
        /// Directory for shuffle files (default: a temporary directory).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Print the default policy, every setting commented.
    #[command(
        after_help = "Example:\n  tracehound policy init > policy.toml && tracehound scan --store case-42 --policy policy.toml"
    )]
    Init,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TimelineArgs {
    /// The session id.
    pub(crate) session: String,
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Center on this seq, or on the event nearest this RFC 3339 time.
    #[arg(long)]
    pub(crate) around: Option<String>,
    /// Events shown before the center.
    #[arg(long, default_value_t = 10)]
    pub(crate) before: usize,
    /// Events shown after the center.
    #[arg(long, default_value_t = 10)]
    pub(crate) after: usize,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    /// Report only findings at or above this severity.
    #[arg(long, value_parser = ["info", "low", "medium", "high", "critical"])]
    pub(crate) min_severity: Option<String>,
    /// Exit with code 1 when a finding at or above this severity exists.
    #[arg(long, value_parser = ["info", "low", "medium", "high", "critical"])]
    pub(crate) fail_on: Option<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Write findings here instead of stdout; a path ending in `.parquet` writes Parquet (the table, JSON,
    /// JSONL or CSV format is then ignored).
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    /// Most findings held in memory (about 1 KB each); a scan that would hold more stops with an error.
    #[arg(long, default_value_t = tracehound_query::DEFAULT_MAX_FINDINGS)]
    pub(crate) max_findings: u64,
    /// Which engine runs the detectors: tracehound's own parallel scan, or Apache DataFusion (the
    /// `session_findings` aggregate, as a cluster runs it). The findings are the same.
    #[arg(long, value_enum, default_value_t = Engine::Native)]
    pub(crate) engine: Engine,
    /// Run on the Ballista cluster whose scheduler is at HOST:PORT (every node must see the store at
    /// the same path); the findings are the local scan's.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "engine")]
    pub(crate) cluster: Option<String>,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(true).args(["sessions", "since", "until"])))]
pub(crate) struct PreserveArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Sessions to preserve, whole.
    #[arg(long, num_args = 1.., conflicts_with_all = ["since", "until"])]
    pub(crate) sessions: Vec<String>,
    /// Start of a time window (RFC 3339, or relative: 24h, 7d), inclusive: every event at or after it.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// End of a time window (RFC 3339, or relative: 24h, 7d), inclusive.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// The archive directory to create; it must not exist.
    #[arg(long)]
    pub(crate) to: PathBuf,
    /// Directory relative input paths in the store are resolved from (where ingest ran); default: here.
    #[arg(long)]
    pub(crate) input_root: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The evidence archive to verify.
    #[arg(required_unless_present = "store", conflicts_with = "store")]
    pub(crate) archive: Option<PathBuf>,
    /// Verify a store instead: every file its manifest lists.
    #[arg(long)]
    pub(crate) store: Option<PathBuf>,
    /// The seal printed when the archive was written; a different manifest is reported.
    #[arg(long, conflicts_with = "store")]
    pub(crate) seal: Option<String>,
    /// With --store: also check every raw input against the SHA-256 it had at ingest.
    #[arg(long, requires = "store")]
    pub(crate) inputs: bool,
    /// With --inputs: directory relative input paths are resolved from.
    #[arg(long, requires = "inputs")]
    pub(crate) input_root: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SearchArgs {
    /// A regular expression (Rust syntax), or a literal string with --fixed.
    pub(crate) pattern: String,
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Columns to search (repeat or comma-separate): content, args, tool_name, attributes, session_id,
    /// user_id, agent_id, model, event_id, call_id, source_file. Default: content and args.
    #[arg(long, value_delimiter = ',')]
    pub(crate) field: Vec<String>,
    /// Only events of these kinds (repeat or comma-separate), e.g. tool_result.
    #[arg(long, value_delimiter = ',')]
    pub(crate) kind: Vec<String>,
    /// The pattern is a regular expression (the default).
    #[arg(long, conflicts_with = "fixed")]
    pub(crate) regex: bool,
    /// The pattern is a literal string.
    #[arg(long, short = 'F')]
    pub(crate) fixed: bool,
    #[arg(long, short = 'i')]
    pub(crate) ignore_case: bool,
    /// Only events at or after this time (RFC 3339, or relative: 24h, 7d).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only events at or before this time (RFC 3339, or relative: 24h, 7d).
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Print counts of matching events per group instead of the events.
    #[arg(long, value_parser = ["session", "tool", "agent", "day"])]
    pub(crate) count_by: Option<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SqlArgs {
    /// One SQL statement.
    pub(crate) query: String,
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The policy the `findings` table is scanned with.
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Run on the Ballista cluster whose scheduler is at HOST:PORT (every node must see the store at
    /// the same path). The `findings` table is local only.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) cluster: Option<String>,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("seed").required(true).args(["session", "finding"])))]
pub(crate) struct SimilarArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The session of the seed event (with --seq).
    #[arg(long, requires = "seq")]
    pub(crate) session: Option<String>,
    /// The seed event: a tool output (its injected passage) or a tool call (its planted values).
    #[arg(long)]
    pub(crate) seq: Option<u32>,
    /// Or the id of a finding (from `scan`) as the seed.
    #[arg(long, conflicts_with_all = ["session", "seq"])]
    pub(crate) finding: Option<String>,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CampaignsArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Smallest number of sessions a cluster needs to be listed.
    #[arg(long, default_value_t = 2)]
    pub(crate) min_sessions: usize,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Which table to print (table format); JSON holds them all.
    #[arg(long, value_parser = ["day", "agent", "model", "tool", "all"], default_value = "all")]
    pub(crate) by: String,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Start of the window (RFC 3339, or relative: 24h, 7d), inclusive.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// End of the window (RFC 3339, or relative: 24h, 7d), inclusive.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// The report file: `.html`, `.md` or `.json`.
    #[arg(long)]
    pub(crate) output: PathBuf,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    /// Exit with code 1 when a finding in the window is at or above this severity.
    #[arg(long, value_parser = ["info", "low", "medium", "high", "critical"])]
    pub(crate) fail_on: Option<String>,
    /// Most findings held in memory (about 1 KB each); a scan that would hold more stops with an error.
    #[arg(long, default_value_t = tracehound_query::DEFAULT_MAX_FINDINGS)]
    pub(crate) max_findings: u64,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ContainArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Only these sessions (default: every session, from a full scan).
    #[arg(long, num_args = 1..)]
    pub(crate) sessions: Vec<String>,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub(crate) format: ReportFormat,
    /// Write here instead of stdout.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EvalCaseArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    #[arg(long)]
    pub(crate) session: String,
    /// The seq of the harmful tool call; the case is cut just before it.
    #[arg(long)]
    pub(crate) seq: u32,
    #[arg(long, value_enum, default_value_t = EvalFormat::Jsonl)]
    pub(crate) format: EvalFormat,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    /// Write here instead of stdout.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    /// Keep credentials found in the conversation instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EvalFormat {
    /// One JSON object per line (docs/incident-response.md documents its fields).
    Jsonl,
    /// A promptfoo test list (JSON, which is also YAML): `tests: file://case.json`.
    Promptfoo,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PostmortemArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The incident's sessions.
    #[arg(long, num_args = 1.., required = true)]
    pub(crate) session: Vec<String>,
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub(crate) format: ReportFormat,
    /// Write here instead of stdout.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    /// Show credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    #[arg(long)]
    pub(crate) store: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub(crate) format: ExportFormat,
    /// Only these sessions (repeat, or several after one flag); default: every session.
    #[arg(long, num_args = 1..)]
    pub(crate) session: Vec<String>,
    /// Only events at or after this time (RFC 3339, or relative: 24h, 7d).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only events at or before this time (RFC 3339, or relative: 24h, 7d).
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Write here instead of stdout.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    /// Keep credentials found in log content instead of redacting them.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// Timesketch JSONL: message, datetime, timestamp, timestamp_desc, the rest as attributes.
    Timesketch,
    /// One stored event per line, every column.
    Jsonl,
    /// Every column, formula-guarded.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Engine {
    /// Buckets in parallel on this machine's cores (fastest on one machine).
    Native,
    /// Apache DataFusion on this machine.
    Datafusion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    Table,
    Json,
    Jsonl,
    Csv,
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
    /// Longest line parsed, in bytes; longer lines are rejected.
    #[arg(long, default_value_t = 64 << 20)]
    pub(crate) max_line: usize,
    /// Largest JSON document read whole, in bytes.
    #[arg(long, default_value_t = 512 << 20)]
    pub(crate) max_document: u64,
    /// Most bytes a compressed file may expand to.
    #[arg(long, default_value_t = 64 << 30)]
    pub(crate) max_decompressed: u64,
    /// Deepest nesting of arrays and objects in a record (at most 1024); deeper records are rejected.
    #[arg(long, default_value_t = 256, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=tracehound_ingest::MAX_DEPTH_CEILING as u64))]
    pub(crate) max_depth: usize,
    /// Memory for buffered events before spilling to disk, in MiB.
    #[arg(long, default_value_t = 64)]
    pub(crate) memory_mb: usize,
    /// zstd level of the large text columns (content, args, attributes).
    #[arg(long, default_value_t = 1)]
    pub(crate) zstd_text_level: i32,
    /// zstd level of the other columns.
    #[arg(long, default_value_t = 3)]
    pub(crate) zstd_level: i32,
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
