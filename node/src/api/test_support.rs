//! An in-memory [`NodeApi`] for the server tests and the API fuzz targets: it records each call
//! and answers from a fixed set of channels.

use super::error::ApiError;
use super::node_api::{ApiFuture, NodeApi};
use super::types::{
    AssetBalances, BalanceRequest, ChannelAnswerRequest, ChannelInfo, ChannelListRequest,
    ChannelMoveRequest, ChannelOpenRequest, ChannelPayRequest, ChannelPendingRequest,
    ChannelSettleRequest, MisbehaveRegisterRequest, NodeInfo, OnChainBalance, PeerAddRequest,
    PeerInfo, PendingUpdateInfo, ProposalInfo, ProposalRejectRequest,
};
use crate::protocol::{Phase, ProposalId};
use crate::wire::{NodeId, NodeKey};
use parley_plugin_api::model::{Amount, ChainInfo, ChannelId};
use std::sync::Mutex;

/// A node with one channel, [`FakeNode::CHANNEL`], holding 100 of ours and 50 of the peer's.
#[derive(Default)]
pub struct FakeNode {
    calls: Mutex<Vec<String>>,
}

impl FakeNode {
    /// The one channel this node knows.
    pub const CHANNEL: ChannelId = ChannelId([0x11; 32]);

    /// The methods called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, method: &str) {
        self.calls.lock().unwrap().push(method.to_owned());
    }

    fn peer() -> NodeId {
        NodeKey::from_secret_bytes(&[9; 32]).unwrap().node_id()
    }

    fn channel(mine: u64) -> ChannelInfo {
        ChannelInfo {
            id: FakeNode::CHANNEL,
            peer: Some(FakeNode::peer()),
            peer_alias: Some("bob".into()),
            phase: Some(Phase::Active),
            version: 1,
            challenge_seconds: 600,
            balances: vec![AssetBalances {
                asset: "ETH".into(),
                mine: Amount::from(mine),
                theirs: Amount::from(150 - mine),
                by_participant: Vec::new(),
            }],
            participants: Vec::new(),
            status: None,
            dispute: None,
            app: None,
            funding: None,
            sub_channels: Vec::new(),
        }
    }

    fn find(&self, id: ChannelId) -> Result<ChannelInfo, ApiError> {
        if id == FakeNode::CHANNEL {
            Ok(FakeNode::channel(100))
        } else {
            Err(ApiError::not_found("channel", id))
        }
    }
}

fn ready<'a, T: Send + 'a>(result: Result<T, ApiError>) -> ApiFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

impl NodeApi for FakeNode {
    fn node_info(&self) -> ApiFuture<'_, NodeInfo> {
        self.record("node_info");
        ready(Ok(NodeInfo {
            node_id: NodeKey::from_secret_bytes(&[8; 32]).unwrap().node_id(),
            version: "0.1.0".into(),
            chain: ChainInfo {
                chain_id: 1337,
                backend: "sim-chain".into(),
                assets: vec![],
            },
            listen_address: "127.0.0.1:4000".into(),
            node_address: "fake@127.0.0.1:4000".into(),
            account: None,
            channels: 0,
            peers: 0,
            api_address: None,
            apps: Vec::new(),
        }))
    }

    fn peer_add(&self, request: PeerAddRequest) -> ApiFuture<'_, PeerInfo> {
        self.record("peer_add");
        ready(Ok(PeerInfo {
            alias: Some(request.alias),
            node_id: request.node_id,
            transport_address: request.transport_address,
            connected: false,
            direction: None,
            connect_error: None,
        }))
    }

    fn peer_list(&self) -> ApiFuture<'_, Vec<PeerInfo>> {
        self.record("peer_list");
        ready(Ok(vec![]))
    }

    fn channel_open(&self, _: ChannelOpenRequest) -> ApiFuture<'_, ChannelInfo> {
        self.record("channel_open");
        ready(Ok(FakeNode::channel(100)))
    }

    fn proposal_list(&self) -> ApiFuture<'_, Vec<ProposalInfo>> {
        self.record("proposal_list");
        ready(Ok(vec![]))
    }

    fn proposal_accept(&self, id: ProposalId) -> ApiFuture<'_, ChannelInfo> {
        self.record("proposal_accept");
        ready(Err(ApiError::not_found("proposal", id)))
    }

    fn proposal_reject(&self, request: ProposalRejectRequest) -> ApiFuture<'_, ()> {
        self.record("proposal_reject");
        ready(Err(ApiError::not_found("proposal", request.id)))
    }

    fn channel_list(&self, _: ChannelListRequest) -> ApiFuture<'_, Vec<ChannelInfo>> {
        self.record("channel_list");
        ready(Ok(vec![FakeNode::channel(100)]))
    }

    fn channel_get(&self, id: ChannelId) -> ApiFuture<'_, ChannelInfo> {
        self.record("channel_get");
        ready(self.find(id))
    }

    fn channel_pending(
        &self,
        request: ChannelPendingRequest,
    ) -> ApiFuture<'_, Vec<PendingUpdateInfo>> {
        self.record("channel_pending");
        ready(match request.id {
            Some(id) => self.find(id).map(|_| Vec::new()),
            None => Ok(Vec::new()),
        })
    }

    fn channel_answer(&self, request: ChannelAnswerRequest) -> ApiFuture<'_, ChannelInfo> {
        self.record("channel_answer");
        ready(self.find(request.id).and_then(|_| {
            Err(ApiError::not_found(
                "pending update",
                format!("of channel {}", request.id),
            ))
        }))
    }

    fn channel_move(&self, _request: ChannelMoveRequest) -> ApiFuture<'_, ChannelInfo> {
        self.record("channel_move");
        Box::pin(std::future::ready(Err(ApiError::invalid_param(
            "id",
            "the fake node's channel is a payment channel",
        ))))
    }

    fn channel_pay(&self, request: ChannelPayRequest) -> ApiFuture<'_, ChannelInfo> {
        self.record("channel_pay");
        ready(self.find(request.id).and_then(|_| {
            let amount = request
                .amount
                .to_u128()
                .filter(|a| *a <= 100)
                .ok_or_else(|| {
                    ApiError::new(
                        super::error::ErrorCategory::InsufficientFunds,
                        "the payment is larger than this node's balance of 100",
                    )
                })?;
            Ok(FakeNode::channel(100 - amount as u64))
        }))
    }

    fn channel_settle(&self, request: ChannelSettleRequest) -> ApiFuture<'_, ChannelInfo> {
        self.record("channel_settle");
        ready(self.find(request.id))
    }

    fn misbehave_register(&self, request: MisbehaveRegisterRequest) -> ApiFuture<'_, ChannelInfo> {
        self.record("misbehave_register");
        ready(self.find(request.id))
    }

    fn balance(&self, _: BalanceRequest) -> ApiFuture<'_, Vec<OnChainBalance>> {
        self.record("balance");
        ready(Ok(vec![OnChainBalance {
            asset: "ETH".into(),
            amount: Amount::from(1_000u64),
        }]))
    }
}
