//! The state machine of one ledger channel of two or more participants (DESIGN §4).
//!
//! A [`Channel`] owns one channel's state: its parameters, our index, its [`Phase`], the newest
//! state with its signatures (one slot per participant), at most one pending update of ours and
//! at most one update of another participant awaiting our answer (or, with three or more,
//! awaiting the signatures of the others after ours). Inputs are method calls (a message from the peer, a decision of the
//! user or policy, a chain observation such as "funded"); outputs are `Vec<Effect>` the driver
//! executes in order (see [`crate::protocol::effect`]). Nothing here does I/O or reads a clock.
//!
//! Every message is addressed to a participant index and taken with its sender's index; the
//! driver maps indices to nodes. Two-party channels are the case the proposal messages open
//! today (see [`PARTICIPANTS`](super::proposal::PARTICIPANTS)); with more participants an update is sent to every other one,
//! each accept goes to every other participant too (go-perun's model: every signature ends up
//! with everyone), and an update completes only once every slot is signed.
//!
//! Invariants kept by every method:
//! - the newest state is fully signed from `Funding` on, and every newer state passed
//!   [`check_transition`](crate::protocol::check_transition) and every signature check;
//! - a `Send` revealing our signature on a state follows the `Persist` of that state
//!   (write-ahead);
//! - an error return leaves the channel unchanged and asks for no effect.
//!
//! The methods are split by concern: opening and the life cycle here, updates in `update.rs`,
//! re-synchronisation in `sync.rs`, disputes in `dispute.rs`, proven peer faults in `fault.rs`.

mod app;
mod children;
mod dispute;
mod error;
mod fault;
mod sync;
mod update;

#[cfg(test)]
pub(crate) mod tests;

pub use error::{ChannelError, IncomingUpdateError, OpenError, SyncError};
pub use fault::FaultResponse;
pub use update::race_winner;

use super::app_rules::{AppLookup, AppRules, NoApps};
use super::effect::{ChannelEvent, Effect};
use super::funding::Funding;
use super::messages::{
    ChannelMessage, ChannelProposal, FullySignedState, OpeningSig, ProposalAccept,
};
use super::phase::Phase;
pub use super::proposal::PARTICIPANTS;
use super::proposal::{build_params, opening_state};
use super::record::{
    ChannelRecord, ChannelSnapshot, PendingUpdate, PersistRecord, RestoreError, SignedRecord,
};
use super::signer::{ChannelIdFn, StateSigner, StateVerifier};
use parley_plugin_api::model::{ChannelId, Params, Participant, Sig, SignedState, State};
use std::collections::BTreeMap;

/// The fewest participants a channel can have.
pub const MIN_PARTICIPANTS: usize = 2;

/// How far above the newest fully signed version an update may go. Versions above the next
/// one are spent by proposals that failed (see `update.rs`, "One version, one state"), a
/// handful at most between two updates that complete; the bound keeps a peer from spending
/// the channel's versions with one proposal.
pub const MAX_VERSION_GAP: u64 = 1 << 20;

/// Another participant's update: valid and awaiting our answer, or (with three or more
/// participants) accepted by us and waiting for the remaining signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Incoming {
    state: State,
    /// Who proposed it.
    proposer: usize,
    /// One slot per participant: the proposer's from its proposal, ours once we accept, the
    /// others' from their accepts.
    sigs: Vec<Option<Sig>>,
    /// Whether we signed it: our signature is then persisted (in the pending slot) and sent.
    accepted: bool,
}

