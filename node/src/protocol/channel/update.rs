//! Updates: proposing, answering and completing a new state (DESIGN §4, "Update").
//!
//! One update is in flight per channel at a time. When both sides propose the same version at
//! once, the proposal of [`race_winner`]`(version)` wins: participant 0 for odd versions,
//! participant 1 for even ones. The winner answers the other's proposal with
//! `UpdateReject { reason: Concurrent }` and keeps its own; the loser drops its own (announcing
//! `UpdateSuperseded` so its driver can retry on the new state) and treats the peer's proposal
//! like any other. Both sides therefore end with the same newest state, and because the
//! loser's retry is for the next version, which it wins, two sides paying each other
//! continuously take turns instead of one side starving the other.
//!
//! With three or more participants (go-perun's model) the proposer sends its update to every
//! other participant; each one that accepts signs it, persists its signature (write-ahead) and
//! sends its `UpdateAccept` to every other participant, so every signature reaches everyone.
//! Each participant adopts the update once it holds every signature; the proposer then
//! announces `UpdateAccepted`. A reject ends the update for everyone: a declined or invalid
//! update is rejected to every other participant. In a two-party channel each of these
//! "every other participant" is the one peer, and the messages are those of the two-party
//! protocol. Still two-party: the race rule (one pair of proposers) and re-synchronisation.

use super::{Channel, ChannelError, Effects, Incoming, IncomingUpdateError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{
    ChannelMessage, RejectReason, UpdateAccept, UpdateProposal, UpdateReject,
};
use crate::protocol::phase::Phase;
use crate::protocol::record::{PendingUpdate, PersistRecord};
use crate::protocol::signer::{StateSigner, StateVerifier};
use crate::protocol::transition::{final_state, payment};
use parley_plugin_api::model::{Amount, Sig, State};

/// The participant whose proposal wins when both propose `version` at once: alternating, so
/// the loser of one race wins the next (its retry).
pub fn race_winner(version: u64) -> usize {
    usize::from(version % 2 == 0)
}

impl Channel {
    /// Proposes `state` as the next state: checks it against every invariant, signs it,
    /// persists it as our pending update, then sends it to every other participant. Only while
    /// `Active`, not syncing, and with no other update in flight.
    pub fn propose_update(
        &mut self,
        state: State,
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
        self.check_next(&state, self.my_index())?;
        let sig = signer.sign(self.me(), &state)?;
        let pending = PendingUpdate {
            state: state.clone(),
            sig: sig.clone(),
        };
        self.pending = Some(pending.clone());
        self.pending_accepts.clear();
        let mut fx = Effects::default();
        fx.persist(PersistRecord::Pending(Some(pending)));
        let proposal = UpdateProposal {
            channel_id: self.record.channel_id,
            state,
            sig,
            payment: None,
        };
        fx.send_to_each(self.others(), ChannelMessage::UpdateProposal(proposal));
        Ok(fx.finish())
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

    /// Participant `from` proposes a new state. A concurrent proposal is resolved by
    /// [`race_winner`] (module documentation). Otherwise the proposal is checked against every
    /// invariant and the proposer's signature: if it breaks a rule, the effects send an
    /// `UpdateReject` with the reason (to every other participant) and announce
    /// `UpdateRefused`; if it is valid, `UpdateRequested` asks the driver's policy or user to
    /// answer with [`Channel::accept_update`] or [`Channel::reject_update`].
    ///
    /// `Err` only for messages that cannot be answered: another channel's, or a second proposal
    /// while the first awaits our answer (a protocol violation).
    pub fn on_update_proposal(
        &mut self,
        from: usize,
        message: UpdateProposal,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        let version = message.state.version;
        if let Some(awaiting) = &self.incoming {
            return Err(ChannelError::SecondProposal {
                version,
                awaiting: awaiting.state.version,
            });
        }
        let mut fx = Effects::default();
        if let Some(pending) = &self.pending {
            if pending.state.version == version {
                if self.my_index() == race_winner(version) {
                    // We win the race: keep ours, tell the proposer to drop its proposal.
                    fx.send(from, self.reject(version, RejectReason::Concurrent));
                    return Ok(fx.finish());
                }
                // We lose: drop ours and treat the peer's like any proposal.
                self.pending = None;
                self.superseded = Some(version);
                fx.persist(PersistRecord::Pending(None));
                fx.event(ChannelEvent::UpdateSuperseded { version });
            }
        }
        match self.check_incoming(from, &message, verifier) {
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
                self.take_early_accepts(verifier);
            }
            Err(error) => {
                let reject = self.reject(version, RejectReason::Invalid(error.to_string()));
                fx.send_to_each(self.others(), reject);
                fx.event(ChannelEvent::UpdateRefused { version, error });
            }
        }
        Ok(fx.finish())
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
            && Some(version) == self.latest.version.checked_add(1)
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

    /// Participant `from` rejected an update in flight: our pending one is dropped and the
    /// channel stays at its newest state; (three or more participants) another's that we hold
    /// is dropped too, as it can no longer be fully signed. The expected `Concurrent` reject of
    /// an update that already lost a race is absorbed without effects.
    pub fn on_update_reject(
        &mut self,
        from: usize,
        message: UpdateReject,
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        match &self.pending {
            Some(p) if p.state.version == message.version => {
                self.pending = None;
                self.pending_accepts.clear();
                let mut fx = Effects::default();
                fx.persist(PersistRecord::Pending(None));
                fx.event(ChannelEvent::UpdateRejected {
                    version: message.version,
                    reason: message.reason,
                });
                Ok(fx.finish())
            }
            _ if self.superseded == Some(message.version) => {
                self.superseded = None;
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
