//! tracehound on an Apache DataFusion Ballista cluster: a scheduler and executors that know our
//! functions, and a client that runs the same scan and SQL the local commands run.
//!
//! Everything engine-side starts from [`tracehound_sql::session_state`]: the scheduler builds each
//! job's session from it, executors resolve functions from a registry made of it, and the client
//! connects with it. The detectors themselves stay in `tracehound-query`, engine-free; the scan is the
//! `session_findings` aggregate (`tracehound-sql`), which Ballista runs like any other aggregate: a
//! partial aggregate per input partition on the executors, the rows of each session shuffled by
//! `session_id` to one final aggregate, which runs the detectors.
//!
//! Executors read the store's Parquet files by the absolute paths the client registers, so every
//! node must see the store at the same path (a shared mount); see docs/distributed.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista::extension::SessionContextExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use tracehound_query::{ScanResult, Store};
use tracehound_sql::datafusion::prelude::{SessionConfig, SessionContext};
use tracehound_sql::{ScanOptions, SqlError, SqlResult};

/// Errors of the cluster layer, each saying which side failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("the Ballista {side} failed: {message}")]
    Ballista { side: &'static str, message: String },
    #[error("cannot reach the scheduler at {address}: {message}")]
    Connect { address: String, message: String },
}

fn ballista(side: &'static str) -> impl Fn(ballista_core::error::BallistaError) -> ClusterError {
    move |e| ClusterError::Ballista {
        side,
        message: e.to_string(),
    }
}

/// Seconds without a heartbeat after which the scheduler declares an executor lost.
pub const EXECUTOR_TIMEOUT_SECONDS: u64 = 15;

/// Runs a scheduler until the process ends. Each job's session is built by
/// [`tracehound_sql::session_state_from`], so it can plan statements that use our functions.
pub async fn run_scheduler(
    bind: SocketAddr,
    external_host: Option<String>,
) -> Result<(), ClusterError> {
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: external_host.unwrap_or_else(|| bind.ip().to_string()),
        override_session_builder: Some(Arc::new(|config: SessionConfig| {
            tracehound_sql::session_state_from(config).map_err(|e| {
                tracehound_sql::datafusion::error::DataFusionError::External(Box::new(e))
            })
        })),
        // A lost executor is noticed within EXECUTOR_TIMEOUT_SECONDS (executors beat every 5 s) and
        // its tasks rerun elsewhere; with no executor left, jobs fail after the same grace instead
        // of waiting. Ballista's defaults (180 s) would leave an investigator staring at a stalled
        // query for minutes.
        executor_timeout_seconds: EXECUTOR_TIMEOUT_SECONDS,
        expire_dead_executor_interval_seconds: 5,
        no_executors_grace_period_seconds: EXECUTOR_TIMEOUT_SECONDS,
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(ballista("scheduler"))?;
    ballista_scheduler::scheduler_process::start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(ballista("scheduler"))
}

/// Where an executor listens and whom it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `host:port`.
    pub scheduler: String,
    /// Address to bind the executor's services on.
    pub bind_host: String,
    /// Address other nodes reach this executor at (default: `bind_host`).
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle data is fetched from it).
    pub port: u16,
    /// gRPC port (tasks arrive on it).
    pub grpc_port: u16,
    /// Tasks run at once (default: all cores).
    pub concurrent_tasks: Option<usize>,
    /// Where shuffle files are written (default: a temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// Runs an executor until the process ends. Its function registry is built from a full default
/// session state plus ours ([`tracehound_sql::session_state`]): Ballista's own default registry lacks
/// DataFusion's nested-array functions, which plans using `unnest` or our list functions need.
pub async fn run_executor(opts: ExecutorOptions) -> Result<(), ClusterError> {
    let (host, port) = split_host_port(&opts.scheduler)?;
    let state = tracehound_sql::session_state(None)?;
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: opts.bind_host.clone(),
        external_host: Some(opts.external_host.unwrap_or(opts.bind_host)),
        port: opts.port,
        grpc_port: opts.grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        scheduler_connect_timeout_seconds: 30,
        vcores: opts.concurrent_tasks.unwrap_or(defaults.vcores).max(1),
        work_dir: opts.work_dir.map(|p| p.display().to_string()),
        // Liveness is how the scheduler notices a lost executor: beat often.
        executor_heartbeat_interval_seconds: 5,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        ..defaults
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(ballista("executor"))
}

fn split_host_port(address: &str) -> Result<(String, u16), ClusterError> {
    let bad = || ClusterError::Connect {
        address: address.to_string(),
        message: "expected HOST:PORT, e.g. 10.0.0.5:50050".into(),
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// A session on the cluster whose scheduler is at `address` (`host:port`), with our functions
/// registered (the remote constructor resets the registry it is given) and the store's events.
pub async fn connect(
    address: &str,
    store: &Store,
    threads: Option<usize>,
) -> Result<SessionContext, ClusterError> {
    let (host, port) = split_host_port(address)?;
    let url = format!("df://{host}:{port}");
    let state = client_state(threads)?;
    let ctx = SessionContext::remote_with_state(&url, state)
        .await
        .map_err(|e| ClusterError::Connect {
            address: address.to_string(),
            message: e.to_string(),
        })?;
    ready(ctx, store)
}

/// A cluster inside this process (a scheduler and one executor): what the tests run every time.
pub async fn standalone(
    store: &Store,
    threads: Option<usize>,
) -> Result<SessionContext, ClusterError> {
    let state = tracehound_sql::session_state(threads)?;
    let ctx = SessionContext::standalone_with_state(state)
        .await
        .map_err(|e| ClusterError::Ballista {
            side: "standalone cluster",
            message: e.to_string(),
        })?;
    ready(ctx, store)
}

/// The client's session state: ours, with Ballista's settings. Adaptive query planning is off: with
/// it, Ballista 55 left a scan stalled for good after an executor was lost mid-job (the rolled-back
/// stage never accepted the surviving executor's results); the static planner reruns the lost work.
fn client_state(
    threads: Option<usize>,
) -> Result<tracehound_sql::datafusion::execution::session_state::SessionState, ClusterError> {
    use ballista_core::extension::SessionConfigExt;
    let config = tracehound_sql::session_config(threads)
        .upgrade_for_ballista()
        .with_ballista_adaptive_query_planner(false);
    Ok(tracehound_sql::session_state_from(config)?)
}

fn ready(ctx: SessionContext, store: &Store) -> Result<SessionContext, ClusterError> {
    tracehound_sql::register_functions(&ctx)?;
    tracehound_sql::register_events(&ctx, store)?;
    Ok(ctx)
}

/// Every detector over every session, on the cluster: the same result as the local scan.
pub async fn scan(
    ctx: &SessionContext,
    store: &Store,
    opts: &ScanOptions,
    max_findings: u64,
) -> Result<ScanResult, ClusterError> {
    Ok(tracehound_sql::scan_stream(ctx, store, opts, max_findings).await?)
}

/// One SQL statement on the cluster. The `findings` table is not available there (it is the local
/// scan's result); `session_findings` and `scan_findings` are.
pub async fn sql(ctx: &SessionContext, statement: &str) -> Result<SqlResult, ClusterError> {
    Ok(tracehound_sql::run_on(ctx, statement).await?)
}
