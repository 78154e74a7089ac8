//! The node's log output: `tracing` lines as text (default) or JSON, on stderr, and the one
//! check of a log filter (`[node] log_level` and `RUST_LOG`).
//!
//! A JSON line is `{"timestamp", "level", "fields": {"message", ...}, "target"}`. A plugin's
//! own `tracing` fields (the QUIC plugin's `remote`, say) arrive with its line as one JSON
//! object in the field `plugin_fields` (see `host::sinks`); the JSON line lifts them into
//! `fields` beside the node's, so that a log collector indexes them like any other field.

use crate::config::LogFormat;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Whether the installed logger writes JSON: plugins' fields then travel as fields.
static STRUCTURED: AtomicBool = AtomicBool::new(false);

/// Whether the node logs JSON lines (`log_format = "json"`), which keep a plugin's fields
/// apart from its message.
pub fn structured() -> bool {
    STRUCTURED.load(Ordering::Relaxed)
}

/// The level names a filter may use.
pub const LEVELS: &str = "trace, debug, info, warn, error, off";

/// Checks a log filter: comma-separated directives, each a level (`info`) or `target=level`
/// (`parley=debug`, `parley::client[span]=trace`). The error says what is wrong and what is
/// expected, without naming where the text came from.
///
/// Stricter than `EnvFilter` on purpose: it reads a bare word it does not know as a target
/// to log at every level, and nothing else, so `log_level = "loud"` or `"verbose"` would
/// silence the node completely. Every directive must therefore end in a level.
pub fn parse_filter(text: &str) -> Result<EnvFilter, String> {
    let expected = format!("expected a level ({LEVELS}) or directives like \"parley=debug,warn\"");
    let directives: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        return Err(format!("the log filter is empty; {expected}"));
    }
    for directive in &directives {
        match directive.rsplit_once('=') {
            None if LevelFilter::from_str(directive).is_err() => {
                return Err(format!(
                    "`{directive}` is not a log level; {expected} (a target alone is not \
                     enough: give its level, as in `parley=debug`)"
                ));
            }
            Some((_, level)) if LevelFilter::from_str(level.trim()).is_err() => {
                return Err(format!(
                    "`{directive}`: `{}` is not a log level; {expected}",
                    level.trim()
                ));
            }
            _ => {}
        }
    }
    // Spaces after the commas are allowed here; EnvFilter would take them for part of a
    // target.
    EnvFilter::try_new(directives.join(","))
        .map_err(|e| format!("`{text}` is not a log filter ({e}); {expected}"))
}

/// Installs the global logger with `filter` (checked by [`parse_filter`] when the config was
/// loaded). `RUST_LOG`, if set, wins, and is checked the same way: a bad one is an error
/// naming it rather than a silent fallback. Calling it twice keeps the first logger.
pub fn init(filter: &str, format: LogFormat) -> Result<(), String> {
    init_with_file(filter, format, None)
}

/// [`init`], the lines also appended to `file` (created owner-only if missing; never with
/// terminal colours).
pub fn init_with_file(
    filter: &str,
    format: LogFormat,
    file: Option<&std::path::Path>,
) -> Result<(), String> {
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(from_env) => parse_filter(&from_env)
            .map_err(|e| format!("the environment variable {}: {e}", EnvFilter::DEFAULT_ENV))?,
        Err(_) => parse_filter(filter)?,
    };
    let (writer, ansi) = match file {
        None => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            let opened = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    format!(
                        "cannot open the log file {} ([node] log_file): {e}",
                        path.display()
                    )
                })?;
            let opened = std::sync::Arc::new(opened);
            (BoxMakeWriter::new(std::io::stderr.and(opened)), false)
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.event_format(JsonLine).try_init(),
    };
    if installed.is_ok() {
        STRUCTURED.store(format == LogFormat::Json, Ordering::Relaxed);
    }
    Ok(())
}

