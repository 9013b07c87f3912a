//! SQL over a tracehound store, on Apache DataFusion. One function, [`session_context`], builds the
//! session every SQL path uses: the store's committed Parquet files as table `events`, the detectors'
//! findings as table `findings` (computed only when a query names it), and the detectors' building
//! blocks as SQL functions. The detectors stay in `tracehound-query`, engine-free; this crate only
//! adapts them.
//!
//! Functions (each takes text, NULL in gives NULL out):
//!
//! | function | returns |
//! |---|---|
//! | `instruction_score(text)` | how much a text reads as instructions to a model, 0 to 1 (detector 1's score) |
//! | `instruction_cues(text)` | the cue names behind that score |
//! | `hosts(text)` | the distinct hosts of the URLs in a text, lowercased |
//! | `arg_values(args)` | the values inside a tool call's JSON arguments (strings, numbers, emails, URLs, ...) |
//! | `secret_kinds(text)` | `kind:fingerprint` of each credential in a text (never the secret) |
//! | `redact(text)` | the text with credentials replaced by kind and fingerprint |

mod functions;
mod scan_fn;

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::FunctionRegistry;
use datafusion::prelude::SessionConfig;
use futures::StreamExt;
use tracehound_query::{Finding, Policy, ScanBuilder, ScanResult, Store};

pub use datafusion;
pub use scan_fn::{scan_sql, session_scans, ScanOptions};

/// Errors of the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Query(#[from] tracehound_query::QueryError),
    /// The engine's results fail the scan's own checks: nothing is reported from such a run.
    #[error("the scan's results are incomplete or inconsistent, so none are reported: {0}; run it again (on a cluster, check that every executor is up)")]
    Incomplete(String),
}

/// What the session needs besides the store.
#[derive(Debug, Clone, Default)]
pub struct SqlOptions {
    /// The policy the `findings` table is scanned with.
    pub policy: Policy,
    /// Target partitions (DataFusion's parallelism); all cores when `None`.
    pub threads: Option<usize>,
}

/// The configuration every session shares: plain Utf8 strings (what our functions and every
/// downstream reader expect), footer statistics, and the parallelism asked for.
pub fn session_config(threads: Option<usize>) -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
        // Statistics from the footers let `count(*)` and min/max skip reading data.
        .set_bool("datafusion.execution.collect_statistics", true);
    if let Some(n) = threads {
        config = config.with_target_partitions(n.max(1));
    }
    config
}

/// The one place a DataFusion session state is built: DataFusion's defaults (every built-in
/// function), our configuration, and our functions. Local SQL, the local DataFusion scan, the Ballista
/// client and Ballista executors all start from it.
pub fn session_state(threads: Option<usize>) -> Result<SessionState, SqlError> {
    session_state_from(session_config(threads))
}

/// [`session_state`] with a configuration of the caller's (a Ballista scheduler hands one per job).
pub fn session_state_from(config: SessionConfig) -> Result<SessionState, SqlError> {
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    register_functions_on(&mut state)?;
    Ok(state)
}

/// Registers our functions on a state or any other function registry (a cluster executor's).
pub fn register_functions_on(registry: &mut dyn FunctionRegistry) -> Result<(), SqlError> {
    for f in functions::all() {
        registry.register_udf(Arc::new(f))?;
    }
    registry.register_udf(Arc::new(scan_fn::ScanFindings::udf()))?;
    registry.register_udaf(Arc::new(scan_fn::SessionFindings::udaf()))?;
    Ok(())
}

/// The session: `events` over the store's committed files, our functions, and `findings` when the
/// statement names it. Only files the manifest lists are registered, so an ingest in progress is
/// invisible here as everywhere else.
pub async fn session_context(
    store: &Store,
    sql: &str,
    opts: &SqlOptions,
) -> Result<SessionContext, SqlError> {
    let ctx = SessionContext::new_with_state(session_state(opts.threads)?);
    register_events(&ctx, store)?;
    if names_findings_in(&ctx, sql) {
        let findings = ScanBuilder::new()
            .policy(opts.policy.clone())
            .threads(opts.threads.unwrap_or(0))
            .build()
            .run(store)?
            .findings;
        register_findings(&ctx, &findings)?;
    } else {
        // Registered empty so `information_schema` lists it and a typo elsewhere is not blamed on it.
        register_findings(&ctx, &[])?;
    }
    Ok(ctx)
}

/// Registers every SQL function of this crate on a context (the Ballista client does this on the
/// context it is handed back, whose registry the remote constructor reset).
pub fn register_functions(ctx: &SessionContext) -> Result<(), SqlError> {
    register_functions_on(&mut *ctx.state_ref().write())
}

