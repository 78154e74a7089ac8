//! The host's side of the log and event sinks handed to every plugin instance, and of the apps
//! it offers them.

use super::offered_apps::OfferedApps;
use parley_plugin_api::abi::HostContext;
use parley_plugin_api::model::PluginEvent;
use parley_plugin_api::{host_context_with_apps, LogLevel};
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
    host_context_with_apps(
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
            events.route(SectionEvent {
                section: event_section.clone(),
                event,
            })
        },
        move |address| apps.get(address),
    )
}
