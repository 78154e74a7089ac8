//! Updates: proposing, answering and completing a new state (DESIGN §4, "Update").
//!
//! One update is in flight per channel at a time.
//!
//! **One version, one state.** A party never signs two different states of the same version:
//! a peer holding both signatures could make the channel end at that version and register
//! whichever pays it more. So a version at which some participant signed a state that did not
//! become the newest is *spent* (`Channel::spent`): our proposal was rejected, a race was
//! lost, re-synchronisation dropped an update, or we declined the peer's. Every side proposes
//! above the highest version it knows spent, and signs nothing of the others' at or below it:
//! such a proposal is answered `UpdateReject { reason: Concurrent }`, on which the proposer
//! (knowing the version spent now) retries above it. Updates therefore skip versions, up to
//! [`MAX_VERSION_GAP`](super::MAX_VERSION_GAP) above the newest state; every rule is checked
//! as if the update were the next version (`Channel::predecessor_of`), and Perun's adjudicator
//! only asks a registered state to be newer. Our own spent version survives a restart because
//! the pending slot keeps the withdrawn update (`Channel::withdrawn`): a restarted node treats
//! it as in flight until re-synchronisation drops it, which spends its version again.
//!
//! **Races.** When both sides propose at once, each receives the other's proposal while its
//! own is unanswered. The higher version wins; of two equal ones, that of
//! [`race_winner`]`(version)`, which alternates between races two versions apart.
//! Neither proposal completes, since the loser signed its own and may not sign the winner's
//! of the same version. The winner proposes its update again, unchanged but for its version,
//! above both (`UpdateRenumbered`); the loser drops its own (`UpdateSuperseded`, so its driver
//! retries) and proposes nothing until the winner's new proposal arrives, then answers it like
//! any other. Because the loser's retry comes next, two sides paying each other continuously
//! take turns instead of one side starving the other.
//!
//! With three or more participants (go-perun's model) the proposer sends its update to every
//! other participant; each one that accepts signs it, persists its signature (write-ahead) and
//! sends its `UpdateAccept` to every other participant, so every signature reaches everyone.
//! Each participant adopts the update once it holds every signature; the proposer then
//! announces `UpdateAccepted`. A reject ends the update for everyone: a declined or invalid
//! update is rejected to every other participant. In a two-party channel each of these
//! "every other participant" is the one peer, and the messages are those of the two-party
//! protocol. Still two-party: the race rule (one pair of proposers) and re-synchronisation.

use super::{Channel, ChannelError, Effects, Incoming, IncomingUpdateError, MAX_VERSION_GAP};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{
    ChannelMessage, RejectReason, UpdateAccept, UpdateProposal, UpdateReject,
};
use crate::protocol::phase::Phase;
use crate::protocol::record::{PendingUpdate, PersistRecord};
use crate::protocol::signer::{StateSigner, StateVerifier};
use crate::protocol::transition::{final_state, payment, TransitionError};
use parley_plugin_api::model::{Amount, Sig, State};

/// The participant whose proposal wins when both propose `version` at once: participant 0
/// for versions 4k and 4k+1, participant 1 for 4k+2 and 4k+3. The winner's update lands one
/// above the race and the loser's retry proposes one above that, so should both propose again
/// there, the loser of one race wins the next.
pub fn race_winner(version: u64) -> usize {
    usize::from((version / 2) % 2 == 1)
}

impl Channel {
    /// Proposes `state` as the next state: checks it against every invariant, signs it,
    /// persists it as our pending update, then sends it to every other participant. Only while
    /// `Active`, not syncing, and with no other update in flight.
    ///
    /// A state built as the newest one's successor (version + 1) takes the next version not
    /// spent (module documentation); any other version must be above every spent one.
    pub fn propose_update(
        &mut self,
        mut state: State,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.require_phase("propose an update", Phase::Active)?;
        if self.syncing {
            return Err(ChannelError::Syncing);
        }
        if let Some(pending) = &self.pending {
            return Err(ChannelError::UpdatePending {
                version: pending.state.version,
            });
        }
        if let Some(incoming) = &self.incoming {
            return Err(ChannelError::DecisionPending {
                version: incoming.state.version,
            });
        }
        if let Some(version) = self.lost_race {
            return Err(ChannelError::RaceWinnerFirst { version });
        }
        if Some(state.version) == self.latest.version.checked_add(1) {
            state.version = self.next_version()?;
        }
        let floor = self.floor();
        if state.version <= floor {
            return Err(ChannelError::Transition(TransitionError::Version {
                old: floor,
                expected: floor + 1,
                found: state.version,
            }));
        }
        self.check_next(&state, self.my_index())?;
        let sig = signer.sign(self.me(), &state)?;
        let mut fx = Effects::default();
        self.send_proposal(state, sig, &mut fx);
        Ok(fx.finish())
    }

