//! The channel's side of the channel tree: locking a sub-channel's funds in this channel's
//! state and merging a closed sub-channel's outcome back, each one update of this channel,
//! checked against the sub-channel's fully signed state this node holds.
//!
//! The driver hands over a child's state ([`Channel::know_child`]) from the child's own task:
//! its opening state once every participant signed it (before a lock), its final state once
//! every participant signed that (before a merge). A lock or merge update, ours or another
//! participant's, is accepted only if it is exactly what [`lock_child`] or [`merge_child`]
//! build from that state; any other change of the locked funds is refused. So this node never
//! signs a lock it does not hold the child of, and never lets a child's funds go back other
//! than as the child's final outcome says.
//!
//! A virtual child (funded through an intermediary, `Params::virtual_channel`) is locked the
//! same way, with each of its participants missing from this channel stood in for by this
//! channel's participant who is not in the child (the intermediary at an end's channel, the end
//! at the intermediary's): [`crate::protocol::tree::virtual_index_map`]. In a channel between
//! two intermediaries of a longer path both participants stand in for someone, and the path
//! names the map; an intermediaries' fee goes with the lock ([`Channel::know_virtual_child`]).
//!
//! Only payment channels hold sub-channels here: an app's rules know nothing of locks.

use super::{Channel, ChannelError, Effect, VirtualTerms};
use crate::protocol::signer::StateSigner;
use crate::protocol::transition::TransitionError;
use crate::protocol::tree::{
    check_virtual_index_map, lock_child, lock_virtual, merge_child, virtual_index_map,
    with_lock_fee,
};
use parley_plugin_api::model::{ChannelId, SignedState, State};

impl Channel {
    /// Remembers `child`'s fully signed state (its opening state before a lock, its final
    /// state before a merge), replacing what was known of that child. A final state of a child
    /// this channel does not lock is dropped: there is nothing to merge.
    pub fn know_child(&mut self, child: SignedState) {
        let id = child.state.channel_id;
        if child.state.is_final && !self.latest.allocation.locked.iter().any(|s| s.id == id) {
            return;
        }
        self.children.insert(id, child);
    }

    /// [`Channel::know_child`] for a virtual child's opening state with the `terms` of its
    /// lock here that the path sets: in a channel between two intermediaries both
    /// participants stand in for someone, so the map says who for whom (checked when the
    /// lock is built); and the fee that goes with the lock.
    pub fn know_virtual_child(&mut self, child: SignedState, terms: VirtualTerms) {
        let id = child.state.channel_id;
        self.know_child(child);
        if self.children.contains_key(&id) {
            self.virtual_terms.insert(id, terms);
        }
    }

    /// The sub-channels the newest state locks funds in, in lock order.
    pub fn locked_children(&self) -> Vec<ChannelId> {
        self.latest.allocation.locked.iter().map(|s| s.id).collect()
    }

    /// Proposes the update that locks the funds of `child` (whose opening state was given with
    /// [`Channel::know_child`]) in this channel.
    pub fn lock_child(
        &mut self,
        child: ChannelId,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        let next = self
            .lock_of(child)
            .map_err(|reason| ChannelError::Child { child, reason })?;
        self.propose_update(next, signer)
    }

    /// Proposes the update that merges the final outcome of `child` (given with
    /// [`Channel::know_child`]) back into this channel and removes its lock.
    pub fn merge_child(
        &mut self,
        child: ChannelId,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        let next = self
            .merge_of(child)
            .map_err(|reason| ChannelError::Child { child, reason })?;
        self.propose_update(next, signer)
    }

    /// Whether `next`, whose locked funds differ from the newest state's, is exactly the lock
    /// of one known child's opening state or the merge of one known child's final state.
    pub(super) fn check_tree_change(&self, next: &State) -> Result<(), TransitionError> {
        let before = &self.latest.allocation.locked;
        let after = &next.allocation.locked;
        let refused = || TransitionError::Locked { count: after.len() };
        if self.record.params.app.is_some() {
            return Err(refused());
        }
        let added: Vec<ChannelId> = after
            .iter()
            .filter(|s| !before.iter().any(|b| b.id == s.id))
            .map(|s| s.id)
            .collect();
        let removed: Vec<ChannelId> = before
            .iter()
            .filter(|s| !after.iter().any(|a| a.id == s.id))
            .map(|s| s.id)
            .collect();
        let (child, expected) = match (added.as_slice(), removed.as_slice()) {
            ([child], []) => (*child, self.lock_of(*child)),
            ([], [child]) => (*child, self.merge_of(*child)),
            _ => return Err(refused()),
        };
        let mut expected =
            expected.map_err(|reason| TransitionError::TreeChange { child, reason })?;
        // Built on the newest state; `next` may skip spent versions (checked before).
        expected.version = next.version;
        if expected == *next {
            Ok(())
        } else {
            Err(TransitionError::TreeChange {
                child,
                reason: "the new state is not the exact lock or merge of the sub-channel's \
                         state this node holds"
                    .to_string(),
            })
        }
    }

    /// The virtual child whose lock `next` (the peer's proposed update) adds, if this node
    /// stands in for one of its participants rather than being one: this node is the
    /// intermediary, and must not sign the lock before the channel on the path's other side
    /// locks the same child too (else it could pay out here what it never gets back there).
    pub fn virtual_lock_to_match(&self, next: &State) -> Option<ChannelId> {
        let before = &self.latest.allocation.locked;
        let added = next
            .allocation
            .locked
            .iter()
            .find(|s| !before.iter().any(|b| b.id == s.id))?;
        let known = self.children.get(&added.id)?;
        let me = self
            .record
            .params
            .participants
            .get(usize::from(self.record.my_index))?;
        (known.params.virtual_channel && !known.params.participants.contains(me))
            .then_some(added.id)
    }

    /// The next state with `child`'s opening state locked.
    fn lock_of(&self, child: ChannelId) -> Result<State, String> {
        let known = self
            .children
            .get(&child)
            .filter(|c| c.state.version == 0)
            .ok_or_else(|| "this node holds no fully signed opening state of it".to_string())?;
        if known.params.virtual_channel {
            let params = &self.record.params;
            let terms = self.virtual_terms.get(&child).cloned().unwrap_or_default();
            let map = match terms.map {
                Some(map) => {
                    check_virtual_index_map(params, &known.params, child, &map)
                        .map_err(|e| e.to_string())?;
                    map
                }
                None => {
                    let stand_in = params
                        .participants
                        .iter()
                        .find(|p| !known.params.participants.contains(p))
                        .ok_or_else(|| {
                            "every participant of this channel is in the virtual channel"
                                .to_string()
                        })?;
                    virtual_index_map(params, &known.params, child, stand_in)
                        .map_err(|e| e.to_string())?
                }
            };
            return lock_virtual(params, &self.latest, &known.params, &known.state, map)
                .and_then(|locked| with_lock_fee(&self.latest, locked, terms.fee))
                .map_err(|e| e.to_string());
        }
        lock_child(
            &self.record.params,
            &self.latest,
            &known.params,
            &known.state,
        )
        .map_err(|e| e.to_string())
    }

    /// The next state with `child`'s final outcome merged back.
    fn merge_of(&self, child: ChannelId) -> Result<State, String> {
        let known = self
            .children
            .get(&child)
            .filter(|c| c.state.is_final)
            .ok_or_else(|| "this node holds no fully signed final state of it".to_string())?;
        merge_child(
            &self.record.params,
            &self.latest,
            &known.params,
            &known.state,
        )
        .map_err(|e| e.to_string())
    }
}
