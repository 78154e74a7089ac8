//! What the driver tells whoever follows the node: domain events, published through an
//! [`EventSink`] the node is handed. The API layer is one such follower; it turns each event
//! into what its subscribers read.

use super::overview::ChannelOverview;
use super::proposals::WaitingProposal;
use crate::protocol::Phase;
use crate::store::PaymentRecord;
use parley_plugin_api::model::ChannelId;
use std::sync::Arc;

/// Something that happened in the node that a follower may want to hear about at once. Events
/// are notifications: what they say is also in the channels' and proposals' state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A peer proposed a channel that waits for the user's answer (the policy did not accept
    /// it on its own). Boxed: proposals are large, the other events small.
    ProposalReceived(Box<WaitingProposal>),
    /// The peer proposed an update to a channel.
    UpdateReceived {
        /// The channel.
        channel: ChannelId,
        /// The proposed version.
        version: u64,
    },
    /// The peer's update waits for the user's answer (`[policy]` asks for its kind): accept
    /// or reject it before `expires_at` (Unix seconds), or it is declined.
    UpdateAwaitsAnswer {
        /// The channel.
        channel: ChannelId,
        /// The proposed version.
        version: u64,
        /// When it is declined unanswered, in Unix seconds.
        expires_at: u64,
    },
    /// An update is fully signed and durable: `version` is the channel's state now.
    UpdateAccepted {
        /// The channel.
        channel: ChannelId,
        /// The new version.
        version: u64,
    },
    /// A payment completed, sent or received: signed by both and durable, with its record
    /// (amount, direction, balances after, version, time). Boxed: records are large.
    Payment(Box<PaymentRecord>),
    /// The final state of a cooperative settle is signed by both and durable: the channel
    /// takes no more payments and is concluded on chain next. Not a payment.
    ChannelSettling {
        /// The channel.
        channel: ChannelId,
        /// The final state's version.
        version: u64,
    },
    /// A channel's durable state changed (a new version or a new phase): the channel as its
    /// task holds it now. Boxed: overviews are large.
    ChannelChanged(Box<ChannelOverview>),
    /// A channel moved to another phase (durably).
    PhaseChanged {
        /// The channel.
        channel: ChannelId,
        /// The phase it left.
        from: Phase,
        /// The phase it entered.
        to: Phase,
    },
    /// The peer proved itself faulty on a channel; the node protects the funds on chain.
    PeerFault {
        /// The channel.
        channel: ChannelId,
        /// What the peer sent and what the node does about it.
        reason: String,
    },
}

/// Where the driver publishes its [`Event`]s.
///
/// Contract for implementers: `publish` is called on channel tasks and on the peer-event
/// dispatcher, in the order things happened on each; it must not block and must not fail (a
/// follower that cannot keep up drops events, it never slows the channels down).
pub trait EventSink: Send + Sync + 'static {
    /// Hands `event` to the followers.
    fn publish(&self, event: Event);

    /// Whether anybody follows now: an event that is costly to build (a channel's whole view)
    /// is built only then.
    fn is_followed(&self) -> bool {
        true
    }
}

/// A shareable sink, as the driver's tasks take it.
pub type SharedSink = Arc<dyn EventSink>;