    /// Makes `state` with our `sig` our pending update: persisted, then sent to every other
    /// participant. It replaces a withdrawn one in the pending slot.
    fn send_proposal(&mut self, state: State, sig: Sig, fx: &mut Effects) {
        let pending = PendingUpdate {
            state: state.clone(),
            sig: sig.clone(),
        };
        self.pending = Some(pending.clone());
        self.withdrawn = None;
        self.pending_accepts.clear();
        fx.persist(PersistRecord::Pending(Some(pending)));
        let proposal = UpdateProposal {
            channel_id: self.record.channel_id,
            state,
            sig,
            payment: None,
            batch: Vec::new(),
        };
        fx.send_to_each(self.others(), ChannelMessage::UpdateProposal(proposal));
    }

    /// Proposes a payment of `amount` of asset index `asset` from us to participant `to`.
    pub fn pay(
        &mut self,
        asset: usize,
        to: usize,
        amount: Amount,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.refuse_payment_in_app()?;
        let next = payment(&self.latest, asset, self.my_index(), to, amount)?;
        self.propose_update(next, signer)
    }

    /// Proposes the final state (the newest allocation, `is_final` set). Once it is accepted
    /// the channel moves to `Closing` and takes no more updates.
    pub fn propose_final(
        &mut self,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        if !self.latest.allocation.locked.is_empty() {
            return Err(ChannelError::ChildrenOpen {
                count: self.latest.allocation.locked.len(),
            });
        }
        let next = final_state(&self.latest)?;
        self.propose_update(next, signer)
    }

