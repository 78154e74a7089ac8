//! What the channel state machine asks its driver to do.
//!
//! **Driver contract.** Execute a returned `Vec<Effect>` strictly in order:
//! - [`Effect::Persist`]: make the record durable before executing any later effect of the list.
//!   Consecutive `Persist` effects may be committed together in one atomic batch (and batches of
//!   several channels may share one group commit), but never after a later `Send`.
//! - [`Effect::Send`]: hand the message to the addressed participant's connection.
//! - [`Effect::Event`]: publish to the API's subscribers and the log.
//!
//! This order is what makes the protocol write-ahead (DESIGN §4): a `Send` that reveals our
//! signature on a state always comes after the `Persist` of that state.

use super::channel::{FaultResponse, IncomingUpdateError, SyncError};
use super::messages::{ChannelMessage, RejectReason};
use super::phase::Phase;
use super::record::PersistRecord;
use parley_plugin_api::model::State;

/// One step for the driver. See the module documentation for the order contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Make this record durable before continuing.
    Persist(PersistRecord),
    /// Send `message` to participant `to` of the channel (an index into its parameters'
    /// participants; never our own). The driver knows which node each participant is.
    Send {
        /// The addressee's participant index.
        to: u16,
        /// The message.
        message: ChannelMessage,
    },
    /// Tell the API and the log.
    Event(ChannelEvent),
}

/// Something the API's subscribers may want to know about a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEvent {
    /// The channel moved to another phase.
    PhaseChanged {
        /// The phase before.
        from: Phase,
        /// The phase now.
        to: Phase,
    },
    /// A new state is fully signed and is now the channel's newest state.
    StateChanged {
        /// The state.
        state: State,
    },
    /// The peer proposed this valid update; answer with `Channel::accept_update` or
    /// `Channel::reject_update` (the policy or the user decides; an expiry is the driver's).
    UpdateRequested {
        /// The proposed state.
        state: State,
    },
    /// The peer accepted our update of this version (a `StateChanged` accompanies it).
    UpdateAccepted {
        /// The version.
        version: u64,
    },
    /// The peer rejected our update of this version; the channel stays at its newest state.
    UpdateRejected {
        /// The version.
        version: u64,
        /// The peer's reason.
        reason: RejectReason,
    },
    /// Our update of this version lost a concurrent race against the peer's
    /// ([`race_winner`](crate::protocol::channel::race_winner)) and was dropped; build it
    /// again on the new state to retry (the channel takes it once the winner's update is in).
    UpdateSuperseded {
        /// The version dropped.
        version: u64,
    },
    /// Our update won a concurrent race and was proposed again, unchanged but for its version:
    /// the loser signed its own proposal of `from`, so neither side may sign another state of
    /// that version. The update in flight is now `to`.
    UpdateRenumbered {
        /// The version it had.
        from: u64,
        /// The version it has now.
        to: u64,
    },
    /// We refused the peer's update of this version because it breaks a rule; an
    /// `UpdateReject` carrying the reason went to the peer.
    UpdateRefused {
        /// The version the peer proposed.
        version: u64,
        /// The rule it broke.
        error: IncomingUpdateError,
    },
    /// A half-done update (ours, never accepted, or the peer's, never answered) was dropped
    /// during re-synchronisation; the driver may retry ours.
    UpdateDiscarded {
        /// The version dropped.
        version: u64,
    },
    /// Re-synchronisation finished on our side: we hold the newer of both sides' newest
    /// states (the peer reaches the same once it handles our answer) and no half-done update.
    Synced {
        /// The newest fully signed version.
        version: u64,
    },
    /// The peer proved itself faulty (re-synchronisation ended without adopting anything);
    /// `response` says how the funds are protected. Comes before the `PhaseChanged` to
    /// `Disputed` it may cause, so the driver can record why the dispute starts.
    PeerFault {
        /// What the peer sent.
        fault: SyncError,
        /// What the channel does about it.
        response: FaultResponse,
    },
}
