//! The node's log output: `tracing` lines as text (default) or JSON, on stderr.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global logger. `filter` is a level or directives (`info`, `parley=debug,warn`);
/// `RUST_LOG`, if set, wins. Calling it twice keeps the first logger.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