    /// Participant `from` proposes a new state. A proposal that crosses ours is a race,
    /// resolved as the module documentation says (the winner signs its update again, hence
    /// `keys`). A proposal at a spent version is answered `Concurrent`: the proposer retries
    /// above it. Otherwise the proposal is checked against every invariant and the proposer's
    /// signature: if it breaks a rule, the effects send an `UpdateReject` with the reason (to
    /// every other participant) and announce `UpdateRefused`; if it is valid,
    /// `UpdateRequested` asks the driver's policy or user to answer with
    /// [`Channel::accept_update`] or [`Channel::reject_update`].
    ///
    /// `Err` only for messages that cannot be answered: another channel's, or a second proposal
    /// while the first awaits our answer (a protocol violation).
    pub fn on_update_proposal(
        &mut self,
        from: usize,
        message: UpdateProposal,
        keys: &(impl StateSigner + StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        let version = message.state.version;
        if let Some(awaiting) = &self.incoming {
            return Err(ChannelError::SecondProposal {
                version,
                awaiting: awaiting.state.version,
            });
        }
        let reachable = version > self.latest.version
            && version - self.latest.version <= MAX_VERSION_GAP
            && self.phase == Phase::Active;
        if let Some(ours) = self.pending.as_ref().map(|p| p.state.version) {
            if reachable {
                return Ok(self.resolve_race(ours, version, keys));
            }
        }
        if self.lost_race.is_some_and(|lost| version > lost) {
            // The winner's update, proposed again: the race is over, whatever we answer.
            self.lost_race = None;
        }
        let mut fx = Effects::default();
        if reachable && version <= self.floor() {
            // A version already spent (the proposer may not know yet): it retries above.
            fx.send_to_each(
                self.others(),
                self.reject(version, RejectReason::Concurrent),
            );
            return Ok(fx.finish());
        }
        match self.check_incoming(from, &message, keys) {
            Ok(()) => {
                fx.event(ChannelEvent::UpdateRequested {
                    state: message.state.clone(),
                });
                let mut sigs = vec![None; self.participants()];
                sigs[from] = Some(message.sig);
                self.incoming = Some(Incoming {
                    state: message.state,
                    proposer: from,
                    sigs,
                    accepted: false,
                });
                self.take_early_accepts(keys);
            }
            Err(error) => {
                let reject = self.reject(version, RejectReason::Invalid(error.to_string()));
                fx.send_to_each(self.others(), reject);
                fx.event(ChannelEvent::UpdateRefused { version, error });
            }
        }
        Ok(fx.finish())
    }

    /// The peer's proposal of `theirs` crossed ours of `ours` (module documentation, "Races").
    /// Both versions are spent either way. The winner proposes its update again above both
    /// (if it cannot sign, it withdraws it and releases the loser with a `Concurrent` reject);
    /// the loser withdraws its own and waits for that proposal.
    fn resolve_race(
        &mut self,
        ours: u64,
        theirs: u64,
        keys: &(impl StateSigner + ?Sized),
    ) -> Vec<Effect> {
        let top = ours.max(theirs);
        let we_win = ours > theirs || (ours == theirs && self.my_index() == race_winner(ours));
        self.spend(top);
        let mut fx = Effects::default();
        if !we_win {
            self.withdraw_pending();
            self.lost_race = Some(top);
            fx.event(ChannelEvent::UpdateSuperseded { version: ours });
            return fx.finish();
        }
        let again = self.next_version().ok().and_then(|version| {
            let mut state = self.pending.as_ref()?.state.clone();
            state.version = version;
            let sig = keys.sign(self.me(), &state).ok()?;
            Some((state, sig))
        });
        match again {
            Some((state, sig)) => {
                let to = state.version;
                self.send_proposal(state, sig, &mut fx);
                fx.event(ChannelEvent::UpdateRenumbered { from: ours, to });
            }
            None => {
                self.withdraw_pending();
                fx.send_to_each(self.others(), self.reject(top, RejectReason::Concurrent));
                fx.event(ChannelEvent::UpdateSuperseded { version: ours });
            }
        }
        fx.finish()
    }

    /// Adds to the update just received the accepts of it that arrived first and verify; any
    /// other early accept is dropped (the update it answered can no longer complete here).
    fn take_early_accepts(&mut self, verifier: &(impl StateVerifier + ?Sized)) {
        let early = std::mem::take(&mut self.early_accepts);
        let Some(incoming) = &self.incoming else {
            return;
        };
        let state = incoming.state.clone();
        let proposer = incoming.proposer;
        let verified: Vec<(usize, Sig)> = early
            .into_iter()
            .filter(|(from, (version, sig))| {
                *from != proposer
                    && *version == state.version
                    && self.check_sig_of(*from, verifier, &state, sig).is_ok()
            })
            .map(|(from, (_, sig))| (from, sig))
            .collect();
        if let Some(incoming) = &mut self.incoming {
            for (from, sig) in verified {
                incoming.sigs[from] = Some(sig);
            }
        }
    }

    /// Every rule an incoming proposal of participant `from` must keep, in the order they are
    /// checked.
    fn check_incoming(
        &self,
        from: usize,
        message: &UpdateProposal,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<(), IncomingUpdateError> {
        match self.phase {
            Phase::Active => {}
            Phase::Closing => {
                return Err(IncomingUpdateError::ChannelFinal {
                    version: self.latest.version,
                })
            }
            phase => return Err(IncomingUpdateError::NotActive { phase }),
        }
        self.check_next(&message.state, from)?;
        if verifier.verify(&message.state, &message.sig, self.participant(from))? {
            Ok(())
        } else {
            Err(IncomingUpdateError::BadSignature)
        }
    }

    /// Accepts the update awaiting our answer: signs it and sends our `UpdateAccept` to every
    /// other participant. If that completes it (always with two participants) it becomes the
    /// newest fully signed state, persisted before the accept leaves; a final state moves the
    /// channel to `Closing`. If others have yet to sign, our signature is persisted (in the
    /// pending slot) before it leaves, and the update completes with the last accept. If
    /// signing fails the update still awaits an answer.
    pub fn accept_update(
        &mut self,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        let state = self
            .awaiting_decision()
            .ok_or(ChannelError::NoUpdateAwaiting)?;
        let sig = signer.sign(self.me(), state)?;
        let me = self.my_index();
        let mut incoming = self.incoming.take().expect("checked above");
        incoming.sigs[me] = Some(sig.clone());
        incoming.accepted = true;
        let version = incoming.state.version;
        let mut fx = Effects::default();
        if incoming.sigs.iter().all(Option::is_some) {
            let sigs = incoming.sigs.into_iter().flatten().collect();
            self.adopt(incoming.state, sigs, &mut fx)
        } else {
            fx.persist(PersistRecord::Pending(Some(PendingUpdate {
                state: incoming.state.clone(),
                sig: sig.clone(),
            })));
            self.incoming = Some(incoming);
        }
        let accept = UpdateAccept {
            channel_id: self.record.channel_id,
            version,
            sig,
        };
        fx.send_to_each(self.others(), ChannelMessage::UpdateAccept(accept));
        Ok(fx.finish())
    }

    /// Declines the update awaiting our answer (the policy or the user said no, or the answer
    /// expired): sends `UpdateReject` with `reason` to every other participant. The channel's
    /// state is unchanged.
    pub fn reject_update(
        &mut self,
        reason: impl Into<String>,
    ) -> Result<Vec<Effect>, ChannelError> {
        let version = self
            .awaiting_decision()
            .ok_or(ChannelError::NoUpdateAwaiting)?
            .version;
        self.incoming = None;
        self.spend(version);
        let reject = self.reject(version, RejectReason::Declined(reason.into()));
        let mut fx = Effects::default();
        fx.send_to_each(self.others(), reject);
        Ok(fx.finish())
    }

    /// Participant `from` accepted an update in flight: our pending one, or (three or more
    /// participants) another's. Its signature is verified and added; the update becomes the
    /// newest fully signed state, persisted, once every participant's signature is in (for
    /// our own update, announced as `UpdateAccepted`). Until then the accept changes nothing
    /// durable. An accept that overtook the proposal it answers is kept until it arrives.
    pub fn on_update_accept(
        &mut self,
        from: usize,
        message: UpdateAccept,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        let version = message.version;
        if let Some(pending) = self.pending.as_ref().filter(|p| p.state.version == version) {
            self.check_sig_of(from, verifier, &pending.state, &message.sig)?;
            self.pending_accepts.insert(from, message.sig);
            return Ok(self.complete_pending());
        }
        if let Some(incoming) = self
            .incoming
            .as_ref()
            .filter(|i| i.state.version == version && i.proposer != from && self.participants() > 2)
        {
            self.check_sig_of(from, verifier, &incoming.state, &message.sig)?;
            let incoming = self.incoming.as_mut().expect("matched above");
            incoming.sigs[from] = Some(message.sig);
            return Ok(self.complete_incoming());
        }
        if self.participants() > 2
            && self.incoming.is_none()
            && version > self.floor()
            && version - self.latest.version <= MAX_VERSION_GAP
        {
            // The proposal it answers is still on its way from the proposer.
            self.early_accepts.insert(from, (version, message.sig));
            return Ok(Vec::new());
        }
        Err(ChannelError::UnexpectedAccept { version })
    }

    /// Adopts our pending update if every other participant's accept is in.
    fn complete_pending(&mut self) -> Vec<Effect> {
        if self.pending.is_none() {
            return Vec::new();
        }
        let me = self.my_index();
        let complete = self.others().all(|i| self.pending_accepts.contains_key(&i));
        if !complete {
            return Vec::new();
        }
        let pending = self.pending.take().expect("matched above");
        let mut accepts = std::mem::take(&mut self.pending_accepts);
        let mut own = Some(pending.sig);
        let sigs = (0..self.participants())
            .map(|i| {
                if i == me {
                    own.take().expect("our slot comes once")
                } else {
                    accepts.remove(&i).expect("checked complete")
                }
            })
            .collect();
        let version = pending.state.version;
        let mut fx = Effects::default();
        self.adopt(pending.state, sigs, &mut fx);
        fx.persist(PersistRecord::Pending(None));
        fx.event(ChannelEvent::UpdateAccepted { version });
        fx.finish()
    }

    /// Adopts the update we accepted if every participant's signature is in (three or more
    /// participants; with two, accepting completes it).
    fn complete_incoming(&mut self) -> Vec<Effect> {
        let complete = self
            .incoming
            .as_ref()
            .filter(|i| i.accepted)
            .and_then(|i| i.sigs.iter().cloned().collect::<Option<Vec<Sig>>>());
        let Some(sigs) = complete else {
            return Vec::new();
        };
        let incoming = self.incoming.take().expect("matched above");
        let mut fx = Effects::default();
        self.adopt(incoming.state, sigs, &mut fx);
        fx.persist(PersistRecord::Pending(None));
        fx.finish()
    }

    /// Participant `from` rejected an update in flight: our pending one is withdrawn (its
    /// version spent) and the channel stays at its newest state; (three or more participants)
    /// another's that we hold is dropped too, as it can no longer be fully signed. A race's
    /// winner that could not propose again releases us with a `Concurrent` reject of the race.
    pub fn on_update_reject(
        &mut self,
        from: usize,
        message: UpdateReject,
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        match &self.pending {
            Some(p) if p.state.version == message.version => {
                self.withdraw_pending();
                let mut fx = Effects::default();
                fx.event(ChannelEvent::UpdateRejected {
                    version: message.version,
                    reason: message.reason,
                });
                Ok(fx.finish())
            }
            _ if self.lost_race == Some(message.version) => {
                self.lost_race = None;
                Ok(Vec::new())
            }
            _ if self.incoming.as_ref().is_some_and(|i| {
                i.state.version == message.version && i.proposer != from && self.participants() > 2
            }) =>
            {
                let mut fx = Effects::default();
                self.drop_incoming(&mut fx);
                Ok(fx.finish())
            }
            _ => Err(ChannelError::UnexpectedReject {
                version: message.version,
            }),
        }
    }

    /// An `UpdateReject` of `version`.
    fn reject(&self, version: u64, reason: RejectReason) -> ChannelMessage {
        ChannelMessage::UpdateReject(UpdateReject {
            channel_id: self.record.channel_id,
            version,
            reason,
        })
    }
}