/// One channel's protocol state. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    record: ChannelRecord,
    phase: Phase,
    /// The newest state; fully signed from `Funding` on.
    latest: State,
    /// One slot per participant; only the others' may be empty, and only while `Opening`.
    sigs: Vec<Option<Sig>>,
    /// Our update, signed and persisted, that not every other participant has accepted.
    pending: Option<PendingUpdate>,
    /// The other participants' verified signatures on `pending` so far (three or more
    /// participants; in a two-party channel the one accept completes the update at once). Not
    /// persisted: re-synchronisation recovers them.
    pending_accepts: BTreeMap<usize, Sig>,
    /// Another participant's valid update. Persisted (in the pending slot) only once accepted
    /// with others still to sign; until then nothing of ours is signed on it, and
    /// re-synchronisation discards it.
    incoming: Option<Incoming>,
    /// Accepts that overtook the proposal they answer (three or more participants: they come
    /// over different connections), by sender; checked once the proposal arrives.
    early_accepts: BTreeMap<usize, (u64, Sig)>,
    /// The highest version of a race we lost: the winner proposes its update again above it,
    /// and until that proposal arrives we propose nothing (see `update.rs`).
    lost_race: Option<u64>,
    /// The highest version at which some participant signed a state that did not become the
    /// newest (a proposal rejected, lost in a race or dropped by re-synchronisation): no state
    /// of ours goes at or below it, and we sign none of the others' at or below it. See
    /// `update.rs`, "One version, one state".
    spent: u64,
    /// The version a restart spent that the records hold ([`PersistRecord::Spent`]): the
    /// snapshot's when restored, raised once the node recorded this restart's
    /// ([`Channel::restart_spent_recorded`]).
    recorded_spent: u64,
    /// Our signed update above the newest state that will not complete (rejected, lost in a
    /// race, dropped): the pending slot keeps it, so a restart knows its version is spent.
    withdrawn: Option<PendingUpdate>,
    /// Between `sync_request` and the peer's answer: updates are blocked.
    syncing: bool,
    /// Where the channel's funds come from; fixed, persisted once (ledger funding: never).
    funding: Funding,
    /// The rules of the channel's app, if it has one and this node has them (not persisted:
    /// the driver attaches them by the app's address).
    app: AppRules,
    /// The fully signed states of sub-channels this channel is about to lock (their opening
    /// state) or to merge back (their final state), by id: what a lock or merge update is
    /// checked against. Given by the driver ([`Channel::know_child`]) from this node's own
    /// channel tasks; not persisted (the children give them again after a restart).
    children: BTreeMap<ChannelId, SignedState>,
    /// How virtual children are locked here, where the path says more than their opening
    /// state (given with [`Channel::know_virtual_child`]): the index map in a channel between
    /// two intermediaries, and the fee that goes with the lock. Kept while the opening state is.
    virtual_terms: BTreeMap<ChannelId, VirtualTerms>,
}

/// How a virtual child is locked in this channel, beyond its opening state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualTerms {
    /// Its index map here, in a channel between two of its intermediaries (both participants
    /// stand in for someone); `None`: derived ([`crate::protocol::tree::virtual_index_map`]).
    pub map: Option<Vec<u16>>,
    /// The fee (of the first asset) the proposer's stand-in pays the accepter's with the lock
    /// ([`crate::protocol::tree::with_lock_fee`]).
    pub fee: parley_plugin_api::model::Amount,
}

