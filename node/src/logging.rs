//! The node's log output: `tracing` lines as text (default) or JSON, on stderr, and the one
//! check of a log filter (`[node] log_level` and `RUST_LOG`).

use crate::config::LogFormat;
use std::str::FromStr;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;

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
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
