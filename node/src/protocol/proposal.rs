//! Opening a channel: validating a [`ChannelProposal`] and its [`ProposalAccept`], and deriving
//! the channel's [`Params`] and opening state from them.
//!
//! Randomness (proposal ids, nonce shares) and channel ids are inputs: the driver draws the
//! former, the chain backend computes the latter from the [`Params`] built here.

use super::messages::{ChannelProposal, ProposalAccept};
use parley_plugin_api::model::{Allocation, AllocationError, ChannelId, Params, State};
use thiserror::Error;

/// The number of participants of the channels this protocol opens: two-party ledger channels.
pub const PARTICIPANTS: usize = 2;

/// The longest challenge duration a proposal may ask for: one year. A longer one would lock the
/// funds of an honest party for longer than any user expects after a dispute starts.
pub const MAX_CHALLENGE_DURATION: u64 = 365 * 24 * 60 * 60;

/// Why a proposal or its accept is refused. One variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProposalError {
    /// A participant's address is empty.
    #[error("participant {index} has an empty address")]
    EmptyParticipant {
        /// Its index (0: the proposer, 1: the accepter).
        index: usize,
    },
    /// The accepter named the proposer's address as its own.
    #[error("the accepter's address is the proposer's: a channel needs two different parties")]
    DuplicateParticipant,
    /// The proposal has no assets.
    #[error("the proposal has no assets")]
    NoAssets,
    /// An asset appears twice.
    #[error("asset {index} appears twice")]
    DuplicateAsset {
        /// The later index.
        index: usize,
    },
    /// The number of balance rows differs from the number of assets.
    #[error("the proposal has {rows} balance rows for {assets} assets")]
    BalanceRows {
        /// Rows found.
        rows: usize,
        /// Assets named.
        assets: usize,
    },
    /// A balance row does not have one balance per participant.
    #[error("asset {asset} has {found} balances for {expected} participants")]
    BalanceColumns {
        /// The asset's index.
        asset: usize,
        /// Balances found.
        found: usize,
        /// Participants named.
        expected: usize,
    },
    /// The total of an asset does not fit in 256 bits.
    #[error("the total of asset {asset} overflows 256 bits")]
    TotalOverflow {
        /// The asset's index.
        asset: usize,
    },
    /// The opening allocation breaks another rule of the data model.
    #[error("the opening allocation is malformed: {0}")]
    Allocation(AllocationError),
    /// A challenge duration of zero would let a registered state conclude at once.
    #[error("the challenge duration must be more than 0 seconds")]
    ZeroChallengeDuration,
    /// The challenge duration exceeds [`MAX_CHALLENGE_DURATION`].
    #[error("the challenge duration of {found} s exceeds the maximum of {max} s")]
    ChallengeDurationTooLong {
        /// Seconds asked for.
        found: u64,
        /// The maximum.
        max: u64,
    },
    /// The accept names another proposal.
    #[error("the accept answers proposal {found}, not {expected}")]
    ProposalIdMismatch {
        /// The proposal's id.
        expected: super::ProposalId,
        /// The accept's id.
        found: super::ProposalId,
    },
}

/// Checks every rule of an incoming (or outgoing) proposal. The driver additionally checks that
/// the proposal came from an authenticated peer; the accepter's address arrives with its
/// [`ProposalAccept`] (as in go-perun), so a proposer need not know it beforehand.
pub fn validate_proposal(proposal: &ChannelProposal) -> Result<(), ProposalError> {
    if proposal.proposer.as_bytes().is_empty() {
        return Err(ProposalError::EmptyParticipant { index: 0 });
    }
    opening_allocation(proposal)
        .check_shape(PARTICIPANTS)
        .map_err(|e| match e {
            AllocationError::NoAssets => ProposalError::NoAssets,
            AllocationError::RowCount { rows, assets } => {
                ProposalError::BalanceRows { rows, assets }
            }
            AllocationError::ColumnCount {
                asset,
                found,
                expected,
            } => ProposalError::BalanceColumns {
                asset,
                found,
                expected,
            },
            AllocationError::DuplicateAsset(index) => ProposalError::DuplicateAsset { index },
            AllocationError::Overflow(asset) => ProposalError::TotalOverflow { asset },
            // The opening allocation locks nothing, so this only appears if the model grows a
            // rule this list does not know yet: still refuse, and say which.
            other @ AllocationError::SubAlloc { .. } => ProposalError::Allocation(other),
        })?;
    if proposal.challenge_duration == 0 {
        return Err(ProposalError::ZeroChallengeDuration);
    }
    if proposal.challenge_duration > MAX_CHALLENGE_DURATION {
        return Err(ProposalError::ChallengeDurationTooLong {
            found: proposal.challenge_duration,
            max: MAX_CHALLENGE_DURATION,
        });
    }
    Ok(())
}

