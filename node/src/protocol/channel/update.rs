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

use super::{Channel, ChannelError, Effects, IncomingUpdateError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{
    ChannelMessage, RejectReason, UpdateAccept, UpdateProposal, UpdateReject,
};
use crate::protocol::phase::Phase;
use crate::protocol::record::{PendingUpdate, PersistRecord};
use crate::protocol::signer::{StateSigner, StateVerifier};
use crate::protocol::transition::{check_transition, final_state, payment};
use parley_plugin_api::model::{Amount, State};

/// The participant whose proposal wins when both propose `version` at once: alternating, so
/// the loser of one race wins the next (its retry).
pub fn race_winner(version: u64) -> usize {
    usize::from(version % 2 == 0)
}

impl Channel {
    /// Proposes `state` as the next state: checks it against every invariant, signs it,
    /// persists it as our pending update, then sends it. Only while `Active`, not syncing, and
    /// with no other update in flight.
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
        if let Some((incoming, _)) = &self.incoming {
            return Err(ChannelError::DecisionPending {
                version: incoming.version,
            });
        }
        check_transition(&self.record.params, &self.latest, &state)?;
        let sig = signer.sign(self.me(), &state)?;
        let pending = PendingUpdate {
            state: state.clone(),
            sig: sig.clone(),
        };
        self.pending = Some(pending.clone());
        let mut fx = Effects::default();
        fx.persist(PersistRecord::Pending(Some(pending)));
        fx.send(
            self.peer_index(),
            ChannelMessage::UpdateProposal(UpdateProposal {
                channel_id: self.record.channel_id,
                state,
                sig,
            }),
        );
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
        let next = payment(&self.latest, asset, self.my_index(), to, amount)?;
        self.propose_update(next, signer)
    }

    /// Proposes the final state (the newest allocation, `is_final` set). Once it is accepted
    /// the channel moves to `Closing` and takes no more updates.
    pub fn propose_final(
        &mut self,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        let next = final_state(&self.latest)?;
        self.propose_update(next, signer)
    }

    /// The peer proposes a new state. A concurrent proposal is resolved by [`race_winner`]
    /// (module documentation). Otherwise the proposal is checked against every invariant and
    /// the proposer's signature: if it breaks a rule, the effects send an `UpdateReject` with
    /// the reason and announce `UpdateRefused`; if it is valid, `UpdateRequested` asks the
    /// driver's policy or user to answer with [`Channel::accept_update`] or
    /// [`Channel::reject_update`].
    ///
    /// `Err` only for messages that cannot be answered: another channel's, or a second proposal
    /// while the first awaits our answer (a protocol violation).
    pub fn on_update_proposal(
        &mut self,
        message: UpdateProposal,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        let version = message.state.version;
        if let Some((awaiting, _)) = &self.incoming {
            return Err(ChannelError::SecondProposal {
                version,
                awaiting: awaiting.version,
            });
        }
        let mut fx = Effects::default();
        if let Some(pending) = &self.pending {
            if pending.state.version == version {
                if self.my_index() == race_winner(version) {
                    // We win the race: keep ours, tell the peer to drop its proposal.
                    fx.send(
                        self.peer_index(),
                        self.reject(version, RejectReason::Concurrent),
                    );
                    return Ok(fx.finish());
                }
                // We lose: drop ours and treat the peer's like any proposal.
                self.pending = None;
                self.superseded = Some(version);
                fx.persist(PersistRecord::Pending(None));
                fx.event(ChannelEvent::UpdateSuperseded { version });
            }
        }
        match self.check_incoming(&message, verifier) {
            Ok(()) => {
                fx.event(ChannelEvent::UpdateRequested {
                    state: message.state.clone(),
                });
                self.incoming = Some((message.state, message.sig));
            }
            Err(error) => {
                fx.send(
                    self.peer_index(),
                    self.reject(version, RejectReason::Invalid(error.to_string())),
                );
                fx.event(ChannelEvent::UpdateRefused { version, error });
            }
        }
        Ok(fx.finish())
    }

    /// Every rule an incoming proposal must keep, in the order they are checked.
    fn check_incoming(
        &self,
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
        check_transition(&self.record.params, &self.latest, &message.state)?;
        if verifier.verify(&message.state, &message.sig, self.peer())? {
            Ok(())
        } else {
            Err(IncomingUpdateError::BadSignature)
        }
    }

    /// Accepts the peer's update awaiting our answer: signs it, persists it as the newest fully
    /// signed state, then sends our `UpdateAccept`. A final state moves the channel to
    /// `Closing`. If signing fails the update still awaits an answer.
    pub fn accept_update(
        &mut self,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        let (state, _) = self
            .incoming
            .as_ref()
            .ok_or(ChannelError::NoUpdateAwaiting)?;
        let sig = signer.sign(self.me(), state)?;
        let (state, peer_sig) = self.incoming.take().expect("checked above");
        let version = state.version;
        let mut fx = Effects::default();
        let sigs = self.both_sigs(sig.clone(), peer_sig);
        self.adopt(state, sigs, &mut fx);
        fx.send(
            self.peer_index(),
            ChannelMessage::UpdateAccept(UpdateAccept {
                channel_id: self.record.channel_id,
                version,
                sig,
            }),
        );
        Ok(fx.finish())
    }

    /// Declines the peer's update awaiting our answer (the policy or the user said no, or the
    /// answer expired): sends `UpdateReject` with `reason`. The channel's state is unchanged.
    pub fn reject_update(
        &mut self,
        reason: impl Into<String>,
    ) -> Result<Vec<Effect>, ChannelError> {
        let (state, _) = self.incoming.take().ok_or(ChannelError::NoUpdateAwaiting)?;
        let mut fx = Effects::default();
        fx.send(
            self.peer_index(),
            self.reject(state.version, RejectReason::Declined(reason.into())),
        );
        Ok(fx.finish())
    }

    /// The peer accepted our pending update: with its signature verified, the update becomes
    /// the newest fully signed state and is persisted.
    pub fn on_update_accept(
        &mut self,
        message: UpdateAccept,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        let pending = match &self.pending {
            Some(p) if p.state.version == message.version => p,
            _ => {
                return Err(ChannelError::UnexpectedAccept {
                    version: message.version,
                })
            }
        };
        self.check_peer_sig(verifier, &pending.state, &message.sig)?;
        let pending = self.pending.take().expect("matched above");
        let mut fx = Effects::default();
        let sigs = self.both_sigs(pending.sig, message.sig);
        self.adopt(pending.state, sigs, &mut fx);
        fx.persist(PersistRecord::Pending(None));
        fx.event(ChannelEvent::UpdateAccepted {
            version: message.version,
        });
        Ok(fx.finish())
    }

    /// The peer rejected our pending update: it is dropped and the channel stays at its newest
    /// state. The expected `Concurrent` reject of an update that already lost a race is
    /// absorbed without effects.
    pub fn on_update_reject(&mut self, message: UpdateReject) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        match &self.pending {
            Some(p) if p.state.version == message.version => {
                self.pending = None;
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
            _ => Err(ChannelError::UnexpectedReject {
                version: message.version,
            }),
        }
    }

    /// An `UpdateReject` of `version` for the peer.
    fn reject(&self, version: u64, reason: RejectReason) -> ChannelMessage {
        ChannelMessage::UpdateReject(UpdateReject {
            channel_id: self.record.channel_id,
            version,
            reason,
        })
    }
}