/// Writes an event as one JSON line, a plugin's `plugin_fields` lifted into `fields` (see the
/// module doc).
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let metadata = event.metadata();
        writeln!(
            writer,
            "{{\"timestamp\":{},\"level\":{},\"fields\":{},\"target\":{}}}",
            Value::from(timestamp),
            Value::from(metadata.level().as_str()),
            Value::Object(event_fields(event)),
            Value::from(metadata.target()),
        )
    }
}

/// The event's fields as a JSON object, with the fields of a plugin's line (`plugin_fields`)
/// among them; where a plugin's field has the name of one of the node's (`message`,
/// `section`, `module`), the node's is kept.
fn event_fields(event: &Event<'_>) -> Map<String, Value> {
    let mut visitor = JsonFields::default();
    event.record(&mut visitor);
    let mut fields = visitor.0;
    if let Some(Value::String(text)) = fields.remove("plugin_fields") {
        match serde_json::from_str::<Map<String, Value>>(&text) {
            Ok(plugin) => {
                for (name, value) in plugin {
                    fields.entry(name).or_insert(value);
                }
            }
            Err(_) => {
                fields.insert("plugin_fields".into(), Value::String(text));
            }
        }
    }
    fields
}

/// Collects an event's fields: numbers and booleans as JSON numbers and booleans, anything
/// else as text.
#[derive(Default)]
struct JsonFields(Map<String, Value>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON lines `JsonLine` writes for what `emit` logs.
    fn json_lines(emit: impl FnOnce()) -> Vec<Value> {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let written = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || written.clone())
            .event_format(JsonLine)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect()
    }

    #[test]
    fn a_json_line_has_the_node_fields_and_a_plugins_fields_lifted_beside_them() {
        let lines = json_lines(|| {
            tracing::info!(channel = "0xab", version = 3u64, ok = true, "paid");
            let plugin_fields = Some(r#"{"remote":"127.0.0.1:9740","message":"not this"}"#);
            tracing::warn!(target: "plugin", section = "wire", module = "quic", plugin_fields, "connection lost");
            let broken = Some("not json");
            tracing::info!(target: "plugin", plugin_fields = broken, "kept as text");
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        let paid = &lines[0];
        assert_eq!(paid["level"], "INFO");
        assert!(
            paid["timestamp"].as_str().is_some_and(|t| t.contains('T')),
            "{paid}"
        );
        assert_eq!(paid["fields"]["message"], "paid");
        assert_eq!(paid["fields"]["version"], 3);
        assert_eq!(paid["fields"]["ok"], true);
        let plugin = &lines[1];
        assert_eq!(plugin["target"], "plugin");
        assert_eq!(plugin["fields"]["remote"], "127.0.0.1:9740");
        assert_eq!(plugin["fields"]["message"], "connection lost");
        assert_eq!(plugin["fields"]["section"], "wire");
        assert!(plugin["fields"].get("plugin_fields").is_none(), "{plugin}");
        assert_eq!(lines[2]["fields"]["plugin_fields"], "not json");
    }

    #[test]
    fn levels_and_directives_with_levels_are_accepted() {
        for good in [
            "info",
            "DEBUG",
            "off",
            "parley=debug,warn",
            "warn, parley::client=trace",
            "parley[channel]=debug",
            "info,",
        ] {
            assert!(parse_filter(good).is_ok(), "{good} was refused");
        }
    }

    #[test]
    fn unknown_levels_and_bare_targets_are_refused_with_the_levels() {
        for (bad, named) in [
            ("loud", "`loud`"),
            ("verbose", "`verbose`"),
            ("info,noisy", "`noisy`"),
            ("parley=loud", "`loud`"),
            ("", "empty"),
            (" , ", "empty"),
        ] {
            let error = parse_filter(bad).unwrap_err();
            assert!(error.contains(named), "{bad}: {error}");
            assert!(error.contains(LEVELS), "{bad}: {error}");
        }
    }
}
