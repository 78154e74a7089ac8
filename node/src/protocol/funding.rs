//! How a channel gets its funds (DESIGN §4, the channel tree), as one type with one variant per
//! kind, and the pure decision of what funding a channel takes next.
//!
//! - **Ledger funding**: every participant deposits its share of the opening state on chain
//!   (`ChainLedger::fund`). The root of every channel tree is funded this way.
//! - **Sub-channel funding**: the parent channel moves the child's funds from its participants'
//!   balances into a [`SubAlloc`](parley_plugin_api::model::SubAlloc) with an off-chain update
//!   ([`super::tree::lock_child`]); no transaction.
//! - **Virtual funding**: each of two parents (the ends' ledger channels with an intermediary)
//!   locks the virtual channel's funds.
//!
//! [`plan`] plans ledger funding only and refuses the other two with a typed [`FundingError`]:
//! a sub-channel and an end's virtual channel are funded by their one parent's lock update
//! ([`Funding::in_parent`], `client/onchain/tree.rs`), never by a deposit.
//!
//! The kind is persisted with the channel in its own record slot
//! ([`super::PersistRecord::Funding`]); an absent slot is ledger funding, which every channel
//! opened before the slot existed is.

use super::phase::Phase;
use super::record::ChannelSnapshot;
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::{ChannelId, FundingRequest, Params, Participant};
use std::fmt;
use thiserror::Error;

/// Where a channel's funds come from. Fixed for the life of the channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Funding {
    /// Deposits on chain (tag 0). A ledger channel is the root of its tree.
    #[default]
    Ledger,
    /// Funds locked in `parent`, a channel of this node (tag 1).
    SubChannel {
        /// The channel whose state locks this channel's funds.
        parent: ChannelId,
    },
    /// Funds locked in channels along a path of intermediaries (tag 2). `parents` are the
    /// channels *of this node* that lock the funds: one at an end of the path (its channel
    /// with the intermediary), two at the intermediary (one with each end).
    Virtual {
        /// This node's channels that lock the virtual channel's funds, one or two.
        parents: Vec<ChannelId>,
    },
}

impl Funding {
    /// The channels of this node that lock this channel's funds (none for ledger funding).
    pub fn parents(&self) -> &[ChannelId] {
        match self {
            Funding::Ledger => &[],
            Funding::SubChannel { parent } => std::slice::from_ref(parent),
            Funding::Virtual { parents } => parents,
        }
    }

    /// The one channel of this node that locks this channel's funds: a sub-channel's parent,
    /// or an end's ledger channel with the intermediary of a virtual channel. `None` for a
    /// ledger channel, and for the intermediary's view of a virtual channel (two parents).
    pub fn in_parent(&self) -> Option<ChannelId> {
        match self {
            Funding::Ledger => None,
            Funding::SubChannel { parent } => Some(*parent),
            Funding::Virtual { parents } => match parents.as_slice() {
                [parent] => Some(*parent),
                _ => None,
            },
        }
    }

    /// A lowercase name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Funding::Ledger => "ledger",
            Funding::SubChannel { .. } => "sub-channel",
            Funding::Virtual { .. } => "virtual",
        }
    }

    /// Checks that the channel's parameters say the same as its funding, as the contracts read
    /// them: a ledger channel is `ledger_channel` and not virtual; a sub-channel is neither (it
    /// is never deposited into, so its funds are never counted twice); a virtual channel is
    /// `virtual_channel` and not a ledger channel, with one or two parents.
    pub fn check_params(&self, params: &Params) -> Result<(), FundingError> {
        let consistent = match self {
            Funding::Ledger => params.ledger_channel && !params.virtual_channel,
            Funding::SubChannel { .. } => !params.ledger_channel && !params.virtual_channel,
            Funding::Virtual { parents } => {
                !params.ledger_channel && params.virtual_channel && (1..=2).contains(&parents.len())
            }
        };
        if consistent {
            Ok(())
        } else {
            Err(FundingError::ParamsDisagree {
                funding: self.kind(),
                ledger_channel: params.ledger_channel,
                virtual_channel: params.virtual_channel,
            })
        }
    }
}

impl fmt::Display for Funding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Funding::Ledger => f.write_str("ledger funding"),
            Funding::SubChannel { parent } => write!(f, "sub-channel of {parent}"),
            Funding::Virtual { parents } => {
                f.write_str("virtual channel locked in")?;
                for parent in parents {
                    write!(f, " {parent}")?;
                }
                Ok(())
            }
        }
    }
}

impl Encode for Funding {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Funding::Ledger => out.push(0),
            Funding::SubChannel { parent } => {
                out.push(1);
                parent.encode_to(out);
            }
            Funding::Virtual { parents } => {
                out.push(2);
                parents.encode_to(out);
            }
        }
    }
}

impl Decode for Funding {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(Funding::Ledger),
            1 => Ok(Funding::SubChannel {
                parent: Decode::decode_from(reader)?,
            }),
            2 => Ok(Funding::Virtual {
                parents: Decode::decode_from(reader)?,
            }),
            tag => Err(DecodeError::InvalidTag {
                what: "funding",
                tag,
            }),
        }
    }
}