/// Every detector over every session, run by the engine behind `ctx` (local DataFusion, or a
/// Ballista cluster) through `session_findings`, streamed back and joined exactly as the in-process
/// scan joins its sessions. `ctx` must have `events` and our functions registered.
pub async fn scan_stream(
    ctx: &SessionContext,
    store: &Store,
    opts: &ScanOptions,
    max_findings: u64,
) -> Result<ScanResult, SqlError> {
    let started = std::time::Instant::now();
    let builder = opts.builder().max_findings(max_findings);
    let mut stream = ctx.sql(&scan_sql(opts)).await?.execute_stream().await?;
    // Each session's result, once. An engine may deliver a session twice (Ballista 55 does, after it
    // reruns a stage whose executor was lost): identical copies are the same deterministic result and
    // one is kept; copies that differ mean the run cannot be trusted.
    let mut parts: std::collections::HashMap<String, tracehound_query::SessionScan> =
        std::collections::HashMap::new();
    let mut held = 0u64;
    'read: while let Some(batch) = stream.next().await {
        for part in session_scans(&batch?)? {
            match parts.get(&part.stats.session_id) {
                Some(seen) if *seen == part => continue,
                Some(_) => {
                    return Err(SqlError::Incomplete(format!(
                        "the engine returned session `{}` twice with different results",
                        part.stats.session_id
                    )))
                }
                None => {}
            }
            held += part.findings.len() as u64;
            parts.insert(part.stats.session_id.clone(), part);
            if held > max_findings {
                // Assembling reports the limit with what to do; stop reading now.
                break 'read;
            }
        }
    }
    if held <= max_findings {
        // Every stored event must be in exactly one session's result: a lost partition would
        // otherwise pass for an archive with fewer sessions.
        let got: u64 = parts.values().map(|p| p.events).sum();
        let stored = store.manifest().total_events();
        if got != stored {
            return Err(SqlError::Incomplete(format!(
                "the engine's results cover {got} of the store's {stored} events"
            )));
        }
    }
    let input_bytes = store.manifest().inputs.iter().map(|i| i.size).sum();
    Ok(builder.assemble(parts.into_values().collect(), input_bytes, started)?)
}

/// [`scan_stream`] on local DataFusion.
pub async fn scan(
    store: &Store,
    opts: &ScanOptions,
    max_findings: u64,
    threads: Option<usize>,
) -> Result<ScanResult, SqlError> {
    let ctx = SessionContext::new_with_state(session_state(threads)?);
    register_events(&ctx, store)?;
    scan_stream(&ctx, store, opts, max_findings).await
}

/// Registers the store's committed event files as table `events`.
pub fn register_events(ctx: &SessionContext, store: &Store) -> Result<(), SqlError> {
    let schema = tracehound_schema::arrow_schema();
    let files: Vec<ListingTableUrl> = store
        .manifest()
        .event_files()
        .map(|f| {
            let path = store.layout().resolve(&f.path);
            let abs = std::path::absolute(&path).unwrap_or(path);
            ListingTableUrl::parse(abs.to_string_lossy())
        })
        .collect::<Result<_, _>>()?;
    if files.is_empty() {
        let empty = MemTable::try_new(schema, vec![vec![]])?;
        ctx.register_table("events", Arc::new(empty))?;
        return Ok(());
    }
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(files)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table("events", Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

fn register_findings(ctx: &SessionContext, findings: &[Finding]) -> Result<(), SqlError> {
    let batch: RecordBatch = tracehound_query::findings_batch(findings);
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    ctx.register_table("findings", Arc::new(table))?;
    Ok(())
}

/// Whether a statement reads the `findings` table.
pub fn names_findings(sql: &str) -> bool {
    names_findings_in(&SessionContext::new(), sql)
}

/// Whether the statement reads `findings`: the scan behind it costs a pass over the whole store, so it
/// runs only when asked for. A statement that does not parse is left to DataFusion's error.
fn names_findings_in(ctx: &SessionContext, sql: &str) -> bool {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let Ok(statement) = state.sql_to_statement(sql, &dialect) else {
        return false;
    };
    state
        .resolve_table_references(&statement)
        .map(|refs| {
            refs.iter()
                .any(|r| r.table().eq_ignore_ascii_case("findings"))
        })
        .unwrap_or(true)
}

/// A statement's result: its schema (known even when no row came back) and its rows.
pub type SqlResult = (datafusion::arrow::datatypes::SchemaRef, Vec<RecordBatch>);

/// Runs one statement and collects its result.
pub async fn run(store: &Store, sql: &str, opts: &SqlOptions) -> Result<SqlResult, SqlError> {
    let ctx = session_context(store, sql, opts).await?;
    run_on(&ctx, sql).await
}

/// Runs one statement on a prepared context (local, or a cluster's) and collects its result.
pub async fn run_on(ctx: &SessionContext, sql: &str) -> Result<SqlResult, SqlError> {
    let df = ctx.sql(sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    Ok((schema, df.collect().await?))
}

/// [`run`] on a runtime of its own, for callers that are not async.
pub fn run_blocking(store: &Store, sql: &str, opts: &SqlOptions) -> Result<SqlResult, SqlError> {
    runtime(opts.threads)?.block_on(run(store, sql, opts))
}

/// A multi-threaded tokio runtime with `threads` workers (all cores when `None`).
pub fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, SqlError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = threads {
        rt.worker_threads(n.max(1));
    }
    rt.build().map_err(|e| {
        SqlError::DataFusion(datafusion::error::DataFusionError::External(Box::new(e)))
    })
}
