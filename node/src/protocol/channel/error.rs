//! The errors of the channel state machine.

use crate::protocol::phase::Phase;
use crate::protocol::proposal::ProposalError;
use crate::protocol::signer::BackendError;
use crate::protocol::transition::{PaymentError, TransitionError};
use parley_plugin_api::model::{Address, ChannelId, Participant};
use thiserror::Error;

/// Why a channel could not be opened from an accepted proposal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpenError {
    /// The proposal or the accept breaks a rule.
    #[error(transparent)]
    Proposal(#[from] ProposalError),
    /// Our address is not among the proposal's participants.
    #[error("{0} is not a participant of the proposal")]
    NotAParticipant(Participant),
    /// The backend could not compute the channel id or sign version 0.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The channel's app refuses the opening state.
    #[error("the app {app} refuses the opening state: {reason}")]
    AppInit {
        /// The app's address.
        app: Address,
        /// Its reason.
        reason: String,
    },
}

/// Why we refused the peer's update proposal. Carried by [`ChannelEvent::UpdateRefused`]; its
/// text goes to the peer in the `UpdateReject`.
///
/// [`ChannelEvent::UpdateRefused`]: crate::protocol::ChannelEvent::UpdateRefused
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IncomingUpdateError {
    /// The channel does not take updates in this phase (still opening or funding, or closed).
    #[error("the channel takes no updates while {phase}")]
    NotActive {
        /// The channel's phase.
        phase: Phase,
    },
    /// The channel's newest state is final: no update may follow it.
    #[error("the channel's state {version} is final; no update may follow it")]
    ChannelFinal {
        /// The final version.
        version: u64,
    },
    /// The proposed state breaks an invariant.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The proposer's signature does not verify.
    #[error("the proposer's signature does not verify")]
    BadSignature,
    /// Our backend could not check the signature.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why a [`SyncReply`](crate::protocol::SyncReply) was not adopted. The channel keeps its
/// state. A proven peer fault ([`SyncError::is_peer_fault`]) ends the re-synchronisation in a
/// dispute; anything else leaves it under way (updates stay blocked) until the next one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyncError {
    /// The peer's state belongs to another channel.
    #[error("the peer's state is for channel {found}, not {expected}")]
    StateOfOtherChannel {
        /// The channel's id.
        expected: ChannelId,
        /// The state's id.
        found: ChannelId,
    },
    /// The peer's state does not carry one signature per participant.
    #[error("the peer's state has {found} signatures for {expected} participants")]
    SignatureCount {
        /// Signatures found.
        found: usize,
        /// Participants.
        expected: usize,
    },
    /// A signature on the peer's state does not verify.
    #[error("participant {participant}'s signature on the peer's state does not verify")]
    BadSignature {
        /// The participant whose signature failed.
        participant: usize,
    },
    /// Two different fully signed states of the same version exist: someone signed twice.
    #[error("the peer holds a different fully signed state of version {version}")]
    Fork {
        /// The version.
        version: u64,
    },
    /// The peer answered as if its channel were still opening, though we hold its signature
    /// on a newer version (which it could only give once the channel was open).
    #[error(
        "the peer answered as if its channel were still opening, though it signed version \
         {version}"
    )]
    OpeningAfterSigning {
        /// Our newest version, which the peer signed.
        version: u64,
    },
    /// The peer's newer state could not follow ours (funds changed, assets changed, ...).
    #[error("the peer's newer state cannot follow ours: {0}")]
    Transition(TransitionError),
    /// Our backend could not check a signature.
    #[error(transparent)]
    Backend(BackendError),
}

