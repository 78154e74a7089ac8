//! `parley run`: start the node (plugins, peers, API) and serve until told to stop.

use super::{default_config, CliError, CliResult};
use crate::assembly::{Node, NodeError};
use crate::config::{LogFormat, NodeConfig};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Arguments of `parley run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node's config file.
    #[arg(long, short, env = "PARLEY_CONFIG", default_value_os_t = default_config())]
    config: PathBuf,
    /// Log format, overriding `[node] log_format`.
    #[arg(long, value_parser = ["text", "json"])]
    log_format: Option<String>,
}

pub fn run(args: RunArgs, verbose: bool) -> CliResult {
    let config = NodeConfig::load(&args.config)?;
    let format = match args.log_format.as_deref() {
        Some("json") => LogFormat::Json,
        Some(_) => LogFormat::Text,
        None => config.node.log_format,
    };
    // The data directory first: the log file may live in it.
    create_private_dir(&config.node.data_dir)?;
    crate::logging::init_with_file(
        &config.node.log_level,
        format,
        config.node.log_file.as_deref(),
    )
    .map_err(CliError::new)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("parley")
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(serve(config, verbose));
    // A chain call blocked on a thread (a deposit waiting for the peer's) must not hold up the
    // exit: it resumes where it left off on the next start, since funding is idempotent.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

async fn serve(config: NodeConfig, verbose: bool) -> CliResult {
    tracing::info!(config = %config.file.display(), data_dir = %config.node.data_dir.display(), "starting parley {}", env!("CARGO_PKG_VERSION"));
    let signals = ShutdownSignals::register()?;
    let node = Node::start(&config).await.map_err(|error| match error {
        NodeError::Load(error) => CliError::load(error, verbose),
        other => CliError::new(other),
    })?;
    let signal = signals.received().await;
    tracing::info!("{signal} received, shutting down");
    node.shutdown().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT, listened for from creation on: registering them before the node
/// starts means a signal sent as soon as the log says "listening" still stops it cleanly.
struct ShutdownSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl ShutdownSignals {
    fn register() -> Result<ShutdownSignals, CliError> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| CliError::new(format!("cannot listen for {name}: {e}")))
        };
        Ok(ShutdownSignals {
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
        })
    }

    /// Completes with the name of the first signal received.
    async fn received(mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Creates the data directory readable by the owner only (it will hold keys).
pub(crate) fn create_private_dir(dir: &std::path::Path) -> Result<(), CliError> {
    crate::data_dir_lock::create_private_dir(dir).map_err(|e| {
        CliError::new(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })
}
