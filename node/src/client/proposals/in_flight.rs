//! Channel proposals in flight ([`InFlight`]): ours waiting for the peer's answer, and the
//! peers' waiting for ours (the policy's or the user's) until they expire.

use crate::protocol::{ChannelProposal, ProposalId};
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, ChannelId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// How the peer answered one of our proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalOutcome {
    /// It accepted and the channel is open (its task runs).
    Opened(ChannelId),
    /// It rejected, with this reason.
    Rejected(String),
    /// It accepted, but the accept did not open a channel (the reason says why).
    Failed(String),
}

/// One of our proposals awaiting the peer's answer.
#[derive(Debug)]
pub struct Outgoing {
    /// The proposal sent.
    pub proposal: ChannelProposal,
    /// The peer it went to: only its answer counts.
    pub peer: NodeId,
    /// The intermediary it went through (a virtual channel's proposal), which may reject it
    /// too; `None` for a proposal sent to the peer itself.
    pub via: Option<NodeId>,
    /// The intermediaries' fee our ledger channel with `via` pays with the virtual channel's
    /// lock (zero for any other proposal).
    pub lock_fee: Amount,
    /// Where the outcome goes.
    pub answer: oneshot::Sender<ProposalOutcome>,
}

/// A peer's proposal awaiting our answer.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The proposal.
    pub proposal: ChannelProposal,
    /// Who sent it (the authenticated peer).
    pub peer: NodeId,
    /// When it lapses unanswered.
    pub deadline: Instant,
    /// The same, in Unix seconds, for the API.
    pub expires_at: u64,
}

/// Why a peer's proposal was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    /// A proposal with that id is already waiting (a repeat).
    Repeated,
    /// The peer already has `max` proposals waiting for an answer.
    TooMany {
        /// The limit (`[limits] open_proposals`).
        max: usize,
    },
}

/// Every proposal in flight. Its lock is taken only inside its methods, for one change each,
/// so no caller holds it across an `await`.
#[derive(Debug, Default)]
pub struct InFlight {
    maps: Mutex<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    outgoing: HashMap<ProposalId, Outgoing>,
    incoming: BTreeMap<ProposalId, Incoming>,
}

impl InFlight {
    /// Every change is a single map operation, so a panic while holding the lock cannot leave
    /// the maps half-changed and a poisoned lock is still usable.
    fn maps(&self) -> MutexGuard<'_, Maps> {
        self.maps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers our proposal until its answer arrives.
    pub fn add_outgoing(&self, outgoing: Outgoing) {
        self.maps()
            .outgoing
            .insert(outgoing.proposal.proposal_id, outgoing);
    }

    /// Takes our proposal `id` if `from` is the peer it went to; `None` otherwise (an answer
    /// from anyone else is ignored and leaves it waiting).
    pub fn take_outgoing(&self, id: &ProposalId, from: &NodeId) -> Option<Outgoing> {
        let mut maps = self.maps();
        match maps.outgoing.get(id) {
            Some(outgoing) if outgoing.peer == *from => maps.outgoing.remove(id),
            _ => None,
        }
    }

    /// Takes our proposal `id` if `from` is the peer it went to or the intermediary it went
    /// through: either may reject it.
    pub fn take_rejected(&self, id: &ProposalId, from: &NodeId) -> Option<Outgoing> {
        let mut maps = self.maps();
        match maps.outgoing.get(id) {
            Some(outgoing) if outgoing.peer == *from || outgoing.via == Some(*from) => {
                maps.outgoing.remove(id)
            }
            _ => None,
        }
    }

    /// Forgets our proposal `id` (its caller gave up waiting).
    pub fn drop_outgoing(&self, id: &ProposalId) {
        self.maps().outgoing.remove(id);
    }

    /// Keeps a peer's proposal for `timeout` and returns when it expires (Unix seconds);
    /// nothing is kept if a proposal with that id is already waiting, or if `max_per_peer` of
    /// the peer's proposals are (unexpired at `now`): what peers can make this node hold is
    /// bounded per peer.
    pub fn add_incoming(
        &self,
        proposal: ChannelProposal,
        peer: NodeId,
        now: Instant,
        timeout: Duration,
        max_per_peer: usize,
    ) -> Result<u64, NotKept> {
        let mut maps = self.maps();
        let id = proposal.proposal_id;
        if maps.incoming.contains_key(&id) || maps.outgoing.contains_key(&id) {
            return Err(NotKept::Repeated);
        }
        maps.expire(now);
        let waiting = maps.incoming.values().filter(|i| i.peer == peer).count();
        if waiting >= max_per_peer {
            return Err(NotKept::TooMany { max: max_per_peer });
        }
        let expires_at = SystemTime::now()
            .checked_add(timeout)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(u64::MAX, |d| d.as_secs());
        maps.incoming.insert(
            id,
            Incoming {
                proposal,
                peer,
                deadline: now + timeout,
                expires_at,
            },
        );
        Ok(expires_at)
    }

