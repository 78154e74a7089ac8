//! Carries a plugin's `tracing` events into the node's log.
//!
//! A plugin library has its own copy of `tracing`'s globals, so its events (and those of the
//! crates it uses, like quinn) are lost unless something in the plugin forwards them. Call
//! [`forward_tracing_to_host`] in the constructor. Each event goes to the log of the instance
//! bound to the thread that raised it ([`Host::scope`], [`Host::bind_current_thread`]), so two
//! instances of one library log under their own sections.

use crate::abi::host::{Host, LogLevel};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Installs (once per library) a subscriber that writes every `tracing` event at or above the
/// host's level into the log sink of the instance bound to the current thread, or of the
/// library's first instance on a thread nobody bound. `host` is this instance; it is
/// registered already, the argument only says that a host exists to forward to.
pub fn forward_tracing_to_host(host: &Host) {
    let _ = host;
    let subscriber = HostSubscriber {
        next_span: AtomicU64::new(1),
    };
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HostSubscriber {
    next_span: AtomicU64,
}

fn to_host_level(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

impl Subscriber for HostSubscriber {
    /// Events more detailed than every instance prints are filtered by `tracing` itself, with
    /// one atomic load per callsite (quinn's per-packet traces on the send path never get to
    /// [`Subscriber::enabled`]).
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match Host::most_detailed_level() {
            None => LevelFilter::OFF,
            Some(LogLevel::Error) => LevelFilter::ERROR,
            Some(LogLevel::Warn) => LevelFilter::WARN,
            Some(LogLevel::Info) => LevelFilter::INFO,
            Some(LogLevel::Debug) => LevelFilter::DEBUG,
            Some(LogLevel::Trace) => LevelFilter::TRACE,
        })
    }

    /// Whether an event is printed depends on the instance bound to the thread that raises it,
    /// so `tracing` must not cache one answer per callsite (it would keep the answer of
    /// whichever instance's thread first reached the callsite, and drop another instance's
    /// lines): `sometimes` makes it ask [`Subscriber::enabled`] each time, after the level
    /// hint has filtered what no instance prints.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Host::with_current(|host| host.log_enabled(to_host_level(metadata.level())))
            .unwrap_or(false)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = MessageLine::default();
        event.record(&mut line);
        let metadata = event.metadata();
        Host::with_current(|host| {
            host.log(
                to_host_level(metadata.level()),
                metadata.target(),
                &line.text,
            )
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Formats an event's fields as `message key=value ...`.
#[derive(Default)]
struct MessageLine {
    text: String,
}

impl Visit for MessageLine {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.text, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            self.text.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}
