//! The host's side of the log and event sinks handed to every plugin instance.

use parley_plugin_api::abi::HostContext;
use parley_plugin_api::model::PluginEvent;
use parley_plugin_api::{host_context, LogLevel};
use std::path::Path;
use tokio::sync::mpsc::UnboundedSender;

/// An event together with the `node.toml` section of the plugin that emitted it.
#[derive(Debug, Clone)]
pub struct SectionEvent {
    /// `chain`, `wire`, `store`, ...
    pub section: String,
    /// The event.
    pub event: PluginEvent,
}

/// The most detailed level the node's logger prints right now, for plugins to skip the rest.
fn current_max_level() -> LogLevel {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF | LevelFilter::ERROR => LogLevel::Error,
        LevelFilter::WARN => LogLevel::Warn,
        LevelFilter::INFO => LogLevel::Info,
        LevelFilter::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

/// A context whose log lines go to the node's `tracing` logger (target `plugin`, with the
/// section and the plugin's module path as fields) and whose events go to `events`. Sending
/// never blocks: the channel is unbounded and drained by the node's event loop.
pub fn node_host_context(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    events: UnboundedSender<SectionEvent>,
) -> HostContext {
    let log_section = section.to_string();
    let event_section = section.to_string();
    host_context(
        section,
        data_dir,
        config_dir,
        current_max_level(),
        move |level, target, message| {
            let section = log_section.as_str();
            match level {
                LogLevel::Error => {
                    tracing::error!(target: "plugin", section, module = target, "{message}")
                }
                LogLevel::Warn => {
                    tracing::warn!(target: "plugin", section, module = target, "{message}")
                }
                LogLevel::Info => {
                    tracing::info!(target: "plugin", section, module = target, "{message}")
                }
                LogLevel::Debug => {
                    tracing::debug!(target: "plugin", section, module = target, "{message}")
                }
                LogLevel::Trace => {
                    tracing::trace!(target: "plugin", section, module = target, "{message}")
                }
            }
        },
        move |event| {
            // A closed receiver means the node is shutting down; the event has nobody to go to.
            let _ = events.send(SectionEvent {
                section: event_section.clone(),
                event,
            });
        },
    )
}
