//! The plugin's table in `node.toml`: parsed and validated in this one place.

use parley_plugin_api::config::{frame_sizes, parse_table};
use parley_plugin_api::{Host, PluginError, PluginResult};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The default most connections open at once, both ways: far more peers than a node talks to,
/// and at tens of KiB of QUIC state each, a bound on what connections alone can cost.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 1024;

/// The table as written, every key optional.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
struct QuicTable {
    max_frame_size: u64,
    /// `None`: the larger of [`DEFAULT_MAX_OUTBOX_BYTES`] and `max_frame_size`.
    ///
    /// [`DEFAULT_MAX_OUTBOX_BYTES`]: parley_plugin_api::config::DEFAULT_MAX_OUTBOX_BYTES
    max_outbox_bytes: Option<u64>,
    connect_timeout_ms: u64,
    idle_timeout_ms: u64,
    keep_alive_ms: u64,
    max_connections: u64,
    cert_dir: Option<String>,
}

impl Default for QuicTable {
    fn default() -> Self {
        QuicTable {
            max_frame_size: 16 << 20,
            max_outbox_bytes: None,
            connect_timeout_ms: 5_000,
            idle_timeout_ms: 30_000,
            keep_alive_ms: 5_000,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            cert_dir: None,
        }
    }
}

/// The validated settings of one transport instance.
#[derive(Clone, Debug)]
pub struct QuicSettings {
    /// The largest frame `send` accepts and the reader delivers.
    pub max_frame_size: usize,
    /// The most one connection's outbox holds before `send` refuses (at least
    /// `max_frame_size`, so that one frame always fits an empty outbox).
    pub max_outbox_bytes: usize,
    /// How long `dial` waits for the QUIC handshake.
    pub connect_timeout: Duration,
    /// A connection without packets from the peer for this long is closed.
    pub idle_timeout: Duration,
    /// How often an idle connection sends a keep-alive packet; `None` disables them.
    pub keep_alive: Option<Duration>,
    /// The most connections open at once (inbound, outbound and inbound handshakes under
    /// way): an incoming connection beyond it is refused before its QUIC handshake.
    pub max_connections: usize,
    /// Where `cert.der` and `key.der` live.
    pub cert_dir: PathBuf,
}

