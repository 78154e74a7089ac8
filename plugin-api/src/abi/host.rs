//! What the node hands every plugin instance: where its files go, and two sinks (logs and
//! events) that carry what the plugin has to say back into the node.
#![allow(non_local_definitions)]

use crate::codec::Encode;
use crate::model::PluginEvent;
use crate::panic::catch_silently;
use abi_stable::{
    sabi_trait,
    sabi_trait::TD_Opaque,
    std_types::{RArc, RStr, RString, RVec},
    StableAbi,
};
use std::path::{Path, PathBuf};

/// Log levels, most severe first.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something is off but work goes on.
    Warn = 2,
    /// Normal operation worth a line.
    Info = 3,
    /// Detail for debugging.
    Debug = 4,
    /// Very fine detail.
    Trace = 5,
}

/// Receives a plugin's log lines. Implemented by the node.
///
/// Contract for the host: never blocks for long and never panics (the host hands lines to its
/// own logger). Plugins may call it from any thread.
#[sabi_trait]
pub trait FfiLogSink: Send + Sync + Clone {
    /// The most detailed level the host will print; plugins skip formatting below it.
    fn max_level(&self) -> LogLevel;
    /// One log line. `target` is the module path in the plugin.
    #[sabi(last_prefix_field)]
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);
}

/// A shared [`FfiLogSink`].
pub type FfiLogSinkArc = FfiLogSink_TO<'static, RArc<()>>;

/// Receives a plugin's events ([`PluginEvent`], canonically encoded). Implemented by the node.
///
/// Contract for the host: never blocks (it only queues the event) and never panics. Plugins may
/// call it from any thread; events from one thread arrive in the order emitted.
#[sabi_trait]
pub trait FfiEventSink: Send + Sync + Clone {
    /// One encoded [`PluginEvent`].
    #[sabi(last_prefix_field)]
    fn emit(&self, event: RVec<u8>);
}

/// A shared [`FfiEventSink`].
pub type FfiEventSinkArc = FfiEventSink_TO<'static, RArc<()>>;

/// Everything the node gives a plugin instance when creating it.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct HostContext {
    /// The `node.toml` section this instance was configured in (`chain`, `wire`, `store`), for
    /// messages.
    pub section: RString,
    /// The node's data directory (absolute). A plugin keeps its own files under it unless its
    /// table says otherwise.
    pub data_dir: RString,
    /// The directory of `node.toml` (absolute). Relative paths in the plugin's table are
    /// relative to it.
    pub config_dir: RString,
    /// Where log lines go.
    pub log: FfiLogSinkArc,
    /// Where events go.
    pub events: FfiEventSinkArc,
}

/// The plugin-side view of a [`HostContext`]: cheap to clone, safe to use from any thread.
#[derive(Clone)]
pub struct Host {
    context: HostContext,
}

impl Host {
    /// Wraps the context handed to the constructor.
    pub fn new(context: HostContext) -> Self {
        Host { context }
    }

    /// The `node.toml` section name of this instance.
    pub fn section(&self) -> &str {
        self.context.section.as_str()
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(self.context.data_dir.as_str())
    }

    /// Resolves a path from the plugin's table: absolute paths stay, relative ones are taken
    /// relative to the directory of `node.toml`.
    pub fn resolve_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            Path::new(self.context.config_dir.as_str()).join(path)
        }
    }

    /// Sends an event to the node. Never blocks.
    pub fn emit(&self, event: &PluginEvent) {
        let bytes = RVec::from(event.encode());
        catch_silently("the host's event sink", || self.context.events.emit(bytes));
    }

    /// Whether lines at `level` would be printed.
    pub fn log_enabled(&self, level: LogLevel) -> bool {
        level <= self.context.log.max_level()
    }

    /// Writes one log line through the node's logger.
    pub fn log(&self, level: LogLevel, target: &str, message: &str) {
        if self.log_enabled(level) {
            catch_silently("the host's log sink", || {
                self.context
                    .log
                    .log(level, RStr::from(target), RStr::from(message))
            });
        }
    }

    /// The raw context, to hand on (for example to a second instance in tests).
    pub fn context(&self) -> &HostContext {
        &self.context
    }
}

/// Builds a [`HostContext`] from closures: what the node does, and what tests and the
/// conformance suite use to host a plugin.
pub fn host_context(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    max_level: LogLevel,
    log: impl Fn(LogLevel, &str, &str) + Send + Sync + 'static,
    events: impl Fn(PluginEvent) + Send + Sync + 'static,
) -> HostContext {
    HostContext {
        section: RString::from(section),
        data_dir: RString::from(data_dir.to_string_lossy().into_owned()),
        config_dir: RString::from(config_dir.to_string_lossy().into_owned()),
        log: FfiLogSink_TO::from_ptr(
            RArc::new(ClosureLogSink {
                max_level,
                log: std::sync::Arc::new(log),
            }),
            TD_Opaque,
        ),
        events: FfiEventSink_TO::from_ptr(
            RArc::new(ClosureEventSink {
                events: std::sync::Arc::new(events),
            }),
            TD_Opaque,
        ),
    }
}

type LogFn = dyn Fn(LogLevel, &str, &str) + Send + Sync;
type EventFn = dyn Fn(PluginEvent) + Send + Sync;

#[derive(Clone)]
struct ClosureLogSink {
    max_level: LogLevel,
    log: std::sync::Arc<LogFn>,
}

impl FfiLogSink for ClosureLogSink {
    fn max_level(&self) -> LogLevel {
        self.max_level
    }

    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        (self.log)(level, target.as_str(), message.as_str());
    }
}

#[derive(Clone)]
struct ClosureEventSink {
    events: std::sync::Arc<EventFn>,
}

impl FfiEventSink for ClosureEventSink {
    fn emit(&self, event: RVec<u8>) {
        use crate::codec::Decode;
        // The node decodes what every plugin sends; a plugin that sends garbage gets a log line
        // on stderr, not a crash.
        match PluginEvent::decode(&event) {
            Ok(event) => (self.events)(event),
            Err(error) => eprintln!("parley: a plugin emitted a malformed event: {error}"),
        }
    }
}
