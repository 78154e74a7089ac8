//! The life cycle of a channel.

use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a channel is in its life. Phases only move forward, in this order (a channel may skip
/// `Active` and `Closing` on its way to a dispute, and `Disputed` when it settles cooperatively).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Both parties are signing version 0; no funds are at stake yet.
    Opening,
    /// Version 0 is fully signed; the parties deposit until the chain reports full funding.
    Funding,
    /// Funded: updates (payments) may be exchanged.
    Active,
    /// A final state is fully signed: no more updates; settle with `conclude_final`.
    Closing,
    /// A state is registered on chain (by us or the peer), or is about to be: no more
    /// updates. The watcher refutes an older registration with our newest state, concludes
    /// after the challenge duration and withdraws our share.
    Disputed,
    /// The channel concluded on chain; only withdrawals remain, outside the protocol.
    Closed,
}

impl Phase {
    /// A lowercase name for messages and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Opening => "opening",
            Phase::Funding => "funding",
            Phase::Active => "active",
            Phase::Closing => "closing",
            Phase::Disputed => "disputed",
            Phase::Closed => "closed",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Encode for Phase {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Phase::Opening => 0,
            Phase::Funding => 1,
            Phase::Active => 2,
            Phase::Closing => 3,
            Phase::Closed => 4,
            // Added after the first four; tags are never renumbered.
            Phase::Disputed => 5,
        });
    }
}

impl Decode for Phase {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(Phase::Opening),
            1 => Ok(Phase::Funding),
            2 => Ok(Phase::Active),
            3 => Ok(Phase::Closing),
            4 => Ok(Phase::Closed),
            5 => Ok(Phase::Disputed),
            tag => Err(DecodeError::InvalidTag { what: "phase", tag }),
        }
    }
}
