//! `[limits]`: what one peer may make this node hold or do. A peer over any of them is
//! disconnected (it may reconnect, and its channels re-synchronise then); the transport's own
//! bound on what is queued for a slow peer is its plugin's (`[wire] max_outbox_bytes` for QUIC).

use super::{list, ConfigError, ErrFn};
use crate::wire::DEFAULT_MAX_FRAME_SIZE;

/// `[limits]` of `node.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsSection {
    /// The largest frame a peer may send before it has proven who it is (the handshake's
    /// frames are under 300 bytes).
    pub handshake_frame_bytes: usize,
    /// The frames an authenticated peer may send per second, in bursts of up to one second's
    /// worth.
    pub frames_per_second: u32,
    /// The frames from one peer received and not yet handled.
    pub frames_in_flight: usize,
    /// The bytes of those frames.
    pub bytes_in_flight: usize,
    /// The channel proposals of one peer waiting for this node's answer.
    pub open_proposals: usize,
    /// Inbound connections still in their handshake at once, from anyone: what bounds the
    /// memory of connections that never authenticate, however many are opened.
    pub pending_handshakes: usize,
}

impl Default for LimitsSection {
    fn default() -> LimitsSection {
        LimitsSection {
            handshake_frame_bytes: 4096,
            frames_per_second: 10_000,
            frames_in_flight: 4096,
            bytes_in_flight: 16 << 20,
            open_proposals: 16,
            pending_handshakes: 64,
        }
    }
}

/// One key: its name, its range and why the range is what it is.
struct Key {
    name: &'static str,
    min: u64,
    max: u64,
    why: &'static str,
}

/// The smallest handshake frame limit: a hello is 70 bytes, a goodbye at most 264.
const MIN_HANDSHAKE_FRAME: u64 = 512;

const KEYS: [Key; 6] = [
    Key {
        name: "handshake_frame_bytes",
        min: MIN_HANDSHAKE_FRAME,
        max: DEFAULT_MAX_FRAME_SIZE as u64,
        why: "room for the handshake's frames, and at most the largest frame a node takes",
    },
    Key {
        name: "frames_per_second",
        min: 1,
        max: 10_000_000,
        why: "a whole number of frames",
    },
    Key {
        name: "frames_in_flight",
        min: 8,
        max: 10_000_000,
        why: "at least a handshake's worth",
    },
    Key {
        name: "bytes_in_flight",
        min: DEFAULT_MAX_FRAME_SIZE as u64,
        max: 1 << 32,
        why: "at least the largest frame a node takes, so that one always fits",
    },
    Key {
        name: "open_proposals",
        min: 1,
        max: 100_000,
        why: "a whole number of proposals",
    },
    Key {
        name: "pending_handshakes",
        min: 1,
        max: 100_000,
        why: "a whole number of connections",
    },
];

/// Parses `[limits]` (absent: the defaults).
pub(super) fn limits_section(
    table: &toml::Table,
    err: &ErrFn<'_>,
) -> Result<LimitsSection, ConfigError> {
    let names: Vec<&str> = KEYS.iter().map(|key| key.name).collect();
    for name in table.keys() {
        if !names.contains(&name.as_str()) {
            return Err(err(
                &format!("limits.{name}"),
                format!("unknown key; expected one of {}", list(&names)),
            ));
        }
    }
    let defaults = LimitsSection::default();
    let value = |key: &Key, default: u64| -> Result<u64, ConfigError> {
        let Some(value) = table.get(key.name) else {
            return Ok(default);
        };
        let found = match value {
            toml::Value::Integer(n)
                if (key.min as i128..=key.max as i128).contains(&(*n as i128)) =>
            {
                return Ok(*n as u64)
            }
            toml::Value::Integer(n) => format!("{n}"),
            other => other.type_str().to_string(),
        };
        Err(err(
            &format!("limits.{}", key.name),
            format!(
                "expected a whole number from {} to {} ({}), found {found}",
                key.min, key.max, key.why
            ),
        ))
    };
    Ok(LimitsSection {
        handshake_frame_bytes: value(&KEYS[0], defaults.handshake_frame_bytes as u64)? as usize,
        frames_per_second: value(&KEYS[1], u64::from(defaults.frames_per_second))? as u32,
        frames_in_flight: value(&KEYS[2], defaults.frames_in_flight as u64)? as usize,
        bytes_in_flight: value(&KEYS[3], defaults.bytes_in_flight as u64)? as usize,
        open_proposals: value(&KEYS[4], defaults.open_proposals as u64)? as usize,
        pending_handshakes: value(&KEYS[5], defaults.pending_handshakes as u64)? as usize,
    })
}