impl Channel {
    /// Opens the channel of an accepted proposal, on either side: the proposer calls this when
    /// the accept arrives, the accepter after sending its accept. Signs version 0 and returns
    /// the effects that persist the channel and then send our [`OpeningSig`].
    ///
    /// `me` is our chain address in the proposal. The channel id comes from `ids` (the chain
    /// backend), never from the peer.
    pub fn open(
        proposal: &ChannelProposal,
        accept: &ProposalAccept,
        me: &Participant,
        ids: &(impl ChannelIdFn + ?Sized),
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<(Channel, Vec<Effect>), OpenError> {
        Self::open_with_apps(proposal, accept, me, ids, signer, &NoApps)
    }

    /// [`Channel::open`] with the apps this node has: an app channel opens only if `apps` has
    /// its app and the app takes the opening state (`valid_init`).
    pub fn open_with_apps(
        proposal: &ChannelProposal,
        accept: &ProposalAccept,
        me: &Participant,
        ids: &(impl ChannelIdFn + ?Sized),
        signer: &(impl StateSigner + ?Sized),
        apps: &dyn AppLookup,
    ) -> Result<(Channel, Vec<Effect>), OpenError> {
        let params = build_params(proposal, accept, apps)?;
        let my_index = params
            .participants
            .iter()
            .position(|p| p == me)
            .ok_or_else(|| OpenError::NotAParticipant(me.clone()))?;
        let channel_id = ids.derive_channel_id(&params)?;
        let state = opening_state(proposal, channel_id);
        let app = AppRules::new(params.app.as_ref().and_then(|address| apps.rules(address)));
        if let (Some(address), Some(rules)) = (&params.app, app.app()) {
            rules
                .valid_init(&params, &state)
                .map_err(|error| OpenError::AppInit {
                    app: address.clone(),
                    reason: error.message().to_string(),
                })?;
        }
        let sig = signer.sign(me, &state)?;
        let participants = params.participants.len();
        let mut sigs = vec![None; participants];
        sigs[my_index] = Some(sig.clone());
        let channel = Channel {
            record: ChannelRecord {
                params,
                channel_id,
                // A participant index fits u16: a proposal names PARTICIPANTS of them.
                my_index: my_index as u16,
            },
            phase: Phase::Opening,
            latest: state,
            sigs,
            pending: None,
            pending_accepts: BTreeMap::new(),
            incoming: None,
            early_accepts: BTreeMap::new(),
            lost_race: None,
            spent: 0,
            recorded_spent: 0,
            withdrawn: None,
            syncing: false,
            funding: match proposal.parent {
                None => Funding::Ledger,
                Some(parent) if proposal.virtual_channel => Funding::Virtual {
                    parents: vec![parent],
                },
                Some(parent) => Funding::SubChannel { parent },
            },
            app,
            children: BTreeMap::new(),
            virtual_terms: BTreeMap::new(),
        };
        let mut fx = Effects::default();
        fx.persist(PersistRecord::Opened(channel.record.clone()));
        if channel.funding != Funding::Ledger {
            fx.persist(PersistRecord::Funding(channel.funding.clone()));
        }
        fx.persist(PersistRecord::Latest(channel.signed_record()));
        fx.persist(PersistRecord::Phase(Phase::Opening));
        fx.send_to_each(
            channel.others(),
            ChannelMessage::OpeningSig(OpeningSig { channel_id, sig }),
        );
        Ok((channel, fx.finish()))
    }

    /// Whether `message` must wait until this side sees the channel funded: the peer saw the
    /// funding first and already proposes an update, which this side can take only once
    /// `Active`. The driver holds it (the peer sends one update at a time, so one slot is
    /// enough) and feeds it after [`Channel::funded`].
    pub fn holds_until_funded(&self, message: &ChannelMessage) -> bool {
        self.phase == Phase::Funding && matches!(message, ChannelMessage::UpdateProposal(_))
    }

    /// Rebuilds a channel of two or more participants from its durable snapshot after a
    /// restart. The driver then calls [`Channel::sync_request`] once the others are connected.
    /// A pending update that the newest state already covers (or that could not follow it) is
    /// dropped. A pending update comes back as ours, also one we accepted (three or more
    /// participants) and persisted, and one that was withdrawn before the restart (the slot
    /// does not tell): either way it is a state we signed and must not contradict, and its
    /// version is spent.
    ///
    /// One version above every state the records hold, and above the version an earlier
    /// restart spent ([`PersistRecord::Spent`]), is spent as well: a driver may send a
    /// proposal before its record is durable, one at a time (see
    /// [`Channel::highest_signed_version`]), so a crash may have forgotten a proposal of that
    /// version that the peer holds. The driver records it
    /// ([`Channel::unrecorded_restart_spent`]) so that the next proposal may leave before its
    /// record too.
    pub fn restore(snapshot: ChannelSnapshot) -> Result<Channel, RestoreError> {
        let ChannelSnapshot {
            channel: record,
            phase,
            latest,
            pending,
            funding,
            spent: recorded_spent,
        } = snapshot;
        let participants = record.params.participants.len();
        let my_index = usize::from(record.my_index);
        if participants < MIN_PARTICIPANTS {
            return Err(RestoreError::UnsupportedParticipants {
                found: participants,
            });
        }
        if my_index >= participants {
            return Err(RestoreError::IndexOutOfRange {
                index: record.my_index,
                participants,
            });
        }
        if latest.state.channel_id != record.channel_id {
            return Err(RestoreError::StateOfOtherChannel {
                expected: record.channel_id,
                found: latest.state.channel_id,
            });
        }
        if latest.sigs.len() != participants {
            return Err(RestoreError::SignatureSlots {
                found: latest.sigs.len(),
                expected: participants,
            });
        }
        if latest.sigs[my_index].is_none() {
            return Err(RestoreError::MissingOwnSignature);
        }
        if phase != Phase::Opening {
            if let Some(index) = latest.sigs.iter().position(Option::is_none) {
                return Err(RestoreError::MissingSignature { index, phase });
            }
        }
        if latest.state.is_final && phase < Phase::Closing {
            return Err(RestoreError::FinalInPhase(phase));
        }
        // A crash between persisting a newly fully signed state and clearing the pending slot
        // leaves a pending update the newest state already covers; and only an active channel
        // (or one disputed while its update was in flight) can have an update in flight.
        let spent = latest
            .state
            .version
            .max(pending.as_ref().map_or(0, |p| p.state.version))
            .max(recorded_spent)
            .saturating_add(1);
        let pending = pending.filter(|p| {
            matches!(phase, Phase::Active | Phase::Disputed)
                && p.state.channel_id == record.channel_id
                && p.state.version > latest.state.version
                && p.state.version - latest.state.version <= MAX_VERSION_GAP
        });
        Ok(Channel {
            record,
            phase,
            latest: latest.state,
            sigs: latest.sigs,
            pending,
            pending_accepts: BTreeMap::new(),
            incoming: None,
            early_accepts: BTreeMap::new(),
            lost_race: None,
            // A restored pending update is treated as in flight: re-synchronisation settles
            // it. Versions spent by the peer's proposals are not persisted; the peer knows
            // them (`Concurrent`).
            spent,
            recorded_spent,
            withdrawn: None,
            syncing: false,
            funding,
            app: AppRules::default(),
            children: BTreeMap::new(),
            virtual_terms: BTreeMap::new(),
        })
    }

    /// [`Channel::restore`] from persisted records (see [`ChannelSnapshot::from_records`]).
    pub fn restore_from_records<'a>(
        records: impl IntoIterator<Item = &'a PersistRecord>,
    ) -> Result<Channel, RestoreError> {
        Channel::restore(ChannelSnapshot::from_records(records)?)
    }

