//! The boundary between the API server and the node: the [`NodeApi`] trait that
//! [`NodeService`](super::service::NodeService) implements over the driver, and the
//! [`EventBus`] the node's events reach subscribers on as [`NodeEvent`]s.

use super::error::ApiError;
use super::payments::{
    InvoiceCreateRequest, InvoiceInfo, InvoicePayRequest, PayRequest, PaymentInfo,
    PaymentListRequest,
};
use super::types::{
    BalanceRequest, ChannelAnswerRequest, ChannelInfo, ChannelListRequest, ChannelMoveRequest,
    ChannelOpenRequest, ChannelPayRequest, ChannelPendingRequest, ChannelSettleRequest,
    MisbehaveRegisterRequest, NodeEvent, NodeInfo, OnChainBalance, PeerAddRequest, PeerInfo,
    PendingUpdateInfo, ProposalInfo, ProposalRejectRequest,
};
use crate::protocol::ProposalId;
use crate::store::PaymentId;
use parley_plugin_api::model::ChannelId;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::broadcast;

/// A boxed future an API method returns.
pub type ApiFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// What the API can ask of the node. Implemented over the driver by
/// [`NodeService`](super::service::NodeService), and by an in-memory node in tests.
///
/// Contract for implementers:
/// - Requests arrive already checked for form (ids parse, amounts are non-zero where required,
///   texts are non-empty); the node checks everything that depends on its state.
/// - A method that fails changes nothing the user can observe (no partial payment, no peer
///   half-added), and returns the [`ApiError`] whose category says why: `not_found` for an
///   unknown channel, peer or proposal; `insufficient_funds` for an overdraft; `conflict` for an
///   update already pending or a channel in the wrong phase; `unavailable` when the chain or the
///   peer cannot be reached; `rejected_by_peer` when the peer said no.
/// - A method that changes a channel returns after the change is durable (and, for payments,
///   signed by both parties), so a caller that sees `Ok` can rely on it after a crash.
/// - Methods may be called concurrently from many connections.
pub trait NodeApi: Send + Sync + 'static {
    /// `node_info`: this node's identity, version, chain and listen address.
    fn node_info(&self) -> ApiFuture<'_, NodeInfo>;
    /// `GET /metrics` (with the token): the node's metrics in Prometheus's text format. A
    /// node without metrics answers an empty page.
    fn metrics(&self) -> ApiFuture<'_, String> {
        Box::pin(async { Ok(String::new()) })
    }
    /// `peer_add`: remember a peer (and connect to it when needed). Re-adding the same alias
    /// with the same node id updates the address; an alias taken by another node id is a
    /// `conflict`.
    fn peer_add(&self, request: PeerAddRequest) -> ApiFuture<'_, PeerInfo>;
    /// `peer_list`: the known peers.
    fn peer_list(&self) -> ApiFuture<'_, Vec<PeerInfo>>;
    /// `channel_open`: propose a channel; returns once the peer accepted and the channel is
    /// funded, or with `rejected_by_peer`.
    fn channel_open(&self, request: ChannelOpenRequest) -> ApiFuture<'_, ChannelInfo>;
    /// `proposal_list`: incoming proposals awaiting an answer.
    fn proposal_list(&self) -> ApiFuture<'_, Vec<ProposalInfo>>;
    /// `proposal_accept`: accept an incoming proposal; returns the new channel.
    fn proposal_accept(&self, id: ProposalId) -> ApiFuture<'_, ChannelInfo>;
    /// `proposal_reject`: reject an incoming proposal, telling the proposer the reason.
    fn proposal_reject(&self, request: ProposalRejectRequest) -> ApiFuture<'_, ()>;
    /// `channel_list`: every open channel this node is in (including those it cannot use,
    /// with the reason in their status), or with `closed` the closed ones.
    fn channel_list(&self, request: ChannelListRequest) -> ApiFuture<'_, Vec<ChannelInfo>>;
    /// `channel_get`: one channel, open or closed.
    fn channel_get(&self, id: ChannelId) -> ApiFuture<'_, ChannelInfo>;
    /// `channel_pay`: pay the peer; returns the channel after the update is fully signed.
    fn channel_pay(&self, request: ChannelPayRequest) -> ApiFuture<'_, ChannelInfo>;
    /// `channel_move`: make a move in an app channel; returns the channel after the update is
    /// fully signed, or the app's or the peer's refusal.
    fn channel_move(&self, request: ChannelMoveRequest) -> ApiFuture<'_, ChannelInfo>;
    /// `channel_pending`: the peer's updates awaiting this node's answer (those `[policy]`
    /// leaves to the user), in one channel (`not_found` if it is not open) or in all.
    fn channel_pending(
        &self,
        request: ChannelPendingRequest,
    ) -> ApiFuture<'_, Vec<PendingUpdateInfo>>;
    /// `channel_answer`: accept or reject the peer's update awaiting an answer; returns the
    /// channel after it (an accepted update signed and durable). `not_found` if none awaits,
    /// `conflict` if the version named is not the one that awaits or was already answered.
    fn channel_answer(&self, request: ChannelAnswerRequest) -> ApiFuture<'_, ChannelInfo>;
    /// `channel_settle`: agree a final state with the peer and conclude on chain, or with
    /// `force` (or when the peer does not answer) settle unilaterally through a dispute;
    /// returns the channel once the chain has paid out.
    fn channel_settle(&self, request: ChannelSettleRequest) -> ApiFuture<'_, ChannelInfo>;
    /// `misbehave_register`: test nodes only (`[testing] allow_misbehaviour = true`, else a
    /// `conflict`): register an old state on chain, as a cheating peer would.
    fn misbehave_register(&self, request: MisbehaveRegisterRequest) -> ApiFuture<'_, ChannelInfo>;
    /// `balance`: on-chain balances of the node's account.
    fn balance(&self, request: BalanceRequest) -> ApiFuture<'_, Vec<OnChainBalance>>;
    /// `payment_list`: the payment history, newest first (a node without one lists none).
    fn payment_list(&self, request: PaymentListRequest) -> ApiFuture<'_, Vec<PaymentInfo>> {
        let _ = request;
        Box::pin(async { Ok(Vec::new()) })
    }
    /// `payment_get`: one payment, also one whose `channel_pay` call timed out; `not_found`
    /// for an id the node has no record of.
    fn payment_get(&self, id: PaymentId) -> ApiFuture<'_, PaymentInfo> {
        Box::pin(async move { Err(ApiError::not_found("payment", id)) })
    }
    /// `invoice_create`: issue an invoice signed by this node's key; returns it with its text
    /// for the payer.
    fn invoice_create(&self, request: InvoiceCreateRequest) -> ApiFuture<'_, InvoiceInfo> {
        let _ = request;
        Box::pin(async { Err(ApiError::internal("this node issues no invoices")) })
    }
    /// `invoice_pay`: check an invoice (signature, expiry, asset) and pay it through a channel
    /// with its payee that holds enough; returns the payment once the payee signed it.
    fn invoice_pay(&self, request: InvoicePayRequest) -> ApiFuture<'_, PaymentInfo> {
        let _ = request;
        Box::pin(async { Err(ApiError::internal("this node pays no invoices")) })
    }
    /// `pay`: pay a node through an active channel with it that holds enough, or else through
    /// a virtual channel opened for it through one of our ledger channels with a hub; returns
    /// the payment once the payee signed it.
    fn pay(&self, request: PayRequest) -> ApiFuture<'_, PaymentInfo> {
        let _ = request;
        Box::pin(async { Err(ApiError::internal("this node pays no nodes")) })
    }
    /// `invoice_list`: the invoices this node issued, newest first, with their status.
    fn invoice_list(&self) -> ApiFuture<'_, Vec<InvoiceInfo>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// How many events a slow subscriber may fall behind before it misses some (it is then told
/// how many it missed, and should re-read the state with `channel_list`).
pub const EVENT_BACKLOG: usize = 1024;

/// Where [`NodeEvent`]s are published for WebSocket subscribers (the node's through
/// [`ApiEvents`](super::service::events::ApiEvents)). Cheap to clone; every
/// clone publishes to the same subscribers.
#[derive(Clone, Debug)]
pub struct EventBus {
    sender: broadcast::Sender<NodeEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub fn new() -> EventBus {
        EventBus {
            sender: broadcast::channel(EVENT_BACKLOG).0,
        }
    }

    /// Delivers `event` to every current subscriber. Never blocks; with no subscriber the
    /// event is dropped, which is fine: events are notifications, the state is in the store.
    pub fn publish(&self, event: NodeEvent) {
        // An error only means nobody is listening.
        let _ = self.sender.send(event);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.sender.subscribe()
    }

    /// How many subscribers are listening now.
    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}
