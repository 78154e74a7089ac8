//! The `[wire]` table: parsed and checked in this one place.

use parley_plugin_api::{config::parse_table, Host, PluginError, PluginResult};
use serde::Deserialize;

/// The largest `max_frame_size` accepted (as the QUIC plugin's).
pub const MAX_FRAME_SIZE_LIMIT: u64 = 1 << 30;

/// The default most frames held for one connection, in bytes (unless `max_frame_size` is
/// larger).
pub const DEFAULT_MAX_OUTBOX_BYTES: u64 = 32 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct WireTable {
    max_frame_size: u64,
    max_outbox_bytes: Option<u64>,
}

impl Default for WireTable {
    fn default() -> Self {
        WireTable {
            max_frame_size: 16 << 20,
            max_outbox_bytes: None,
        }
    }
}

/// The checked settings of one endpoint.
#[derive(Clone, Debug)]
pub struct WireSettings {
    /// `max_frame_size`: the largest frame `send` accepts (default 16 MiB).
    pub max_frame_size: usize,
    /// `max_outbox_bytes`: the most bytes of frames the peer holds back for one connection
    /// (above its frame limit) before `send` answers `Unavailable` (default the larger of
    /// 32 MiB and `max_frame_size`).
    pub max_outbox_bytes: usize,
}

impl WireSettings {
    /// Parses the plugin's table; every error names the section and the key.
    pub fn from_table(text: &str, host: &Host) -> PluginResult<WireSettings> {
        let section = host.section();
        let table: WireTable = parse_table(text, section)?;
        let bad = |key: &str, problem: String| {
            PluginError::config(format!("[{section}] in node.toml: `{key}` {problem}"))
        };
        if table.max_frame_size == 0 || table.max_frame_size > MAX_FRAME_SIZE_LIMIT {
            return Err(bad(
                "max_frame_size",
                format!(
                    "is {} bytes; it must be between 1 and {MAX_FRAME_SIZE_LIMIT} (1 GiB)",
                    table.max_frame_size
                ),
            ));
        }
        let max_outbox_bytes = match table.max_outbox_bytes {
            None => table.max_frame_size.max(DEFAULT_MAX_OUTBOX_BYTES),
            Some(bytes) if bytes < table.max_frame_size || bytes > MAX_FRAME_SIZE_LIMIT * 4 => {
                return Err(bad(
                    "max_outbox_bytes",
                    format!(
                        "is {bytes} bytes; it must be at least max_frame_size ({}) so that one \
                         frame fits, and at most {} (4 GiB)",
                        table.max_frame_size,
                        MAX_FRAME_SIZE_LIMIT * 4
                    ),
                ))
            }
            Some(bytes) => bytes,
        };
        Ok(WireSettings {
            max_frame_size: usize::try_from(table.max_frame_size).unwrap_or(usize::MAX),
            max_outbox_bytes: usize::try_from(max_outbox_bytes).unwrap_or(usize::MAX),
        })
    }

    /// Whether `max_frame` is a frame limit this endpoint takes.
    pub fn check_limit(&self, max_frame: usize) -> PluginResult<()> {
        if max_frame == 0 || max_frame > self.max_frame_size {
            return Err(PluginError::invalid(format!(
                "a frame limit of {max_frame} bytes: it must be between 1 and max_frame_size \
                 ({})",
                self.max_frame_size
            )));
        }
        Ok(())
    }
}