/// Checks that `accept` answers `proposal` and names an accepter address of its own.
pub fn validate_accept(
    proposal: &ChannelProposal,
    accept: &ProposalAccept,
) -> Result<(), ProposalError> {
    if accept.proposal_id != proposal.proposal_id {
        return Err(ProposalError::ProposalIdMismatch {
            expected: proposal.proposal_id,
            found: accept.proposal_id,
        });
    }
    if accept.participant.as_bytes().is_empty() {
        return Err(ProposalError::EmptyParticipant { index: 1 });
    }
    if accept.participant == proposal.proposer {
        return Err(ProposalError::DuplicateParticipant);
    }
    Ok(())
}

/// The channel nonce: keccak256(proposer's share ‖ accepter's share). Neither party alone
/// chooses it, so neither can steer the channel id onto an earlier channel's.
pub fn channel_nonce(proposer_share: &[u8; 32], accepter_share: &[u8; 32]) -> [u8; 32] {
    crate::hash::keccak256(&[proposer_share, accepter_share])
}

/// The parameters of the channel that `proposal` and `accept` open, after validating both:
/// the proposer then the accepter, the combined nonce, a ledger (not virtual) channel.
pub fn build_params(
    proposal: &ChannelProposal,
    accept: &ProposalAccept,
) -> Result<Params, ProposalError> {
    validate_proposal(proposal)?;
    validate_accept(proposal, accept)?;
    Ok(Params {
        participants: vec![proposal.proposer.clone(), accept.participant.clone()],
        challenge_duration: proposal.challenge_duration,
        nonce: channel_nonce(&proposal.nonce_share, &accept.nonce_share),
        app: proposal.app.clone(),
        ledger_channel: true,
        virtual_channel: false,
    })
}

/// The allocation of the opening state: the proposal's balances, nothing locked.
pub fn opening_allocation(proposal: &ChannelProposal) -> Allocation {
    Allocation {
        assets: proposal.assets.clone(),
        balances: proposal.balances.clone(),
        locked: Vec::new(),
    }
}

