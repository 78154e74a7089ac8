//! The host's side of the log and event sinks handed to every plugin instance, and of the apps
//! it offers them.

use super::offered_apps::OfferedApps;
use abi_stable::std_types::Tuple2;
use parley_plugin_api::abi::HostContext;
use parley_plugin_api::model::PluginEvent;
use parley_plugin_api::{host_context_with_log_lines, LogLevel, LogLine};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// An event together with the `node.toml` section of the plugin that emitted it.
#[derive(Debug, Clone)]
pub struct SectionEvent {
    /// `chain`, `wire`, `store`, ...
    pub section: String,
    /// The event.
    pub event: PluginEvent,
}

/// Where the events of plugin instances go in the node. Called on the plugins' own threads, in
/// the order each thread emits; must never block (the plugin's event sink contract).
pub trait EventRoute: Send + Sync + 'static {
    /// Takes one event.
    fn route(&self, event: SectionEvent);
}

/// Queues every event for the node's event loop.
impl EventRoute for UnboundedSender<SectionEvent> {
    fn route(&self, event: SectionEvent) {
        // A closed receiver means the node is shutting down; the event has nobody to go to.
        let _ = self.send(event);
    }
}

impl<R: EventRoute + ?Sized> EventRoute for Arc<R> {
    fn route(&self, event: SectionEvent) {
        (**self).route(event);
    }
}

/// Drops every event: for commands that load plugins only to call them (benchmarks).
pub struct DiscardEvents;

impl EventRoute for DiscardEvents {
    fn route(&self, _: SectionEvent) {}
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
/// section and the plugin's module path as fields) and whose events go to `events`, tagged
/// with the section. It offers no apps: [`node_host_context_with_apps`] does.
pub fn node_host_context(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    events: impl EventRoute,
) -> HostContext {
    node_host_context_with_apps(section, data_dir, config_dir, events, OfferedApps::new())
}

/// Like [`node_host_context`], and the plugin's `Host::app` answers from `apps`, as filled at
/// the time it asks.
///
/// The app crosses back into the plugin through `share_app`, which binds no plugin instance
/// while it runs: the code behind it is the node's `Arc<dyn App>` (a `LoadedApp`), which binds
/// the app plugin's own instance as it crosses into that library. `export_app` would need a
/// `Host` of its own, that is a second registered instance of plugin-api in the node with a
/// section to report under, for code that has nothing to report.
pub fn node_host_context_with_apps(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    events: impl EventRoute,
    apps: OfferedApps,
) -> HostContext {
    let log_section = section.to_string();
    let event_section = section.to_string();
    host_context_with_log_lines(
        section,
        data_dir,
        config_dir,
        current_max_level(),
        move |line| log_plugin_line(&log_section, line),
        move |event| {
            events.route(SectionEvent {
                section: event_section.clone(),
                event,
            })
        },
        move |address| apps.get(address),
    )
}

/// One of a plugin's log lines as a `tracing` event of the node (target `plugin`, with the
/// section and the plugin's module path as fields). Its own fields go into the event as one
/// JSON object, `plugin_fields`, which the JSON log lifts into the line's fields
/// ([`crate::logging`]); the text log writes them after the message, as a plugin's line
/// always read.
fn log_plugin_line(section: &str, line: &LogLine<'_>) {
    let module = line.target;
    let (message, plugin_fields) = if line.fields.is_empty() {
        (line.message.to_string(), None)
    } else if crate::logging::structured() {
        let fields: serde_json::Map<String, serde_json::Value> = line
            .fields
            .iter()
            .map(|Tuple2(name, value)| (name.to_string(), value.as_str().into()))
            .collect();
        (
            line.message.to_string(),
            Some(serde_json::Value::Object(fields).to_string()),
        )
    } else {
        (line.text(), None)
    };
    let plugin_fields = plugin_fields.as_deref();
    match line.level {
        LogLevel::Error => {
            tracing::error!(target: "plugin", section, module, plugin_fields, "{message}")
        }
        LogLevel::Warn => {
            tracing::warn!(target: "plugin", section, module, plugin_fields, "{message}")
        }
        LogLevel::Info => {
            tracing::info!(target: "plugin", section, module, plugin_fields, "{message}")
        }
        LogLevel::Debug => {
            tracing::debug!(target: "plugin", section, module, plugin_fields, "{message}")
        }
        LogLevel::Trace => {
            tracing::trace!(target: "plugin", section, module, plugin_fields, "{message}")
        }
    }
}
