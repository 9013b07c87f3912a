use super::ExitStatus;
use crate::args::ClusterCommand;

/// Runs a scheduler or an executor in the foreground until it is stopped (Ctrl-C, SIGTERM).
pub(crate) fn run(cmd: ClusterCommand) -> anyhow::Result<ExitStatus> {
    // Ballista reports through `log`: warnings (lost executors, failed tasks) always, its progress
    // with --verbose, anything RUST_LOG asks for.
    let level = if crate::ui::ui().verbose {
        "info"
    } else {
        "warn"
    };
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .try_init();
    let threads = crate::ui::ui().threads;
    let rt = tracehound_sql::runtime(threads)?;
    match cmd {
        ClusterCommand::Scheduler {
            bind,
            external_host,
        } => {
            crate::ui::status!("tracehound scheduler listening on {bind}");
            rt.block_on(tracehound_cluster::run_scheduler(bind, external_host))?;
        }
        ClusterCommand::Executor {
            scheduler,
            bind_host,
            external_host,
            port,
            grpc_port,
            concurrent_tasks,
            work_dir,
        } => {
            crate::ui::status!(
                "tracehound executor on {bind_host} (flight {port}, grpc {grpc_port}) for scheduler {}",
                crate::output::terminal_safe(&scheduler)
            );
            rt.block_on(tracehound_cluster::run_executor(
                tracehound_cluster::ExecutorOptions {
                    scheduler,
                    bind_host,
                    external_host,
                    port,
                    grpc_port,
                    concurrent_tasks: concurrent_tasks.or(threads),
                    work_dir,
                },
            ))?;
        }
    }
    Ok(ExitStatus::Clean)
}
