//! Opening a channel: validating a [`ChannelProposal`] and its [`ProposalAccept`], and deriving
//! the channel's [`Params`] and opening state from them.
//!
//! Randomness (proposal ids, nonce shares) and channel ids are inputs: the driver draws the
//! former, the chain backend computes the latter from the [`Params`] built here.
//!
//! Funds first: a proposal is refused unless the node can enforce every rule of the channel it
//! opens. It runs two-party ledger channels, payment channels and app channels of the apps it
//! has (`[[apps]]`), so a proposal naming an app it does not have (whose `progress` on chain
//! could move every deposit by rules the node never checked), locking
//! funds in sub-channels (which the node would have to hold and register to get them back), or
//! flagged virtual without naming the node's own ledger channel with the intermediary that
//! locks it is refused, with a reason that goes back to the proposer. (A virtual channel may run
//! an app the node has, as any channel: it goes on chain with its end's ledger channel and is
//! moved there like an app sub-channel.)

use super::app_rules::{AppLookup, NoApps};
use super::messages::{ChannelProposal, ProposalAccept};
use parley_plugin_api::model::{Address, Allocation, AllocationError, ChannelId, Params, State};
use thiserror::Error;

/// The number of participants of the channels a proposal opens: the proposal and accept
/// messages carry one proposer and one accepter, so they open two-party ledger channels. This
/// is the wire format's limit, not the channel's: [`Channel`](super::Channel) runs any number
/// from [`MIN_PARTICIPANTS`](super::channel::MIN_PARTICIPANTS) up. It is checked in one place,
/// [`validate_proposal`] (one balance per participant, else
/// [`ProposalError::BalanceColumns`]), and [`build_params`] then names exactly these two.
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
    /// The proposal names an app this node does not have: it could not check the app's rules,
    /// and on chain an app decides how `progress` may move the deposits.
    #[error(
        "the proposal names app {app}, which this node does not have ([[apps]] in its node.toml), \
         so it cannot check the app's rules (on chain the app could move every deposit); propose \
         a channel without an app, or with one the node has"
    )]
    App {
        /// The app's address.
        app: Address,
    },
    /// The proposal carries app data but names no app: nothing could interpret it.
    #[error(
        "the proposal carries {len} bytes of app data but names no app; a payment channel's app \
         data is empty"
    )]
    AppData {
        /// Its length in bytes.
        len: usize,
    },
    /// The opening state locks funds in sub-channels, which this node cannot enforce.
    #[error(
        "the proposal locks funds in {count} sub-channel(s); a new channel locks nothing (its \
         sub-channels are opened inside it once it is funded); propose it without locked funds"
    )]
    Locked {
        /// How many sub-allocations it has.
        count: usize,
    },
    /// The proposal is for a virtual channel but is also flagged a ledger channel, or names
    /// no ledger channel of this node with the intermediary to lock its funds.
    #[error(
        "the proposal is for a virtual channel but {problem}; a virtual channel is locked in \
         this node's ledger channel with the intermediary, never deposited on chain"
    )]
    Virtual {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The proposal is not for a ledger channel but names no parent channel to fund it.
    #[error(
        "the proposal is not for a ledger channel and names no parent channel; a channel is \
         funded on chain (a ledger channel) or locked in a parent (a sub-channel)"
    )]
    NotLedger,
    /// The proposal names a parent channel but is for a ledger channel: its funds would be
    /// deposited on chain and locked in the parent, counted twice.
    #[error(
        "the proposal names parent channel {parent} but is for a ledger channel; a sub-channel \
         is funded by its parent only"
    )]
    LedgerWithParent {
        /// The parent it names.
        parent: ChannelId,
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
    validate_proposal_with_apps(proposal, &NoApps)
}

