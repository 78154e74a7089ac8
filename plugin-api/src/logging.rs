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
        let mut line = EventLine::default();
        event.record(&mut line);
        let metadata = event.metadata();
        let fields: Vec<(&str, &str)> = line
            .fields
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        Host::with_current(|host| {
            host.log_fields(
                to_host_level(metadata.level()),
                metadata.target(),
                &line.message,
                &fields,
            )
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event's message and its other fields apart, each value as text (a string as it is,
/// anything else as `Debug` writes it), so that the node can keep them as fields.
#[derive(Default)]
struct EventLine {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl Visit for EventLine {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push((field.name(), value.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_and_the_fields_are_kept_apart() {
        use tracing::subscriber::with_default;
        // A subscriber that records what the visitor made of one event.
        type Seen = (String, Vec<(&'static str, String)>);
        struct Recorder(std::sync::Mutex<Vec<Seen>>);
        impl Subscriber for Recorder {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, event: &Event<'_>) {
                let mut line = EventLine::default();
                event.record(&mut line);
                self.0.lock().unwrap().push((line.message, line.fields));
            }
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
        let recorder = std::sync::Arc::new(Recorder(Default::default()));
        with_default(recorder.clone(), || {
            let remote = "127.0.0.1:9740";
            tracing::info!(remote, connection = 7u64, "connection {} up", "A");
        });
        let seen = recorder.0.lock().unwrap();
        assert_eq!(seen[0].0, "connection A up");
        assert_eq!(
            seen[0].1,
            vec![
                ("remote", "127.0.0.1:9740".to_string()),
                ("connection", "7".to_string())
            ]
        );
    }
}
