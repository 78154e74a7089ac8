//! What crosses the chain backend interface besides channels and states: requests, outcomes,
//! on-chain dispute records and events.

use super::{Amount, Asset, ChannelId, Params, Participant, Sig, SignedState, State};
use crate::codec::{Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch on the ledger's clock (block timestamps). Challenge durations and
/// dispute timeouts are measured on this clock, never on the node's.
pub type ChainTime = u64;

/// What a chain backend says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The ledger's chain id.
    pub chain_id: u64,
    /// A short name of the backend and network, e.g. `sim-chain` or `ethereum/31337`.
    pub backend: String,
    /// The assets this backend can hold in channels.
    pub assets: Vec<AssetInfo>,
}

crate::canonical_struct!(ChainInfo {
    chain_id,
    backend,
    assets
});

/// An asset the backend supports, with the name users type (`ETH`, `TOK`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetInfo {
    /// The name users refer to it by; unique within one backend.
    pub name: String,
    /// Decimal places of one whole unit (18 for ETH), for display only.
    pub decimals: u8,
    /// The asset itself.
    pub asset: Asset,
}

crate::canonical_struct!(AssetInfo {
    name,
    decimals,
    asset
});

/// Deposit `amount` of `asset` for `participant` in channel `channel_id`, paid by `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRequest {
    /// The wallet account that pays (one of [`ChainSigner::accounts`](crate::ChainSigner::accounts)).
    pub from: Participant,
    /// The channel.
    pub channel_id: ChannelId,
    /// The participant credited (usually `from`).
    pub participant: Participant,
    /// The asset.
    pub asset: Asset,
    /// How much.
    pub amount: Amount,
}

crate::canonical_struct!(DepositRequest {
    from,
    channel_id,
    participant,
    asset,
    amount
});

/// Fund our share of a channel: deposit what the opening state allocates to participant
/// `index`, then wait until every participant's share of every asset is deposited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingRequest {
    /// The channel's parameters.
    pub params: Params,
    /// The opening state (version 0) whose allocation says who deposits what.
    pub state: State,
    /// Our index among the participants.
    pub index: u16,
    /// The wallet account that pays; must be `params.participants[index]`'s account.
    pub from: Participant,
    /// Wall-clock seconds to wait for the others' deposits before giving up.
    pub timeout_secs: u64,
}

crate::canonical_struct!(FundingRequest {
    params,
    state,
    index,
    from,
    timeout_secs
});

impl FundingRequest {
    /// The checks every backend makes before funding, given the channel id the backend derives
    /// from `params`: the opening state is of that channel, `index` names a participant, and
    /// the allocation has one balance per participant and asset. (Whether `from` is one of the
    /// backend's accounts and whether it supports each asset is the backend's to check.)
    pub fn check_consistent(&self, channel_id: &ChannelId) -> crate::PluginResult<()> {
        let invalid = crate::PluginError::invalid;
        if self.state.channel_id != *channel_id {
            return Err(invalid(format!(
                "the funding state names channel {} but the parameters give channel {channel_id}",
                self.state.channel_id
            )));
        }
        let participants = self.params.participants.len();
        if usize::from(self.index) >= participants {
            return Err(invalid(format!(
                "index {} is not a participant of channel {channel_id}",
                self.index
            )));
        }
        self.state
            .allocation
            .check_shape(participants)
            .map_err(|e| invalid(format!("the funding state of channel {channel_id}: {e}")))
    }
}

/// How funding ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FundingOutcome {
    /// Every participant's share of every asset is on chain.
    Funded,
    /// The timeout passed first. Our own deposit stays on chain and is recovered through a
    /// dispute (register version 0, conclude, withdraw).
    TimedOut {
        /// `(participant index, asset index)` pairs still short.
        missing: Vec<(u16, u16)>,
    },
}

impl Encode for FundingOutcome {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            FundingOutcome::Funded => out.push(0),
            FundingOutcome::TimedOut { missing } => {
                out.push(1);
                missing.encode_to(out);
            }
        }
    }
}