/// What funding a channel takes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FundingStep {
    /// Deposit our share and wait for everybody's: call `ChainLedger::fund` with this request
    /// (safe to repeat: the backend skips what is already deposited), then tell the channel
    /// `funded()` on [`FundingOutcome::Funded`](parley_plugin_api::model::FundingOutcome), or
    /// start the dispute that recovers our deposit on `TimedOut`.
    Deposit(FundingRequest),
}

/// Why a channel cannot be funded now. Each variant says whose problem it is: the last two are
/// features that do not exist yet (retrying will not help until they do); every other is the
/// caller's (wrong channel, wrong moment, wrong account, inconsistent records).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FundingError {
    /// The channel is not waiting for funding.
    #[error("channel {channel} is {phase}, not funding: there is nothing to fund")]
    NotFunding {
        /// The channel.
        channel: ChannelId,
        /// Its phase.
        phase: Phase,
    },
    /// The snapshot's state is not the opening state that says who deposits what.
    #[error("channel {channel} is funding but its newest state is version {version}, not 0")]
    NotOpeningState {
        /// The channel.
        channel: ChannelId,
        /// The newest state's version.
        version: u64,
    },
    /// Our stored index names no participant of the channel.
    #[error("our index {index} names no participant of channel {channel}")]
    NotAParticipant {
        /// The channel.
        channel: ChannelId,
        /// Our stored index.
        index: u16,
    },
    /// The account that would pay is not our participant in the channel.
    #[error(
        "the chain account {account} is not our participant {ours} of channel {channel}; a \
         deposit from it would not be credited to us"
    )]
    AccountMismatch {
        /// The channel.
        channel: ChannelId,
        /// The account given.
        account: Participant,
        /// Our participant in the channel.
        ours: Participant,
    },
    /// The funding kind contradicts the channel's parameters.
    #[error(
        "{funding} funding contradicts the channel's parameters (ledger_channel \
         {ledger_channel}, virtual_channel {virtual_channel})"
    )]
    ParamsDisagree {
        /// The funding kind.
        funding: &'static str,
        /// `Params::ledger_channel`.
        ledger_channel: bool,
        /// `Params::virtual_channel`.
        virtual_channel: bool,
    },
    /// Sub-channel funding is not implemented yet.
    #[error(
        "channel {channel} is a sub-channel of {parent}: sub-channel funding arrives with app \
         channels (#12); until then this node locks no funds in a parent"
    )]
    SubChannelNotYet {
        /// The channel.
        channel: ChannelId,
        /// Its parent.
        parent: ChannelId,
    },
    /// Virtual funding is not implemented yet.
    #[error(
        "channel {channel} is a virtual channel: virtual funding arrives with virtual channels \
         and the hub (#14); until then this node locks no funds for one"
    )]
    VirtualNotYet {
        /// The channel.
        channel: ChannelId,
    },
}

/// The funding step for `snapshot`, paid from `account`, waiting `timeout_secs` of wall-clock
/// time for the others' deposits.
///
/// Only a channel in [`Phase::Funding`] with its opening state (version 0) is funded. Ledger
/// funding gives [`FundingStep::Deposit`] with the request [`ledger_request`] builds;
/// sub-channel and virtual funding are refused until #12 and #14.
pub fn plan(
    snapshot: &ChannelSnapshot,
    account: &Participant,
    timeout_secs: u64,
) -> Result<FundingStep, FundingError> {
    let channel = snapshot.channel.channel_id;
    if snapshot.phase != Phase::Funding {
        return Err(FundingError::NotFunding {
            channel,
            phase: snapshot.phase,
        });
    }
    snapshot.funding.check_params(&snapshot.channel.params)?;
    match &snapshot.funding {
        Funding::Ledger => {
            ledger_request(snapshot, account, timeout_secs).map(FundingStep::Deposit)
        }
        Funding::SubChannel { parent } => Err(FundingError::SubChannelNotYet {
            channel,
            parent: *parent,
        }),
        Funding::Virtual { .. } => Err(FundingError::VirtualNotYet { channel }),
    }
}

/// The request that deposits our share of `snapshot`'s opening state from `account` and waits
/// `timeout_secs` for everybody's: the channel's parameters, its version-0 state, our index.
///
/// Refused if the newest state is not version 0 (the deposits are what the opening state
/// allocates) or if `account` is not our participant (the backend credits the deposit to the
/// participant the request names, and `from` must be its account).
pub fn ledger_request(
    snapshot: &ChannelSnapshot,
    account: &Participant,
    timeout_secs: u64,
) -> Result<FundingRequest, FundingError> {
    let channel = snapshot.channel.channel_id;
    let state = &snapshot.latest.state;
    if state.version != 0 {
        return Err(FundingError::NotOpeningState {
            channel,
            version: state.version,
        });
    }
    let params = &snapshot.channel.params;
    let index = snapshot.channel.my_index;
    let ours = params
        .participants
        .get(usize::from(index))
        .ok_or(FundingError::NotAParticipant { channel, index })?;
    if ours != account {
        return Err(FundingError::AccountMismatch {
            channel,
            account: account.clone(),
            ours: ours.clone(),
        });
    }
    Ok(FundingRequest {
        params: params.clone(),
        state: state.clone(),
        index,
        from: account.clone(),
        timeout_secs,
    })
}

#[cfg(test)]
#[path = "funding_tests.rs"]
mod tests;
