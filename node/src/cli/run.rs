//! `parley run`: load the plugins and serve until told to stop.

use super::{default_config, CliError, CliResult};
use crate::config::{LogFormat, NodeConfig};
use crate::host::{NodePlugins, SectionEvent};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `parley run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node's config file.
    #[arg(long, short, default_value_os_t = default_config())]
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
    crate::logging::init(&config.node.log_level, format);
    create_private_dir(&config.node.data_dir)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("parley")
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(config, verbose))
}

async fn serve(config: NodeConfig, verbose: bool) -> CliResult {
    tracing::info!(config = %config.file.display(), data_dir = %config.node.data_dir.display(), "starting parley {}", env!("CARGO_PKG_VERSION"));
    let key = crate::wire::NodeKey::load_or_create(&config.node.key_file).map_err(|e| {
        CliError::new(format!(
            "cannot use the node key {} ([node] key_file in {}): {e}",
            config.node.key_file.display(),
            config.file.display()
        ))
    })?;
    tracing::info!(node_id = %key.node_id(), "node identity");
    let mut plugins = NodePlugins::load(&config).map_err(|e| CliError::load(e, verbose))?;
    for (section, library) in &plugins.libraries {
        tracing::info!(
            section,
            plugin = %library.name,
            version = %library.version,
            path = %library.path.display(),
            "loaded {} plugin `{}` {}",
            library.kind,
            library.name,
            library.version
        );
    }
    let info = plugins
        .chain
        .info()
        .map_err(|e| CliError::new(format!("the chain backend cannot describe itself: {e}")))?;
    let assets: Vec<&str> = info.assets.iter().map(|a| a.name.as_str()).collect();
    tracing::info!(chain_id = info.chain_id, backend = %info.backend, assets = ?assets, "chain ready");
    let bound = plugins.transport.listen(&config.wire.listen).map_err(|e| {
        CliError::new(format!(
            "cannot listen on {} ([wire] listen in {}): {e}",
            config.wire.listen,
            config.file.display()
        ))
    })?;
    tracing::info!(address = %bound, "listening");

    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            signal = &mut stop => {
                tracing::info!("{signal} received, shutting down");
                break;
            }
            Some(SectionEvent { section, event }) = plugins.events.recv() => {
                tracing::debug!(section, ?event, "plugin event");
            }
        }
    }
    // Dropping the instances closes the transport, the store and the chain in that order.
    let NodePlugins {
        chain,
        transport,
        store,
        ..
    } = plugins;
    drop(transport);
    drop(chain);
    drop(store);
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

/// Creates the data directory readable by the owner only (it will hold keys).
pub(crate) fn create_private_dir(dir: &std::path::Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            CliError::new(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })
}