impl Decode for FundingOutcome {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(FundingOutcome::Funded),
            1 => Ok(FundingOutcome::TimedOut {
                missing: Decode::decode_from(reader)?,
            }),
            tag => Err(DecodeError::InvalidTag {
                what: "funding outcome",
                tag,
            }),
        }
    }
}

/// Register a state on chain to start (or refute) a dispute. `sub_channels` holds the signed
/// state of every sub-channel locked in `channel`, depth first, as the Perun adjudicator expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The wallet account that sends the transaction.
    pub from: Participant,
    /// The channel's newest fully signed state.
    pub channel: SignedState,
    /// The fully signed states of its sub-channels.
    pub sub_channels: Vec<SignedState>,
}

crate::canonical_struct!(RegisterRequest {
    from,
    channel,
    sub_channels
});

/// Advance a registered app channel by one move of participant `actor`, after the dispute's
/// timeout, without the others' signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressRequest {
    /// The wallet account that sends the transaction.
    pub from: Participant,
    /// The channel's parameters (must name an app).
    pub params: Params,
    /// The state currently registered on chain.
    pub old_state: State,
    /// The next state (version + 1), valid under the app's rules.
    pub new_state: State,
    /// The index of the participant making the move.
    pub actor: u16,
    /// The actor's signature on `new_state`.
    pub sig: Sig,
}

crate::canonical_struct!(ProgressRequest {
    from,
    params,
    old_state,
    new_state,
    actor,
    sig
});

/// Conclude a registered channel after its timeout: the registered state's outcome becomes what
/// the asset holders pay out. `sub_states` are the registered states of its sub-channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcludeRequest {
    /// The wallet account that sends the transaction.
    pub from: Participant,
    /// The channel's parameters.
    pub params: Params,
    /// The state registered on chain.
    pub state: State,
    /// The registered states of the sub-channels, depth first.
    pub sub_states: Vec<State>,
}

crate::canonical_struct!(ConcludeRequest {
    from,
    params,
    state,
    sub_states
});

/// Conclude a channel at once with a final state signed by everybody (the cooperative close;
/// also ends a running dispute).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcludeFinalRequest {
    /// The wallet account that sends the transaction.
    pub from: Participant,
    /// The final state with every participant's signature.
    pub channel: SignedState,
}

crate::canonical_struct!(ConcludeFinalRequest { from, channel });

/// Withdraw everything a concluded channel owes `participant`, in every asset, to `receiver`.
/// The backend signs the withdrawal authorisation with the participant's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawRequest {
    /// The wallet account that sends the transaction and signs the authorisation; must be
    /// `participant`.
    pub from: Participant,
    /// The concluded channel.
    pub channel_id: ChannelId,
    /// The participant whose share is withdrawn.
    pub participant: Participant,
    /// Who receives the funds.
    pub receiver: Participant,
    /// The assets to withdraw from.
    pub assets: Vec<Asset>,
}

crate::canonical_struct!(WithdrawRequest {
    from,
    channel_id,
    participant,
    receiver,
    assets
});

/// What a completed transaction reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxReceipt {
    /// The backend's transaction id (a hash on Ethereum); empty if the call sent nothing
    /// (for example a deposit that was already made).
    pub tx_id: crate::codec::Bytes,
    /// Gas or fee units used, if the backend measures them.
    pub fee_units: u64,
    /// The amounts moved, per asset of the request, if the call moves funds (withdraw).
    pub amounts: Vec<Amount>,
}

crate::canonical_struct!(TxReceipt {
    tx_id,
    fee_units,
    amounts
});

/// The phase of a channel's on-chain record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DisputePhase {
    /// A state is registered and can be refuted with a newer one until the timeout.
    Dispute,
    /// An app channel is being advanced on chain move by move until the timeout.
    ForceExec,
    /// The outcome is fixed; the asset holders pay out.
    Concluded,
}

