//! Proven peer faults (rustls' `PeerMisbehaved`, for channels): what the peer sent cannot come
//! from an honest peer, and our funds are then protected only on chain.
//!
//! Which errors are proofs is decided here, not in the driver: an answer to our `SyncRequest`
//! that claims a state is fully signed and is not ([`SyncError::is_peer_fault`]), a re-sent
//! opening signature that does not verify, or one at all once the peer signed a newer state. Each came over the connection the peer
//! authenticated, so the peer sent it. What is *not* a proof: a bad signature on an update
//! proposal or accept (refused, and the update simply does not happen: nothing of ours is at
//! risk), a newer state that carries our own valid signature but breaks a rule (we signed it,
//! so the peer cannot be blamed), and our backend failing (a local problem).
//!
//! A fault ends re-synchronisation without adopting anything and, while deposits may be on
//! chain and no final state settles them (`Funding`, `Active`), moves the channel to
//! `Disputed`: the watcher's dispute driver then registers our newest fully signed state,
//! waits out the challenge duration, concludes and withdraws.

use super::{Channel, Effects, SyncError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::phase::Phase;

/// What the channel does about a proven fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultResponse {
    /// The channel moved to `Disputed`: our newest state goes on chain.
    Dispute,
    /// The channel settles on chain already (`Closing`, `Disputed`, `Closed`): the final state
    /// or the running dispute protects the funds.
    AlreadySettling,
    /// Still `Opening`: nothing is fully signed and nothing is deposited, so nothing needs
    /// protecting (the channel never becomes usable: the peer's signature never verifies).
    NothingAtStake,
}

impl FaultResponse {
    /// For people: what the node does about the fault.
    pub fn describe(self) -> &'static str {
        match self {
            FaultResponse::Dispute => {
                "disputing: registering our newest state on chain, to be paid out after the \
                 challenge duration"
            }
            FaultResponse::AlreadySettling => "the channel already settles on chain",
            FaultResponse::NothingAtStake => "nothing is signed or deposited yet",
        }
    }
}

impl SyncError {
    /// For people, seen from participant `me`: what the peer's answer to our re-synchronisation
    /// request was (a signature of ours that does not verify is a state we never signed).
    pub fn describe_for(&self, me: usize) -> String {
        match self {
            SyncError::BadSignature { participant } if *participant == me => {
                "its answer carries a signature of ours that does not verify: a state this node \
                 never signed (a forged fork)"
                    .to_string()
            }
            SyncError::BadSignature { .. } => {
                "its own signature on the state it answered with does not verify".to_string()
            }
            SyncError::Fork { version } => format!(
                "it holds a second fully signed state of version {version} besides ours (a fork)"
            ),
            other => other.to_string(),
        }
    }

    /// Whether this error proves the peer faulty. The peer presented its newest state as fully
    /// signed: a state of another channel, a wrong number of signatures, a signature that does
    /// not verify (ours, which it cannot forge, or its own) or a second fully signed state of
    /// a version we hold (a fork) are each impossible for an honest peer, and so is answering
    /// as if still opening after it signed a newer version. A newer state that
    /// cannot follow ours, though signed by both, carries our own valid signature, and a
    /// backend failure is ours: neither is the peer's fault.
    pub fn is_peer_fault(&self) -> bool {
        match self {
            SyncError::StateOfOtherChannel { .. }
            | SyncError::SignatureCount { .. }
            | SyncError::BadSignature { .. }
            | SyncError::Fork { .. }
            | SyncError::OpeningAfterSigning { .. } => true,
            SyncError::Transition(_) | SyncError::Backend(_) => false,
        }
    }
}

impl Channel {
    /// The peer proved itself faulty with `fault` (see the module documentation): ends
    /// re-synchronisation without adopting anything, announces [`ChannelEvent::PeerFault`] and
    /// protects the funds as the phase allows.
    pub(super) fn peer_fault(&mut self, fault: SyncError) -> Vec<Effect> {
        debug_assert!(fault.is_peer_fault(), "{fault} is no proof");
        self.syncing = false;
        let response = match self.phase {
            Phase::Funding | Phase::Active => FaultResponse::Dispute,
            Phase::Opening => FaultResponse::NothingAtStake,
            Phase::Closing | Phase::Disputed | Phase::Closed => FaultResponse::AlreadySettling,
        };
        let mut fx = Effects::default();
        // Announced before the phase change, so that the driver knows why the dispute starts
        // before it starts it.
        fx.event(ChannelEvent::PeerFault { fault, response });
        if response == FaultResponse::Dispute {
            self.enter_dispute(&mut fx);
        }
        fx.finish()
    }
}