    /// Takes the peer's proposal `id` if it has not expired at `now`.
    pub fn take_incoming(&self, id: &ProposalId, now: Instant) -> Option<Incoming> {
        let mut maps = self.maps();
        maps.expire(now);
        maps.incoming.remove(id)
    }

    /// The peers' proposals still waiting at `now`, in id order (expired ones are dropped).
    pub fn incoming(&self, now: Instant) -> Vec<Incoming> {
        let mut maps = self.maps();
        maps.expire(now);
        maps.incoming.values().cloned().collect()
    }
}

impl Maps {
    fn expire(&mut self, now: Instant) {
        self.incoming.retain(|id, incoming| {
            let alive = incoming.deadline > now;
            if !alive {
                tracing::info!(proposal = %id, "a channel proposal expired unanswered");
            }
            alive
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeKey;
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::Participant;

    fn proposal(n: u8) -> ChannelProposal {
        ChannelProposal {
            proposal_id: ProposalId([n; 32]),
            proposer: Participant(vec![1; 20]),
            assets: Vec::new(),
            balances: Vec::new(),
            locked: Vec::new(),
            challenge_duration: 60,
            nonce_share: [n; 32],
            app: None,
            app_data: Bytes::default(),
            ledger_channel: true,
            virtual_channel: false,
            parent: None,
        }
    }

    fn node() -> NodeId {
        NodeKey::generate().unwrap().node_id()
    }

    #[test]
    fn only_the_addressed_peer_can_answer_our_proposal() {
        let (bob, mallory) = (node(), node());
        let proposals = InFlight::default();
        let (answer, _) = oneshot::channel();
        proposals.add_outgoing(Outgoing {
            proposal: proposal(1),
            peer: bob,
            via: None,
            lock_fee: Amount::ZERO,
            answer,
        });
        assert!(proposals
            .take_outgoing(&ProposalId([1; 32]), &mallory)
            .is_none());
        assert!(proposals
            .take_rejected(&ProposalId([1; 32]), &mallory)
            .is_none());
        assert!(proposals
            .take_outgoing(&ProposalId([1; 32]), &bob)
            .is_some());
        assert!(proposals
            .take_outgoing(&ProposalId([1; 32]), &bob)
            .is_none());
    }

    #[test]
    fn a_virtual_proposals_intermediary_may_reject_it_but_not_accept_it() {
        let (bob, ingrid) = (node(), node());
        let proposals = InFlight::default();
        let id = ProposalId([1; 32]);
        for _ in 0..2 {
            let (answer, _) = oneshot::channel();
            proposals.add_outgoing(Outgoing {
                proposal: proposal(1),
                peer: bob,
                via: Some(ingrid),
                lock_fee: Amount::ZERO,
                answer,
            });
        }
        assert!(proposals.take_outgoing(&id, &ingrid).is_none());
        assert!(proposals.take_rejected(&id, &ingrid).is_some());
        let (answer, _) = oneshot::channel();
        proposals.add_outgoing(Outgoing {
            proposal: proposal(1),
            peer: bob,
            via: Some(ingrid),
            lock_fee: Amount::ZERO,
            answer,
        });
        assert!(proposals.take_rejected(&id, &bob).is_some());
    }

    #[test]
    fn incoming_proposals_expire_and_duplicates_are_refused() {
        let bob = node();
        let proposals = InFlight::default();
        let now = Instant::now();
        let timeout = Duration::from_secs(10);
        assert!(proposals
            .add_incoming(proposal(1), bob, now, timeout, 10)
            .is_ok());
        assert_eq!(
            proposals.add_incoming(proposal(1), bob, now, timeout, 10),
            Err(NotKept::Repeated)
        );
        assert!(proposals
            .add_incoming(proposal(2), bob, now, timeout, 10)
            .is_ok());
        assert_eq!(proposals.incoming(now).len(), 2);
        let later = now + Duration::from_secs(11);
        assert!(proposals
            .take_incoming(&ProposalId([1; 32]), later)
            .is_none());
        assert!(proposals.incoming(later).is_empty());
    }

    #[test]
    fn a_peer_can_have_only_so_many_proposals_waiting() {
        let (bob, carol) = (node(), node());
        let proposals = InFlight::default();
        let now = Instant::now();
        let timeout = Duration::from_secs(10);
        for n in 1..=3 {
            assert!(proposals
                .add_incoming(proposal(n), bob, now, timeout, 3)
                .is_ok());
        }
        assert_eq!(
            proposals.add_incoming(proposal(4), bob, now, timeout, 3),
            Err(NotKept::TooMany { max: 3 })
        );
        // Other peers have their own allowance.
        assert!(proposals
            .add_incoming(proposal(5), carol, now, timeout, 3)
            .is_ok());
        // Answered or expired proposals make room.
        assert!(proposals.take_incoming(&ProposalId([1; 32]), now).is_some());
        assert!(proposals
            .add_incoming(proposal(4), bob, now, timeout, 3)
            .is_ok());
        let later = now + Duration::from_secs(11);
        assert!(proposals
            .add_incoming(proposal(6), bob, later, timeout, 3)
            .is_ok());
    }
}
