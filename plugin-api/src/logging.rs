//! Carries a plugin's `tracing` events into the node's log.
//!
//! A plugin library has its own copy of `tracing`'s globals, so its events (and those of the
//! crates it uses, like quinn) are lost unless something in the plugin forwards them. Call
//! [`forward_tracing_to_host`] once in the constructor.

use crate::abi::host::{Host, LogLevel};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Installs a subscriber in this plugin library that writes every `tracing` event at or above
/// the host's level into the host's log sink. The first instance of a library to call it wins
/// (the globals are per library); later calls do nothing.
pub fn forward_tracing_to_host(host: &Host) {
    let subscriber = HostSubscriber {
        host: host.clone(),
        next_span: AtomicU64::new(1),
    };
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HostSubscriber {
    host: Host,
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
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.host.log_enabled(to_host_level(metadata.level()))
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
        self.host.log(
            to_host_level(metadata.level()),
            metadata.target(),
            &line.text,
        );
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
