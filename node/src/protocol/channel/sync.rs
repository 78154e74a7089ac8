//! Re-synchronisation after a crash or a lost connection (DESIGN §4, write-ahead): both sides
//! exchange their newest fully signed state, adopt the higher one after checking every
//! signature, and discard any half-done update.
//!
//! Re-synchronisation is still two-party at heart: the request goes to every other participant
//! and each answers it, but the first answer ends it. With three or more participants a state
//! that only some hold fully signed is learnt from whoever answers first.
//!
//! **Driver contract.** On every (re)connection *both* sides call [`Channel::sync_request`]
//! before anything else and answer the peer's `SyncRequest` with [`Channel::on_sync_request`].
//! Updates are refused from `sync_request` until the peer's answer is handled. Because both
//! sides send their request first and propose only after their own sync finished, each side's
//! answer reaches the other before any new proposal.
//!
//! Why discarding is safe: the peer persists an update before accepting it, so if its newest
//! fully signed state is older than our pending update, it never accepted it and never will
//! (its own half-done answer is discarded on its side too). If its state is newer, it accepted,
//! and we adopt the accepted state, which carries our own signature.
//!
//! While opening, no state is fully signed yet: the request is answered with the sender's
//! version-0 signature (an `OpeningSig`), or, if the answerer already has both, with its fully
//! signed version 0.