impl Encode for DisputePhase {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            DisputePhase::Dispute => 0,
            DisputePhase::ForceExec => 1,
            DisputePhase::Concluded => 2,
        });
    }
}

impl Decode for DisputePhase {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(DisputePhase::Dispute),
            1 => Ok(DisputePhase::ForceExec),
            2 => Ok(DisputePhase::Concluded),
            tag => Err(DecodeError::InvalidTag {
                what: "dispute phase",
                tag,
            }),
        }
    }
}

/// A channel's record on chain (Perun's `Dispute`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// The channel.
    pub channel_id: ChannelId,
    /// The version registered (or progressed to, or concluded with).
    pub version: u64,
    /// The phase.
    pub phase: DisputePhase,
    /// Chain time at which the current phase ends.
    pub timeout: ChainTime,
}

crate::canonical_struct!(Dispute {
    channel_id,
    version,
    phase,
    timeout
});

/// Something that happened on chain to a watched channel, delivered through the host's event sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainEvent {
    /// A deposit for a watched channel.
    Deposited {
        /// The channel.
        channel_id: ChannelId,
        /// Who was credited.
        participant: Participant,
        /// The asset.
        asset: Asset,
        /// The participant's holding of that asset in the channel after the deposit.
        total: Amount,
    },
    /// The channel's on-chain record changed (a state was registered, refuted or progressed, or
    /// the channel concluded); the record is now `dispute`.
    Disputed(Dispute),
}

impl Encode for ChainEvent {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            ChainEvent::Deposited {
                channel_id,
                participant,
                asset,
                total,
            } => {
                out.push(0);
                channel_id.encode_to(out);
                participant.encode_to(out);
                asset.encode_to(out);
                total.encode_to(out);
            }
            ChainEvent::Disputed(dispute) => {
                out.push(1);
                dispute.encode_to(out);
            }
        }
    }
}

impl Decode for ChainEvent {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(ChainEvent::Deposited {
                channel_id: Decode::decode_from(reader)?,
                participant: Decode::decode_from(reader)?,
                asset: Decode::decode_from(reader)?,
                total: Decode::decode_from(reader)?,
            }),
            1 => Ok(ChainEvent::Disputed(Decode::decode_from(reader)?)),
            tag => Err(DecodeError::InvalidTag {
                what: "chain event",
                tag,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Allocation};

    fn request(index: u16, balances: Vec<Vec<Amount>>) -> FundingRequest {
        let participants = vec![Participant(vec![1; 20]), Participant(vec![2; 20])];
        FundingRequest {
            params: Params {
                participants: participants.clone(),
                challenge_duration: 60,
                nonce: [7; 32],
                app: None,
                ledger_channel: true,
                virtual_channel: false,
            },
            state: State {
                channel_id: ChannelId([9; 32]),
                version: 0,
                allocation: Allocation {
                    assets: vec![Asset {
                        chain_id: 1,
                        holder: Address(vec![3; 20]),
                    }],
                    balances,
                    locked: Vec::new(),
                },
                app_data: crate::codec::Bytes::default(),
                is_final: false,
            },
            index,
            from: participants[usize::from(index.min(1))].clone(),
            timeout_secs: 10,
        }
    }

    #[test]
    fn a_funding_request_must_name_its_channel_a_participant_and_a_full_allocation() {
        let id = ChannelId([9; 32]);
        let both = vec![vec![Amount::from(5u64), Amount::from(6u64)]];
        assert!(request(1, both.clone()).check_consistent(&id).is_ok());
        let other = request(0, both.clone())
            .check_consistent(&ChannelId([8; 32]))
            .unwrap_err();
        assert!(other.message().contains("names channel"), "{other}");
        let outsider = request(2, both).check_consistent(&id).unwrap_err();
        assert!(outsider.message().contains("index 2"), "{outsider}");
        let short = request(0, vec![vec![Amount::from(5u64)]])
            .check_consistent(&id)
            .unwrap_err();
        assert!(short.message().contains("funding state"), "{short}");
    }
}
