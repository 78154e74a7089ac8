//! Channels: their fixed parameters, their states and how a state divides the funds.

use super::{Address, Amount, Asset, ChannelId, Participant, Sig};
use serde::{Deserialize, Serialize};

/// The fixed parameters of a channel. The channel id is a hash of these (computed by the chain
/// backend), so none of them can change for the life of the channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Params {
    /// The participants in order; a participant's index is its position here. At least two.
    pub participants: Vec<Participant>,
    /// Seconds of chain time that a registered state can be refuted before it becomes final.
    pub challenge_duration: u64,
    /// Makes the channel id unique; derived from both parties' nonce shares.
    pub nonce: [u8; 32],
    /// The app that rules state transitions, if any. `None` is a payment channel.
    pub app: Option<Address>,
    /// Whether the channel is funded directly on the ledger.
    pub ledger_channel: bool,
    /// Whether the channel is a virtual channel funded through an intermediary.
    pub virtual_channel: bool,
}

crate::canonical_struct!(Params {
    participants,
    challenge_duration,
    nonce,
    app,
    ledger_channel,
    virtual_channel,
});

/// One state of a channel. Both parties sign each state; the newest fully signed one is what the
/// chain enforces.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct State {
    /// The channel this state belongs to.
    pub channel_id: ChannelId,
    /// Increases by exactly one with every update; version 0 is the opening state.
    pub version: u64,
    /// Who owns which funds in this state.
    pub allocation: Allocation,
    /// Opaque data interpreted by the channel's app (empty for payment channels).
    pub app_data: crate::codec::Bytes,
    /// A final state can never be followed by another; it allows `conclude_final`.
    pub is_final: bool,
}

crate::canonical_struct!(State {
    channel_id,
    version,
    allocation,
    app_data,
    is_final,
});

/// How the funds of a channel are divided.
///
/// `balances[a][p]` is what participant `p` owns of asset `a`; `locked` are funds moved into
/// sub-channels, which pay back into this channel when they conclude.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Allocation {
    /// The assets of the channel, in the order used by `balances` and every `SubAlloc`.
    pub assets: Vec<Asset>,
    /// One row per asset, one column per participant.
    pub balances: Vec<Vec<Amount>>,
    /// Funds locked in sub-channels.
    pub locked: Vec<SubAlloc>,
}

crate::canonical_struct!(Allocation {
    assets,
    balances,
    locked
});

/// Funds of a parent channel locked in one sub-channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubAlloc {
    /// The sub-channel's id.
    pub id: ChannelId,
    /// The sub-channel's total of each asset (same order as the parent's assets).
    pub balances: Vec<Amount>,
    /// For each sub-channel participant, its index among the parent's participants.
    pub index_map: Vec<u16>,
}

crate::canonical_struct!(SubAlloc {
    id,
    balances,
    index_map
});

/// Why an allocation is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The allocation has no assets.
    #[error("the allocation has no assets")]
    NoAssets,
    /// The number of balance rows differs from the number of assets.
    #[error("the allocation has {rows} balance rows for {assets} assets")]
    RowCount {
        /// Rows found.
        rows: usize,
        /// Assets declared.
        assets: usize,
    },
    /// A balance row has the wrong number of participants.
    #[error("asset {asset} has {found} balances for {expected} participants")]
    ColumnCount {
        /// The asset's index.
        asset: usize,
        /// Balances found.
        found: usize,
        /// Participants in the channel.
        expected: usize,
    },
    /// An asset appears twice.
    #[error("asset {0} appears twice")]
    DuplicateAsset(usize),
    /// A sub-allocation is malformed.
    #[error("locked sub-allocation {index}: {reason}")]
    SubAlloc {
        /// Its position in `locked`.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A total does not fit in 256 bits.
    #[error("the total of asset {0} overflows 256 bits")]
    Overflow(usize),
}

impl Allocation {
    /// Checks the shape: one row per asset, one balance per participant, distinct assets,
    /// sub-allocations with one balance per asset and valid indices.
    pub fn check_shape(&self, participants: usize) -> Result<(), AllocationError> {
        if self.assets.is_empty() {
            return Err(AllocationError::NoAssets);
        }
        if self.balances.len() != self.assets.len() {
            return Err(AllocationError::RowCount {
                rows: self.balances.len(),
                assets: self.assets.len(),
            });
        }
        for (i, asset) in self.assets.iter().enumerate() {
            if self.assets[..i].contains(asset) {
                return Err(AllocationError::DuplicateAsset(i));
            }
        }
        for (asset, row) in self.balances.iter().enumerate() {
            if row.len() != participants {
                return Err(AllocationError::ColumnCount {
                    asset,
                    found: row.len(),
                    expected: participants,
                });
            }
        }
        for (index, sub) in self.locked.iter().enumerate() {
            if sub.balances.len() != self.assets.len() {
                return Err(AllocationError::SubAlloc {
                    index,
                    reason: format!(
                        "{} balances for {} assets",
                        sub.balances.len(),
                        self.assets.len()
                    ),
                });
            }
            if let Some(bad) = sub
                .index_map
                .iter()
                .find(|&&i| usize::from(i) >= participants)
            {
                return Err(AllocationError::SubAlloc {
                    index,
                    reason: format!("index {bad} is not a participant of the parent"),
                });
            }
        }
        self.totals().map(|_| ())
    }

    /// Per asset, the sum of all balances and locked amounts: what the channel holds in total.
    /// Every update must leave these unchanged.
    pub fn totals(&self) -> Result<Vec<Amount>, AllocationError> {
        (0..self.assets.len())
            .map(|asset| {
                let free = self
                    .balances
                    .get(asset)
                    .map(Amount::checked_sum)
                    .unwrap_or(Some(Amount::ZERO));
                let locked =
                    Amount::checked_sum(self.locked.iter().filter_map(|s| s.balances.get(asset)));
                free.zip(locked)
                    .and_then(|(f, l)| f.checked_add(l))
                    .ok_or(AllocationError::Overflow(asset))
            })
            .collect()
    }
}

/// A state together with the channel parameters and one signature per participant, in
/// participant order: what the chain needs to register or conclude a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedState {
    /// The channel's parameters.
    pub params: Params,
    /// The state.
    pub state: State,
    /// One signature per participant, in participant order.
    pub sigs: Vec<Sig>,
}

crate::canonical_struct!(SignedState {
    params,
    state,
    sigs
});