    /// Everything durable about the channel; equal to what its persisted records rebuild.
    pub fn snapshot(&self) -> ChannelSnapshot {
        ChannelSnapshot {
            channel: self.record.clone(),
            phase: self.phase,
            latest: self.signed_record(),
            pending: self.signed_in_flight().or_else(|| self.withdrawn.clone()),
            funding: self.funding.clone(),
            spent: self.recorded_spent,
        }
    }

    /// Where the channel's funds come from.
    pub fn funding(&self) -> &Funding {
        &self.funding
    }

    /// The update in flight that carries our signature, as persisted: ours, or (three or more
    /// participants) another's that we accepted while others have yet to sign it.
    fn signed_in_flight(&self) -> Option<PendingUpdate> {
        self.pending.clone().or_else(|| {
            let incoming = self.incoming.as_ref().filter(|i| i.accepted)?;
            Some(PendingUpdate {
                state: incoming.state.clone(),
                sig: incoming.sigs[self.my_index()].clone()?,
            })
        })
    }

    /// The channel id.
    pub fn id(&self) -> ChannelId {
        self.record.channel_id
    }

    /// The channel's parameters.
    pub fn params(&self) -> &Params {
        &self.record.params
    }

    /// Our index among the participants.
    pub fn my_index(&self) -> usize {
        usize::from(self.record.my_index)
    }

    /// The number of participants.
    pub fn participants(&self) -> usize {
        self.record.params.participants.len()
    }

    /// Every participant's index but ours, in order: where a message for everyone goes.
    pub fn others(&self) -> impl Iterator<Item = usize> {
        let me = self.my_index();
        (0..self.participants()).filter(move |&i| i != me)
    }