impl QuicSettings {
    /// Parses and checks the plugin's table. Every error names the `node.toml` section and key.
    pub fn from_table(text: &str, host: &Host) -> PluginResult<Self> {
        let section = host.section();
        let table: QuicTable = parse_table(text, section)?;
        let bad = |key: &str, problem: String| {
            PluginError::config(format!("[{section}] in node.toml: `{key}` {problem}"))
        };
        let sizes = frame_sizes(section, table.max_frame_size, table.max_outbox_bytes)?;
        if table.max_connections == 0 || table.max_connections > 1_000_000 {
            return Err(bad(
                "max_connections",
                format!(
                    "is {}; it must be between 1 and 1000000",
                    table.max_connections
                ),
            ));
        }
        if table.connect_timeout_ms == 0 {
            return Err(bad("connect_timeout_ms", "must be above 0".into()));
        }
        if table.idle_timeout_ms == 0 {
            return Err(bad("idle_timeout_ms", "must be above 0".into()));
        }
        // Keep-alives only keep a quiet connection open if they come more often than the
        // idle timeout would end it.
        if table.keep_alive_ms >= table.idle_timeout_ms {
            return Err(bad(
                "keep_alive_ms",
                format!(
                    "is {} but must be below idle_timeout_ms ({}), or 0 to disable keep-alives",
                    table.keep_alive_ms, table.idle_timeout_ms
                ),
            ));
        }
        let cert_dir = match &table.cert_dir {
            Some(dir) if dir.trim().is_empty() => {
                return Err(bad(
                    "cert_dir",
                    "is empty; give a directory or leave it out".into(),
                ))
            }
            Some(dir) => host.resolve_path(dir),
            None => host.data_dir().join("quic"),
        };
        Ok(QuicSettings {
            max_frame_size: sizes.max_frame_size,
            max_outbox_bytes: sizes.max_outbox_bytes,
            connect_timeout: Duration::from_millis(table.connect_timeout_ms),
            idle_timeout: Duration::from_millis(table.idle_timeout_ms),
            keep_alive: (table.keep_alive_ms > 0)
                .then(|| Duration::from_millis(table.keep_alive_ms)),
            max_connections: table.max_connections as usize,
            cert_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::{host_context, ErrorKind, LogLevel};

    fn host(dir: &std::path::Path) -> Host {
        Host::new(host_context(
            "wire",
            dir,
            dir,
            LogLevel::Warn,
            |_, _, _| {},
            |_| {},
        ))
    }

    #[test]
    fn an_empty_table_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let settings = QuicSettings::from_table("", &host(dir.path())).unwrap();
        assert_eq!(settings.max_frame_size, 16 << 20);
        assert_eq!(settings.max_outbox_bytes, 32 << 20);
        assert_eq!(settings.connect_timeout, Duration::from_secs(5));
        assert_eq!(settings.idle_timeout, Duration::from_secs(30));
        assert_eq!(settings.keep_alive, Some(Duration::from_secs(5)));
        assert_eq!(settings.cert_dir, dir.path().join("quic"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let error =
            QuicSettings::from_table("max_frame_sise = 10\n", &host(dir.path())).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("max_frame_sise"), "{error}");
        assert!(error.message().contains("[wire]"), "{error}");
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for (text, key) in [
            ("max_frame_size = \"big\"", "`max_frame_size`"),
            ("cert_dir = 5", "`cert_dir`"),
        ] {
            let error = QuicSettings::from_table(text, &host(dir.path())).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidConfig);
            assert!(error.message().contains("[wire]"), "{error}");
            assert!(error.message().contains(key), "{text}: {error}");
        }
    }

    #[test]
    fn a_zero_or_huge_max_frame_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for text in ["max_frame_size = 0", "max_frame_size = 1073741825"] {
            let error = QuicSettings::from_table(text, &host(dir.path())).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidConfig);
            assert!(error.message().contains("max_frame_size"), "{error}");
        }
        let settings =
            QuicSettings::from_table("max_frame_size = 1073741824", &host(dir.path())).unwrap();
        assert_eq!(settings.max_frame_size, 1 << 30);
    }

    #[test]
    fn the_outbox_holds_at_least_one_frame() {
        let dir = tempfile::tempdir().unwrap();
        let text = "max_frame_size = 1000\nmax_outbox_bytes = 999";
        let error = QuicSettings::from_table(text, &host(dir.path())).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig);
        assert!(error.message().contains("`max_outbox_bytes`"), "{error}");
        assert!(error.message().contains("[wire]"), "{error}");
        let text = "max_frame_size = 1000\nmax_outbox_bytes = 1000";
        let settings = QuicSettings::from_table(text, &host(dir.path())).unwrap();
        assert_eq!(settings.max_outbox_bytes, 1000);
        // Without the key the outbox grows with a larger frame size.
        let settings =
            QuicSettings::from_table("max_frame_size = 67108864", &host(dir.path())).unwrap();
        assert_eq!(settings.max_outbox_bytes, 64 << 20);
    }

    #[test]
    fn keep_alive_must_come_before_the_idle_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let text = "idle_timeout_ms = 1000\nkeep_alive_ms = 1000";
        let error = QuicSettings::from_table(text, &host(dir.path())).unwrap_err();
        assert!(error.message().contains("keep_alive_ms"), "{error}");
        let text = "idle_timeout_ms = 1000\nkeep_alive_ms = 0";
        let settings = QuicSettings::from_table(text, &host(dir.path())).unwrap();
        assert_eq!(settings.keep_alive, None);
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for key in ["connect_timeout_ms", "idle_timeout_ms"] {
            let error =
                QuicSettings::from_table(&format!("{key} = 0"), &host(dir.path())).unwrap_err();
            assert!(error.message().contains(key), "{error}");
        }
    }

    #[test]
    fn a_relative_cert_dir_is_taken_from_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        let settings = QuicSettings::from_table("cert_dir = \"tls\"", &host(dir.path())).unwrap();
        assert_eq!(settings.cert_dir, dir.path().join("tls"));
    }
}