/// The opening state (version 0, not final) of the channel `channel_id` opened by `proposal`.
pub fn opening_state(proposal: &ChannelProposal, channel_id: ChannelId) -> State {
    State {
        channel_id,
        version: 0,
        allocation: opening_allocation(proposal),
        app_data: proposal.app_data.clone(),
        is_final: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::ProposalId;
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::{Address, Amount, Asset, Participant};

    fn asset(n: u8) -> Asset {
        Asset {
            chain_id: 1,
            holder: Address(vec![n; 20]),
        }
    }

    fn proposal() -> ChannelProposal {
        ChannelProposal {
            proposal_id: ProposalId([7; 32]),
            proposer: Participant(vec![1; 20]),
            assets: vec![asset(1), asset(2)],
            balances: vec![
                vec![Amount::from(10u64), Amount::from(20u64)],
                vec![Amount::from(0u64), Amount::from(5u64)],
            ],
            challenge_duration: 60,
            nonce_share: [3; 32],
            app: None,
            app_data: Bytes::default(),
        }
    }

    fn accept() -> ProposalAccept {
        ProposalAccept {
            proposal_id: ProposalId([7; 32]),
            nonce_share: [4; 32],
            participant: Participant(vec![2; 20]),
        }
    }

    fn refused(change: impl FnOnce(&mut ChannelProposal)) -> ProposalError {
        let mut p = proposal();
        change(&mut p);
        validate_proposal(&p).unwrap_err()
    }

    #[test]
    fn a_good_proposal_passes() {
        assert_eq!(validate_proposal(&proposal()), Ok(()));
        assert_eq!(validate_accept(&proposal(), &accept()), Ok(()));
    }

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(
            refused(|p| p.proposer = Participant(vec![])),
            ProposalError::EmptyParticipant { index: 0 }
        );
        assert_eq!(
            refused(|p| {
                for row in &mut p.balances {
                    row.push(Amount::from(1u64));
                }
            }),
            ProposalError::BalanceColumns {
                asset: 0,
                found: 3,
                expected: 2
            }
        );
        assert_eq!(
            refused(|p| {
                p.assets.clear();
                p.balances.clear();
            }),
            ProposalError::NoAssets
        );
        assert_eq!(
            refused(|p| p.assets[1] = asset(1)),
            ProposalError::DuplicateAsset { index: 1 }
        );
        assert_eq!(
            refused(|p| {
                p.balances.pop();
            }),
            ProposalError::BalanceRows { rows: 1, assets: 2 }
        );
        assert_eq!(
            refused(|p| {
                p.balances[1].pop();
            }),
            ProposalError::BalanceColumns {
                asset: 1,
                found: 1,
                expected: 2
            }
        );
        assert_eq!(
            refused(|p| {
                p.balances[0] = vec![Amount::from_be_bytes([0xff; 32]), Amount::from(1u64)];
            }),
            ProposalError::TotalOverflow { asset: 0 }
        );
        assert_eq!(
            refused(|p| p.challenge_duration = 0),
            ProposalError::ZeroChallengeDuration
        );
        assert_eq!(
            refused(|p| p.challenge_duration = MAX_CHALLENGE_DURATION + 1),
            ProposalError::ChallengeDurationTooLong {
                found: MAX_CHALLENGE_DURATION + 1,
                max: MAX_CHALLENGE_DURATION
            }
        );
    }

    #[test]
    fn accept_must_match_the_proposal() {
        let mut wrong_id = accept();
        wrong_id.proposal_id = ProposalId([8; 32]);
        assert!(matches!(
            validate_accept(&proposal(), &wrong_id),
            Err(ProposalError::ProposalIdMismatch { .. })
        ));
        let mut same_party = accept();
        same_party.participant = Participant(vec![1; 20]);
        assert_eq!(
            validate_accept(&proposal(), &same_party),
            Err(ProposalError::DuplicateParticipant)
        );
        assert!(build_params(&proposal(), &same_party).is_err());
        let mut empty = accept();
        empty.participant = Participant(vec![]);
        assert_eq!(
            validate_accept(&proposal(), &empty),
            Err(ProposalError::EmptyParticipant { index: 1 })
        );
    }

    #[test]
    fn params_and_opening_state_follow_the_proposal() {
        let params = build_params(&proposal(), &accept()).unwrap();
        assert_eq!(
            params.participants,
            vec![Participant(vec![1; 20]), Participant(vec![2; 20])]
        );
        assert_eq!(params.challenge_duration, 60);
        assert_eq!(params.nonce, channel_nonce(&[3; 32], &[4; 32]));
        assert!(params.ledger_channel && !params.virtual_channel);
        assert_eq!(params.app, None);

        let state = opening_state(&proposal(), ChannelId([5; 32]));
        assert_eq!(state.version, 0);
        assert!(!state.is_final);
        assert_eq!(state.channel_id, ChannelId([5; 32]));
        assert_eq!(state.allocation.balances, proposal().balances);
        assert!(state.allocation.locked.is_empty());
    }

    #[test]
    fn the_nonce_depends_on_both_shares_in_order() {
        let n = channel_nonce(&[1; 32], &[2; 32]);
        assert_ne!(n, channel_nonce(&[2; 32], &[1; 32]));
        assert_ne!(n, channel_nonce(&[1; 32], &[3; 32]));
        assert_eq!(n, crate::hash::keccak256(&[&[1; 32], &[2; 32]]));
    }
}