use super::{Channel, ChannelError, Effects, SyncError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{
    ChannelMessage, FullySignedState, OpeningSig, SyncReply, SyncRequest,
};
use crate::protocol::record::PersistRecord;
use crate::protocol::signer::StateVerifier;
use crate::protocol::transition::check_agreed_transition;

impl Channel {
    /// Starts re-synchronisation: discards the update awaiting our answer (its proposer
    /// discards it too when our answer reaches it) and asks every other participant for its
    /// newest state. An update we already accepted (three or more participants) is kept: it
    /// carries our signature, and the answers settle it.
    pub fn sync_request(&mut self) -> Vec<Effect> {
        let mut fx = Effects::default();
        if self.awaiting_decision().is_some() {
            self.drop_incoming(&mut fx);
        }
        // A race's winner proposes again only on the connection the race ran on.
        self.lost_race = None;
        self.syncing = true;
        let request = SyncRequest {
            channel_id: self.record.channel_id,
            latest_version: self.latest.version,
            spent_version: self.floor().max(
                self.pending
                    .as_ref()
                    .map_or(0, |pending| pending.state.version),
            ),
        };
        fx.send_to_each(self.others(), ChannelMessage::SyncRequest(request));
        fx.finish()
    }

    /// Answers participant `from`'s `SyncRequest` with our newest fully signed state and the
    /// update in flight that carries our signature (both already persisted), or while opening
    /// with our version-0 signature.
    ///
    /// Our own half-done update is settled by the peer's answer to our own request. If we have
    /// one and are not re-synchronising already, the peer's request starts our own sync too:
    /// the peer may have accepted our update and its accept may have been lost with the old
    /// connection (only one side may notice a reconnect), and only our own sync adopts it. A
    /// side without a pending update does not ask back, so two syncs never ping-pong.
    pub fn on_sync_request(
        &mut self,
        from: usize,
        message: SyncRequest,
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        // The requester signed there (or knows someone did): we propose above it.
        self.spend(message.spent_version);
        // Ask back for what the requester holds that we lack: our half-done update's answer,
        // or (still opening) its signature on version 0, which may have been lost with a
        // connection that was replaced.
        let ask_back = (self.pending.is_some() || self.fully_signed().is_none()) && !self.syncing;
        let mut fx = Effects::default();
        match self.fully_signed() {
            Some(latest) => fx.send(
                from,
                ChannelMessage::SyncReply(SyncReply {
                    channel_id: self.record.channel_id,
                    latest,
                    pending: self.signed_in_flight().map(|p| (p.state, p.sig)),
                }),
            ),
            None => fx.send(
                from,
                ChannelMessage::OpeningSig(OpeningSig {
                    channel_id: self.record.channel_id,
                    sig: self.sigs[self.my_index()]
                        .clone()
                        .expect("our own signature is always present"),
                }),
            ),
        }
        let mut effects = fx.finish();
        if ask_back {
            effects.extend(self.sync_request());
        }
        Ok(effects)
    }

    /// Handles the peer's answer to our `SyncRequest`. A newer fully signed state is adopted
    /// once every signature verifies and it could follow ours under every invariant (the same
    /// [`check_transition`] an update passes); an equal one must be the same state (else
    /// someone signed twice: [`SyncError::Fork`]). Any half-done update of ours not covered by
    /// the adopted state is discarded. The peer's `pending` is never adopted: it is half-done,
    /// and the peer discards it on our answer.
    ///
    /// An answer that proves the peer faulty ([`SyncError::is_peer_fault`]) is not an error:
    /// the effects end the re-synchronisation, announce the fault and start a dispute (see
    /// `fault.rs`). On any other `Err` nothing changes and updates stay blocked.
    pub fn on_sync_reply(
        &mut self,
        _from: usize,
        message: SyncReply,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        if !self.syncing {
            return Err(ChannelError::UnexpectedSyncReply);
        }
        if let Some((state, _)) = &message.pending {
            // The peer signed it, and it will not complete: its version is spent.
            self.spend(state.version);
        }
        match self.adopt_reply(message.latest, verifier) {
            Ok(effects) => Ok(effects),
            Err(fault) if fault.is_peer_fault() => Ok(self.peer_fault(fault)),
            Err(error) => Err(error.into()),
        }
    }

    /// [`Channel::on_sync_reply`] once the reply is known to be expected.
    fn adopt_reply(
        &mut self,
        theirs: FullySignedState,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, SyncError> {
        self.check_peer_state(&theirs, verifier)?;
        let mut fx = Effects::default();
        let ours_complete = self.sigs.iter().all(Option::is_some);
        let version = theirs.state.version;
        if version > self.latest.version || (version == self.latest.version && !ours_complete) {
            if version == self.latest.version && theirs.state != self.latest {
                return Err(SyncError::Fork { version });
            }
            if version > self.latest.version {
                // Newer by any number of versions: it must still be a legal successor of ours,
                // so compare it with ours as if ours were its direct predecessor.
                let mut base = self.latest.clone();
                base.version = version - 1;
                check_agreed_transition(&self.record.params, &base, &theirs.state)
                    .map_err(SyncError::Transition)?;
            }
            if self
                .pending
                .as_ref()
                .is_some_and(|p| p.state == theirs.state)
            {
                self.pending = None;
                self.pending_accepts.clear();
                fx.persist(PersistRecord::Pending(None));
                fx.event(ChannelEvent::UpdateAccepted { version });
            } else if let Some(version) = self.withdraw_pending() {
                fx.event(ChannelEvent::UpdateDiscarded { version });
            }
            // An update of another's that we accepted is covered (or lost) the same way.
            self.drop_incoming(&mut fx);
            self.adopt(theirs.state, theirs.sigs, &mut fx);
        } else {
            if version == self.latest.version && theirs.state != self.latest {
                return Err(SyncError::Fork { version });
            }
            // The peer is not ahead of us, so it never accepted our pending update.
            self.discard_half_done(&mut fx);
        }
        self.syncing = false;
        fx.event(ChannelEvent::Synced {
            version: self.latest.version,
        });
        Ok(fx.finish())
    }

    /// Checks a fully signed state from the peer: our channel, one signature per participant,
    /// each verifying for its participant.
    fn check_peer_state(
        &self,
        theirs: &FullySignedState,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<(), SyncError> {
        if theirs.state.channel_id != self.record.channel_id {
            return Err(SyncError::StateOfOtherChannel {
                expected: self.record.channel_id,
                found: theirs.state.channel_id,
            });
        }
        let participants = &self.record.params.participants;
        if theirs.sigs.len() != participants.len() {
            return Err(SyncError::SignatureCount {
                found: theirs.sigs.len(),
                expected: participants.len(),
            });
        }
        for (participant, (sig, address)) in theirs.sigs.iter().zip(participants).enumerate() {
            if !verifier
                .verify(&theirs.state, sig, address)
                .map_err(SyncError::Backend)?
            {
                return Err(SyncError::BadSignature { participant });
            }
        }
        Ok(())
    }
}
