//! The `[wire]` table: parsed and checked in this one place.

use parley_plugin_api::config::{frame_sizes, parse_table};
use parley_plugin_api::{Host, PluginError, PluginResult};
use serde::Deserialize;

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
#[derive(Clone, Copy, Debug)]
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
        let table: WireTable = parse_table(text, host.section())?;
        let sizes = frame_sizes(host.section(), table.max_frame_size, table.max_outbox_bytes)?;
        Ok(WireSettings {
            max_frame_size: sizes.max_frame_size,
            max_outbox_bytes: sizes.max_outbox_bytes,
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