/// Why the channel refused a call or an incoming message. The channel is unchanged and no
/// effect is due: the driver logs the error (and for a message from the peer, may treat the
/// peer as faulty).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChannelError {
    /// A message for another channel was routed here.
    #[error("the message is for channel {found}, this is channel {expected}")]
    WrongChannel {
        /// This channel's id.
        expected: ChannelId,
        /// The message's id.
        found: ChannelId,
    },
    /// A proposal message was handed to a channel; proposals precede channels.
    #[error("a {0} message is not for an open channel")]
    NotAChannelMessage(&'static str),
    /// A message came from a participant who takes no part in this step (ourselves, or
    /// someone who is not a participant): the driver routed it wrongly.
    #[error("a message from participant {from}, who is not another participant of this channel")]
    UnexpectedSender {
        /// The sender's participant index, as the driver gave it.
        from: usize,
    },
    /// The call needs another phase.
    #[error("cannot {action} while the channel is {phase}")]
    WrongPhase {
        /// What was attempted.
        action: &'static str,
        /// The channel's phase.
        phase: Phase,
    },
    /// Re-synchronisation with the peer has not finished; updates wait for it.
    #[error("the channel is re-synchronising with its peer")]
    Syncing,
    /// Our previous update is still unanswered; one update at a time.
    #[error("our update to version {version} is still unanswered")]
    UpdatePending {
        /// Its version.
        version: u64,
    },
    /// The peer's update awaits our answer; answer it first.
    #[error("the peer's update to version {version} awaits an answer")]
    DecisionPending {
        /// Its version.
        version: u64,
    },
    /// Our update lost a concurrent race; the winner's update, proposed again above the
    /// race's version, comes first.
    #[error("the peer's update that won the race for version {version} comes first")]
    RaceWinnerFirst {
        /// The version both sides proposed.
        version: u64,
    },
    /// Every version the channel may still use within reach is spent (see
    /// [`MAX_VERSION_GAP`](super::MAX_VERSION_GAP)): far more proposals failed in a row than
    /// any peer that means to agree makes.
    #[error(
        "the channel spent {spent} versions above its newest state {latest} on proposals that          failed; settle it"
    )]
    VersionsSpent {
        /// The newest fully signed version.
        latest: u64,
        /// The highest version spent.
        spent: u64,
    },
    /// No update of the peer awaits an answer.
    #[error("no update of the peer awaits an answer")]
    NoUpdateAwaiting,
    /// Our proposed state breaks an invariant.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The payment cannot be made.
    #[error(transparent)]
    Payment(#[from] PaymentError),
    /// A payment was asked of an app channel, whose funds move only by its app's moves.
    #[error(
        "channel {channel} runs an app, whose funds move only by the app's moves; make a move \
         (`parley channel move`) instead of a payment"
    )]
    PaymentInAppChannel {
        /// The channel.
        channel: ChannelId,
    },
    /// A move was asked of a channel without an app.
    #[error("channel {channel} is a payment channel; it has no app to make a move in")]
    NotAnAppChannel {
        /// The channel.
        channel: ChannelId,
    },
    /// The channel runs an app this node does not have (any more): no move can be checked.
    #[error(
        "channel {channel} runs app {app}, which this node does not have ([[apps]] in \
         node.toml); it can only be settled as it stands"
    )]
    AppUnavailable {
        /// The channel.
        channel: ChannelId,
        /// The app's address.
        app: parley_plugin_api::model::Address,
    },
    /// A sub-channel cannot be locked in this channel or merged back (see `children.rs`).
    #[error("sub-channel {child}: {reason}")]
    Child {
        /// The sub-channel.
        child: ChannelId,
        /// Why.
        reason: String,
    },
    /// The channel still locks funds in sub-channels: its final state could not be concluded
    /// on chain (`concludeFinal` refuses locked funds), so those close first.
    #[error(
        "the channel still locks funds in {count} sub-channel(s); settle them first (their \
         outcome merges back into this channel)"
    )]
    ChildrenOpen {
        /// How many.
        count: usize,
    },
    /// The app refused the move (not the actor's turn, a taken cell, malformed JSON).
    #[error("the app refuses the move: {reason}")]
    MoveRefused {
        /// The app's reason.
        reason: String,
    },
    /// The backend could not sign or verify.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The peer's signature does not verify.
    #[error("participant {participant}'s signature on version {version} does not verify")]
    BadSignature {
        /// The participant.
        participant: usize,
        /// The version signed.
        version: u64,
    },
    /// The peer proposed again before we answered its previous proposal.
    #[error("the peer proposed version {version} before we answered version {awaiting}")]
    SecondProposal {
        /// The new proposal's version.
        version: u64,
        /// The version awaiting our answer.
        awaiting: u64,
    },
    /// An accept for an update we have not proposed (or a replay of an old one).
    #[error("an accept for version {version}, which we have not proposed")]
    UnexpectedAccept {
        /// The accept's version.
        version: u64,
    },
    /// A reject for an update we have not proposed (or a replay of an old one).
    #[error("a reject of version {version}, which we have not proposed")]
    UnexpectedReject {
        /// The reject's version.
        version: u64,
    },
    /// A sync reply arrived although we asked for none.
    #[error("a sync reply arrived although we did not ask for one")]
    UnexpectedSyncReply,
    /// The peer's sync reply cannot be adopted.
    #[error(transparent)]
    Sync(#[from] SyncError),
}