/// [`validate_proposal`] for a node with `apps`: a proposal may name one of them.
pub fn validate_proposal_with_apps(
    proposal: &ChannelProposal,
    apps: &dyn AppLookup,
) -> Result<(), ProposalError> {
    if proposal.proposer.as_bytes().is_empty() {
        return Err(ProposalError::EmptyParticipant { index: 0 });
    }
    check_enforceable(proposal, apps)?;
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
            // A proposal with locked funds is refused before the shape is looked at, so this
            // only appears if the model grows a rule this list does not know yet: still refuse,
            // and say which.
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

/// The rules that keep a channel within what this node can enforce (module documentation):
/// a ledger channel, a sub-channel of a parent or a virtual channel locked in this node's
/// ledger channel `parent`, an app only if `apps` has it (app data only with an app), nothing
/// locked.
fn check_enforceable(
    proposal: &ChannelProposal,
    apps: &dyn AppLookup,
) -> Result<(), ProposalError> {
    if proposal.virtual_channel {
        if proposal.ledger_channel {
            return Err(ProposalError::Virtual {
                problem: "is also flagged a ledger channel",
            });
        }
        if proposal.parent.is_none() {
            return Err(ProposalError::Virtual {
                problem: "names no ledger channel to lock it in",
            });
        }
    }
    match (&proposal.parent, proposal.ledger_channel) {
        (None, false) => return Err(ProposalError::NotLedger),
        (Some(parent), true) => return Err(ProposalError::LedgerWithParent { parent: *parent }),
        _ => {}
    }
    if let Some(app) = &proposal.app {
        if apps.rules(app).is_none() {
            return Err(ProposalError::App { app: app.clone() });
        }
    } else if !proposal.app_data.0.is_empty() {
        return Err(ProposalError::AppData {
            len: proposal.app_data.0.len(),
        });
    }
    if !proposal.locked.is_empty() {
        return Err(ProposalError::Locked {
            count: proposal.locked.len(),
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
/// the proposer then the accepter, the combined nonce, the proposal's app and flags (which
/// validation allows only as a ledger payment channel).
pub fn build_params(
    proposal: &ChannelProposal,
    accept: &ProposalAccept,
    apps: &dyn AppLookup,
) -> Result<Params, ProposalError> {
    validate_proposal_with_apps(proposal, apps)?;
    validate_accept(proposal, accept)?;
    Ok(Params {
        participants: vec![proposal.proposer.clone(), accept.participant.clone()],
        challenge_duration: proposal.challenge_duration,
        nonce: channel_nonce(&proposal.nonce_share, &accept.nonce_share),
        app: proposal.app.clone(),
        ledger_channel: proposal.ledger_channel,
        virtual_channel: proposal.virtual_channel,
    })
}

/// The allocation of the opening state: the proposal's balances and locked funds.
pub fn opening_allocation(proposal: &ChannelProposal) -> Allocation {
    Allocation {
        assets: proposal.assets.clone(),
        balances: proposal.balances.clone(),
        locked: proposal.locked.clone(),
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
    use parley_plugin_api::model::{Address, Amount, Asset, Participant, SubAlloc};

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
            locked: Vec::new(),
            challenge_duration: 60,
            nonce_share: [3; 32],
            app: None,
            app_data: Bytes::default(),
            ledger_channel: true,
            virtual_channel: false,
            parent: None,
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
    fn what_the_node_cannot_enforce_is_refused_with_its_reason() {
        let app = Address(vec![9; 20]);
        assert_eq!(
            refused(|p| p.app = Some(app.clone())),
            ProposalError::App { app: app.clone() }
        );
        assert_eq!(
            refused(|p| p.app_data = Bytes(vec![1, 2, 3])),
            ProposalError::AppData { len: 3 }
        );
        let sub = SubAlloc {
            id: ChannelId([6; 32]),
            balances: vec![Amount::from(1u64), Amount::ZERO],
            index_map: vec![0, 1],
        };
        assert_eq!(
            refused(|p| p.locked = vec![sub.clone(), sub.clone()]),
            ProposalError::Locked { count: 2 }
        );
        assert!(matches!(
            refused(|p| p.virtual_channel = true),
            ProposalError::Virtual { .. }
        ));
        assert!(matches!(
            refused(|p| {
                p.virtual_channel = true;
                p.ledger_channel = false;
            }),
            ProposalError::Virtual { .. }
        ));
        // A virtual channel names this node's ledger channel with the intermediary.
        let mut virtual_one = proposal();
        virtual_one.virtual_channel = true;
        virtual_one.ledger_channel = false;
        virtual_one.parent = Some(ChannelId([8; 32]));
        assert!(build_params(&virtual_one, &accept(), &NoApps).is_ok());
        assert_eq!(
            refused(|p| p.ledger_channel = false),
            ProposalError::NotLedger
        );
        // An app channel is refused even when everything else is in order, so opening one
        // fails on both sides and nothing is signed.
        let mut with_app = proposal();
        with_app.app = Some(app);
        assert!(build_params(&with_app, &accept(), &NoApps).is_err());
        // The reason names what to change.
        let text = ProposalError::Locked { count: 1 }.to_string();
        assert!(text.contains("without locked funds"), "{text}");
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
        assert!(build_params(&proposal(), &same_party, &NoApps).is_err());
        let mut empty = accept();
        empty.participant = Participant(vec![]);
        assert_eq!(
            validate_accept(&proposal(), &empty),
            Err(ProposalError::EmptyParticipant { index: 1 })
        );
    }

    #[test]
    fn params_and_opening_state_follow_the_proposal() {
        let params = build_params(&proposal(), &accept(), &NoApps).unwrap();
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