    /// The other party's index in a two-party channel (what a payment "to the peer" pays, and
    /// where a proposal's accept goes). With more participants there is no one other party:
    /// address each one by its index instead.
    pub fn peer_index(&self) -> usize {
        debug_assert_eq!(
            self.participants(),
            2,
            "a two-party view of an n-party channel"
        );
        1 - self.my_index()
    }

    /// Our chain address.
    pub fn me(&self) -> &Participant {
        &self.record.params.participants[self.my_index()]
    }

    /// The chain address of participant `index`.
    fn participant(&self, index: usize) -> &Participant {
        &self.record.params.participants[index]
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The newest state (fully signed unless the channel is `Opening`).
    pub fn latest(&self) -> &State {
        &self.latest
    }

    /// The newest fully signed state, or `None` while opening.
    pub fn fully_signed(&self) -> Option<FullySignedState> {
        let sigs = self.sigs.iter().cloned().collect::<Option<Vec<Sig>>>()?;
        Some(FullySignedState {
            state: self.latest.clone(),
            sigs,
        })
    }

    /// The newest fully signed state with the parameters: what `register` and
    /// `conclude_final` need. `None` while opening.
    pub fn signed_state(&self) -> Option<SignedState> {
        self.fully_signed().map(|f| SignedState {
            params: self.record.params.clone(),
            state: f.state,
            sigs: f.sigs,
        })
    }

    /// Our unanswered update, if any.
    pub fn pending(&self) -> Option<&PendingUpdate> {
        self.pending.as_ref()
    }

    /// Another participant's update awaiting our answer, if any.
    pub fn awaiting_decision(&self) -> Option<&State> {
        self.incoming
            .as_ref()
            .filter(|incoming| !incoming.accepted)
            .map(|incoming| &incoming.state)
    }

    /// Whether we lost a race and the winner's update, proposed again, has yet to arrive: we
    /// propose nothing until it does (`update.rs`, "Races").
    pub fn awaits_race_winner(&self) -> bool {
        self.lost_race.is_some()
    }

    /// Whether re-synchronisation with the peer is under way.
    pub fn is_syncing(&self) -> bool {
        self.syncing
    }

    /// Handles a message from participant `from` (the driver maps the sending node to its
    /// participant index) by dispatching to the matching `on_*` method. Only another
    /// participant may send; ourselves or an index that is no participant is
    /// `UnexpectedSender` and changes nothing. `keys` verifies, and signs for the one answer
    /// that needs our signature at once (a race's winner proposing again).
    pub fn on_message(
        &mut self,
        from: usize,
        message: ChannelMessage,
        keys: &(impl StateSigner + StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        if from == self.my_index() || from >= self.participants() {
            return Err(ChannelError::UnexpectedSender { from });
        }
        match message {
            ChannelMessage::OpeningSig(m) => self.on_opening_sig(from, m, keys),
            ChannelMessage::UpdateProposal(m) => self.on_update_proposal(from, m, keys),
            ChannelMessage::UpdateAccept(m) => self.on_update_accept(from, m, keys),
            ChannelMessage::UpdateReject(m) => self.on_update_reject(from, m),
            ChannelMessage::SyncRequest(m) => self.on_sync_request(from, m),
            ChannelMessage::SyncReply(m) => self.on_sync_reply(from, m, keys),
            other @ (ChannelMessage::Proposal(_)
            | ChannelMessage::ProposalAccept(_)
            | ChannelMessage::ProposalReject(_)
            | ChannelMessage::VirtualProposal(_)
            | ChannelMessage::VirtualChild(_)) => {
                Err(ChannelError::NotAChannelMessage(other.kind()))
            }
        }
    }

    /// Participant `from`'s signature on version 0. The last one missing completes the
    /// opening: version 0 becomes fully signed and the channel moves to `Funding` (the driver
    /// then funds our share). After the
    /// opening, an `OpeningSig` answering our `SyncRequest` (the peer is still opening) ends the
    /// re-synchronisation, or, if its signature does not verify, proves the peer faulty (see
    /// `fault.rs`); any other repeated `OpeningSig` is ignored.
    pub fn on_opening_sig(
        &mut self,
        from: usize,
        message: OpeningSig,
        verifier: &(impl StateVerifier + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        self.check_channel(message.channel_id)?;
        if self.phase != Phase::Opening {
            // We already hold version 0 fully signed. If we are re-synchronising, this is the
            // answer of a peer still opening: it has nothing newer, so the sync is done. Past
            // version 0 it is a lie: we hold the peer's signature on a newer version, which it
            // could only give once its channel was open.
            if self.syncing && self.latest.version > 0 {
                let version = self.latest.version;
                return Ok(self.peer_fault(SyncError::OpeningAfterSigning { version }));
            }
            if self.syncing && self.latest.version == 0 {
                if !verifier.verify(&self.latest, &message.sig, self.participant(from))? {
                    let participant = from;
                    return Ok(self.peer_fault(SyncError::BadSignature { participant }));
                }
                self.syncing = false;
                let mut fx = Effects::default();
                self.discard_half_done(&mut fx);
                fx.event(ChannelEvent::Synced { version: 0 });
                return Ok(fx.finish());
            }
            return Ok(Vec::new());
        }
        self.check_sig_of(from, verifier, &self.latest, &message.sig)?;
        self.sigs[from] = Some(message.sig);
        let mut fx = Effects::default();
        fx.persist(PersistRecord::Latest(self.signed_record()));
        if self.sigs.iter().any(Option::is_none) {
            // Others have yet to sign version 0.
            return Ok(fx.finish());
        }
        fx.event(ChannelEvent::StateChanged {
            state: self.latest.clone(),
        });
        self.set_phase(Phase::Funding, &mut fx);
        if std::mem::take(&mut self.syncing) {
            fx.event(ChannelEvent::Synced { version: 0 });
        }
        Ok(fx.finish())
    }

    /// The chain reports the channel fully funded: `Funding` → `Active`.
    pub fn funded(&mut self) -> Result<Vec<Effect>, ChannelError> {
        self.require_phase("mark as funded", Phase::Funding)?;
        let mut fx = Effects::default();
        self.set_phase(Phase::Active, &mut fx);
        Ok(fx.finish())
    }

    /// The channel concluded on chain (cooperatively or after a dispute): any phase →
    /// `Closed`. Our unanswered update and the peer's are dropped; nothing more is signed.
    pub fn concluded(&mut self) -> Result<Vec<Effect>, ChannelError> {
        if self.phase == Phase::Closed {
            return Err(ChannelError::WrongPhase {
                action: "conclude",
                phase: self.phase,
            });
        }
        let mut fx = Effects::default();
        self.discard_half_done(&mut fx);
        self.set_phase(Phase::Closed, &mut fx);
        Ok(fx.finish())
    }

    /// Gives up an opening that did not complete: `Opening` → `Closed`. Nothing is fully
    /// signed yet and nothing of ours is deposited (deposits start in `Funding`), so there is
    /// nothing to settle. A peer that got our signature is in `Funding` and recovers its own
    /// deposit when its funding times out. Refused in any other phase.
    pub fn abandon(&mut self) -> Result<Vec<Effect>, ChannelError> {
        self.require_phase("abandon", Phase::Opening)?;
        let mut fx = Effects::default();
        self.set_phase(Phase::Closed, &mut fx);
        Ok(fx.finish())
    }

    fn signed_record(&self) -> SignedRecord {
        SignedRecord {
            state: self.latest.clone(),
            sigs: self.sigs.clone(),
        }
    }

    fn check_channel(&self, found: ChannelId) -> Result<(), ChannelError> {
        if found == self.record.channel_id {
            Ok(())
        } else {
            Err(ChannelError::WrongChannel {
                expected: self.record.channel_id,
                found,
            })
        }
    }

    fn require_phase(&self, action: &'static str, phase: Phase) -> Result<(), ChannelError> {
        if self.phase == phase {
            Ok(())
        } else {
            Err(ChannelError::WrongPhase {
                action,
                phase: self.phase,
            })
        }
    }

    /// Checks that `sig` is participant `index`'s signature on `state`.
    fn check_sig_of(
        &self,
        index: usize,
        verifier: &(impl StateVerifier + ?Sized),
        state: &State,
        sig: &Sig,
    ) -> Result<(), ChannelError> {
        if verifier.verify(state, sig, self.participant(index))? {
            Ok(())
        } else {
            Err(ChannelError::BadSignature {
                participant: index,
                version: state.version,
            })
        }
    }

    /// Moves to `to`, persisting it and announcing it.
    fn set_phase(&mut self, to: Phase, fx: &mut Effects) {
        let from = std::mem::replace(&mut self.phase, to);
        if from != to {
            fx.persist(PersistRecord::Phase(to));
            fx.event(ChannelEvent::PhaseChanged { from, to });
        }
    }

    /// Drops our unanswered update and the others' unanswered one (re-synchronisation, or the
    /// channel concluded): neither can complete any more.
    fn discard_half_done(&mut self, fx: &mut Effects) {
        if let Some(version) = self.withdraw_pending() {
            fx.event(ChannelEvent::UpdateDiscarded { version });
        }
        self.drop_incoming(fx);
    }

    /// Drops another participant's update, awaiting our answer or accepted by us (whose
    /// persisted signature then stays as withdrawn). Its version is spent either way.
    fn drop_incoming(&mut self, fx: &mut Effects) {
        if let Some(incoming) = self.incoming.take() {
            let version = incoming.state.version;
            self.spend(version);
            if incoming.accepted {
                let me = self.my_index();
                if let Some(sig) = incoming.sigs.into_iter().nth(me).flatten() {
                    self.withdrawn = Some(PendingUpdate {
                        state: incoming.state,
                        sig,
                    });
                }
            }
            fx.event(ChannelEvent::UpdateDiscarded { version });
        }
    }

    /// Withdraws our pending update, which will not complete: its version is spent, and the
    /// pending slot keeps it (nothing to persist). Its version, if there was one.
    fn withdraw_pending(&mut self) -> Option<u64> {
        let pending = self.pending.take()?;
        self.pending_accepts.clear();
        let version = pending.state.version;
        self.spend(version);
        self.withdrawn = Some(pending);
        Some(version)
    }

    /// Records that a state of `version` was signed by someone and will not become the
    /// newest. A version beyond [`MAX_VERSION_GAP`] above the newest state is ignored: no
    /// proposal of ours or that we sign goes there, and a peer's must not spend the channel.
    fn spend(&mut self, version: u64) {
        if version.saturating_sub(self.latest.version) <= MAX_VERSION_GAP {
            self.spent = self.spent.max(version);
        }
    }

    /// The highest version the records hold a state we signed of, or a restart's spent
    /// version of: the newest state's, that of the update in the pending slot (in flight or
    /// withdrawn), or the one [`PersistRecord::Spent`] names. A driver may send our next
    /// proposal before its record is durable only if the proposal is this + 1 (and every
    /// earlier record is durable): a restart then spends that version by itself
    /// ([`Channel::restore`]). A proposal higher than that (a version spent in memory alone,
    /// say by the peer's proposal we declined, or by a restart not yet recorded) must be
    /// durable before it leaves.
    pub fn highest_signed_version(&self) -> u64 {
        // The slot's version, read without copying its state (this runs for every update).
        let accepted = self.incoming.as_ref().filter(|i| i.accepted);
        let slot = self
            .pending
            .as_ref()
            .map(|p| p.state.version)
            .or(accepted.map(|i| i.state.version))
            .or(self.withdrawn.as_ref().map(|w| w.state.version))
            .unwrap_or(0);
        self.latest.version.max(slot).max(self.recorded_spent)
    }

    /// The version this channel's restore spent ([`Channel::restore`]), if the records do
    /// not hold it yet: what the driver records as [`PersistRecord::Spent`] for every
    /// restored channel as the node starts, before any proposal.
    pub fn unrecorded_restart_spent(&self) -> Option<u64> {
        (self.spent > self.recorded_spent && self.spent > self.latest.version).then_some(self.spent)
    }

    /// The records now hold `version` as spent ([`Channel::unrecorded_restart_spent`]
    /// committed): the next proposal above it may leave before its record.
    pub fn restart_spent_recorded(&mut self, version: u64) {
        self.recorded_spent = self.recorded_spent.max(version);
    }

    /// The highest version used: the newest state's, or a spent one above it.
    fn floor(&self) -> u64 {
        self.latest.version.max(self.spent)
    }

    /// The version our next update takes: above every version used.
    fn next_version(&self) -> Result<u64, ChannelError> {
        let spent = self.floor();
        spent
            .checked_add(1)
            .filter(|next| next - self.latest.version <= MAX_VERSION_GAP)
            .ok_or(ChannelError::VersionsSpent {
                latest: self.latest.version,
                spent,
            })
    }

    /// What `next` is checked against: the newest state, renumbered to `next`'s predecessor
    /// when `next` skips spent versions (at most [`MAX_VERSION_GAP`] above it). Every rule of
    /// a transition then holds as if no version had been skipped; Perun's adjudicator only
    /// asks a registered state to be newer, not next.
    fn predecessor_of(&self, next: &State) -> std::borrow::Cow<'_, State> {
        let gap = next.version.saturating_sub(self.latest.version);
        if gap > 1 && gap <= MAX_VERSION_GAP {
            let mut base = self.latest.clone();
            base.version = next.version - 1;
            std::borrow::Cow::Owned(base)
        } else {
            std::borrow::Cow::Borrowed(&self.latest)
        }
    }

    /// Makes `state` (which passed every check) the newest fully signed state, with every
    /// participant's signature; a final state moves the channel to `Closing`.
    fn adopt(&mut self, state: State, sigs: Vec<Sig>, fx: &mut Effects) {
        self.latest = state;
        self.sigs = sigs.into_iter().map(Some).collect();
        self.early_accepts.clear();
        // A child's opening state is needed until its lock is in, its final state until its
        // lock is gone.
        let locked = &self.latest.allocation.locked;
        self.children.retain(|id, child| {
            let is_locked = locked.iter().any(|s| s.id == *id);
            if child.state.is_final {
                is_locked
            } else {
                !is_locked
            }
        });
        let children = &self.children;
        self.virtual_terms
            .retain(|id, _| children.get(id).is_some_and(|c| !c.state.is_final));
        fx.persist(PersistRecord::Latest(self.signed_record()));
        if self
            .withdrawn
            .as_ref()
            .is_some_and(|w| w.state.version <= self.latest.version)
        {
            // The newest state covers the withdrawn update's version: the slot may go.
            self.withdrawn = None;
            fx.persist(PersistRecord::Pending(None));
        }
        fx.event(ChannelEvent::StateChanged {
            state: self.latest.clone(),
        });
        if self.phase == Phase::Opening {
            self.set_phase(Phase::Funding, fx);
        }
        if self.latest.is_final && matches!(self.phase, Phase::Funding | Phase::Active) {
            self.set_phase(Phase::Closing, fx);
        }
    }
}

/// The effects of one input, gathered by kind and released as every persist, then every send,
/// then every event. This makes the write-ahead rule hold by construction: no send can overtake
/// the persist of the state whose signature it reveals.
#[derive(Default)]
struct Effects {
    persists: Vec<Effect>,
    sends: Vec<Effect>,
    events: Vec<Effect>,
}

impl Effects {
    fn persist(&mut self, record: PersistRecord) {
        self.persists.push(Effect::Persist(record));
    }

    fn send(&mut self, to: usize, message: ChannelMessage) {
        // A participant index fits u16: proposals are checked to have a handful of them.
        self.sends.push(Effect::Send {
            to: to as u16,
            message,
        });
    }

    /// Sends `message` to each participant of `to`: a copy to all but the last, which gets
    /// the message itself (a two-party channel's one peer costs no copy).
    fn send_to_each(&mut self, to: impl Iterator<Item = usize>, message: ChannelMessage) {
        let mut to = to.peekable();
        while let Some(index) = to.next() {
            if to.peek().is_none() {
                self.send(index, message);
                return;
            }
            self.send(index, message.clone());
        }
    }

    fn event(&mut self, event: ChannelEvent) {
        self.events.push(Effect::Event(event));
    }

    fn finish(mut self) -> Vec<Effect> {
        self.persists.append(&mut self.sends);
        self.persists.append(&mut self.events);
        self.persists
    }
}
