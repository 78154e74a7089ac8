//! The API served by the driver: the layer between [`crate::client`], which speaks domain
//! types, errors and events, and the JSON-RPC server, which speaks the API's.
//!
//! - [`NodeService`]: the [`NodeApi`] over the driver's operations.
//! - [`errors`]: the driver's errors as API errors, with their categories.
//! - [`events`]: the driver's events as the API's [`NodeEvent`](super::NodeEvent)s.
//! - [`views`]: the driver's channels, proposals and peers as the API shows them.

pub mod errors;
pub mod events;
pub mod views;

use super::payments::{
    InvoiceCreateRequest, InvoiceInfo, InvoicePayRequest, PayRequest, PaymentInfo,
    PaymentListRequest, DEFAULT_EXPIRY_SECONDS, DEFAULT_LIST, MAX_LIST,
};
use super::types::{
    AppInfo, BalanceRequest, ChannelAnswerRequest, ChannelInfo, ChannelListRequest,
    ChannelMoveRequest, ChannelOpenRequest, ChannelPayRequest, ChannelPendingRequest,
    ChannelSettleRequest, MisbehaveRegisterRequest, NodeInfo, OnChainBalance, PeerAddRequest,
    PeerInfo, PendingUpdateInfo, ProposalInfo, ProposalRejectRequest,
};
use super::{ApiError, ApiFuture, NodeApi};
use crate::client::answers::Verdict;
use crate::client::book::NamedPeer;
use crate::client::driver::Driver;
use crate::client::error::Error;
use crate::client::opening::OpenRequest;
use crate::client::overview::ChannelOverview;
use crate::client::pay_node::PayNodeRequest;
use crate::client::payment::PayOptions;
use crate::protocol::ProposalId;
use crate::store::PaymentId;
use parley_plugin_api::model::ChannelId;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use views::{
    channel_info, invoice_info, payment_info, peer_info, pending_update_info, proposal_info,
};

/// The API of a running node, served by its driver.
pub struct NodeService {
    driver: Arc<Driver>,
    /// Where the API server listens: known only once it started, which is after the service
    /// it serves was made.
    api_address: Arc<OnceLock<String>>,
}

impl NodeService {
    /// Serves the API over `driver`.
    pub fn new(driver: Arc<Driver>) -> NodeService {
        NodeService {
            driver,
            api_address: Arc::default(),
        }
    }

    /// Where `node_info` will say the API listens, once it is set.
    pub fn api_address_cell(&self) -> Arc<OnceLock<String>> {
        self.api_address.clone()
    }

    /// Runs `work` on its own task, so that a client hanging up does not abandon a channel
    /// half-way (an accepted proposal still gets funded; a settle still withdraws).
    fn detached<T, F>(&self, work: impl FnOnce(Arc<Driver>) -> F) -> ApiFuture<'_, T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let task = tokio::spawn(work(self.driver.clone()));
        Box::pin(async move {
            task.await
                .map_err(|e| ApiError::internal(format!("the request's task failed: {e}")))?
                .map_err(ApiError::from)
        })
    }

    /// [`NodeService::detached`] for an operation that ends with a channel.
    fn detached_channel<F>(
        &self,
        work: impl FnOnce(Arc<Driver>) -> F + Send + 'static,
    ) -> ApiFuture<'_, ChannelInfo>
    where
        F: Future<Output = Result<ChannelOverview, Error>> + Send + 'static,
    {
        self.detached(move |driver| async move {
            let overview = work(driver.clone()).await?;
            Ok(channel_info(driver.chain_info(), overview))
        })
    }
}

impl NodeApi for NodeService {
    fn metrics(&self) -> ApiFuture<'_, String> {
        let text = self.driver.metrics_text();
        Box::pin(async move { Ok(text) })
    }

    fn node_info(&self) -> ApiFuture<'_, NodeInfo> {
        let driver = &self.driver;
        Box::pin(async move {
            Ok(NodeInfo {
                node_id: driver.node_id,
                version: env!("CARGO_PKG_VERSION").to_string(),
                chain: driver.chain_info().clone(),
                listen_address: driver.listen_address.clone(),
                node_address: format!("{}@{}", driver.node_id, driver.listen_address),
                account: driver.chain.account.clone(),
                channels: driver.registry.all().len(),
                peers: driver.connected_peers(),
                api_address: self.api_address.get().cloned(),
                apps: driver
                    .apps
                    .all()
                    .iter()
                    .map(|app| AppInfo {
                        name: app.name.clone(),
                        address: app.address.clone(),
                    })
                    .collect(),
            })
        })
    }

    fn peer_add(&self, request: PeerAddRequest) -> ApiFuture<'_, PeerInfo> {
        let known = || self.driver.book.contact(&request.node_id).1;
        let Some(transport_address) = request.transport_address.clone().or_else(known) else {
            return Box::pin(std::future::ready(Err(ApiError::invalid_param(
                "transport_address",
                "the node does not know where this peer listens (it never connected in); \
                 give `<node id>@<host:port>`, the `address` the peer's `parley info` prints",
            ))));
        };
        let peer = NamedPeer {
            alias: request.alias,
            node_id: request.node_id,
            transport_address,
        };
        let added = self.detached(move |driver| async move { driver.add_peer(peer).await });
        Box::pin(async move { Ok(peer_info(added.await?)) })
    }

    fn peer_list(&self) -> ApiFuture<'_, Vec<PeerInfo>> {
        let peers = self.driver.peer_list().into_iter().map(peer_info).collect();
        Box::pin(std::future::ready(Ok(peers)))
    }

    fn channel_open(&self, request: ChannelOpenRequest) -> ApiFuture<'_, ChannelInfo> {
        let request = OpenRequest {
            peer: request.peer,
            asset: request.asset,
            mine: request.mine,
            theirs: request.theirs,
            more_assets: request
                .more_assets
                .into_iter()
                .map(|extra| (extra.asset, extra.mine, extra.theirs))
                .collect(),
            challenge_seconds: request.challenge_seconds,
            app: request
                .app
                .map(|name| (name, request.app_setup.map(|setup| setup.to_string()))),
            parent: request.parent,
            via: request.via,
            through: request.through,
            fees: request.fees,
        };
        self.detached_channel(move |driver| async move { driver.open(request).await })
    }

    fn proposal_list(&self) -> ApiFuture<'_, Vec<ProposalInfo>> {
        let chain = self.driver.chain_info();
        let proposals = self
            .driver
            .waiting_proposals()
            .iter()
            .map(|waiting| proposal_info(chain, waiting))
            .collect();
        Box::pin(std::future::ready(Ok(proposals)))
    }

    fn proposal_accept(&self, id: ProposalId) -> ApiFuture<'_, ChannelInfo> {
        self.detached_channel(move |driver| async move { driver.accept(id).await })
    }

    fn proposal_reject(&self, request: ProposalRejectRequest) -> ApiFuture<'_, ()> {
        let driver = &self.driver;
        Box::pin(async move { Ok(driver.reject(request.id, request.reason).await?) })
    }

    fn channel_list(&self, request: ChannelListRequest) -> ApiFuture<'_, Vec<ChannelInfo>> {
        let driver = &self.driver;
        Box::pin(async move {
            let chain = driver.chain_info();
            Ok(driver
                .channels(request.closed)
                .await?
                .into_iter()
                .map(|overview| channel_info(chain, overview))
                .collect())
        })
    }

    fn channel_get(&self, id: ChannelId) -> ApiFuture<'_, ChannelInfo> {
        let driver = &self.driver;
        Box::pin(async move { Ok(channel_info(driver.chain_info(), driver.channel(id).await?)) })
    }

    fn channel_pay(&self, request: ChannelPayRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached_channel(move |driver| async move {
            let options = PayOptions {
                asset: request.asset,
                id: request.payment,
                memo: String::new(),
            };
            driver.pay_with(request.id, request.amount, options).await
        })
    }

    fn channel_move(&self, request: ChannelMoveRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached_channel(move |driver| async move {
            driver
                .app_move(request.id, request.action.to_string())
                .await
        })
    }

    fn channel_pending(
        &self,
        request: ChannelPendingRequest,
    ) -> ApiFuture<'_, Vec<PendingUpdateInfo>> {
        let driver = &self.driver;
        Box::pin(async move {
            let chain = driver.chain_info();
            Ok(driver
                .waiting_updates(request.id)
                .await?
                .into_iter()
                .map(|waiting| pending_update_info(chain, waiting))
                .collect())
        })
    }

    fn channel_answer(&self, request: ChannelAnswerRequest) -> ApiFuture<'_, ChannelInfo> {
        let verdict = if request.accept {
            Verdict::Accept
        } else {
            Verdict::Reject(request.reason)
        };
        self.detached_channel(move |driver| async move {
            driver
                .answer_update(request.id, request.version, verdict)
                .await
        })
    }

    fn channel_settle(&self, request: ChannelSettleRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached_channel(move |driver| async move {
            driver.settle(request.id, request.force).await
        })
    }

    fn misbehave_register(&self, request: MisbehaveRegisterRequest) -> ApiFuture<'_, ChannelInfo> {
        self.detached_channel(move |driver| async move {
            driver.misbehave_register(request.id, request.version).await
        })
    }

    fn balance(&self, request: BalanceRequest) -> ApiFuture<'_, Vec<OnChainBalance>> {
        let balances = self
            .detached(move |driver| async move { driver.balances(request.asset.as_deref()).await });
        Box::pin(async move {
            Ok(balances
                .await?
                .into_iter()
                .map(|(asset, amount)| OnChainBalance { asset, amount })
                .collect())
        })
    }

    fn payment_list(&self, request: PaymentListRequest) -> ApiFuture<'_, Vec<PaymentInfo>> {
        let driver = &self.driver;
        Box::pin(async move {
            let limit = request.limit.unwrap_or(DEFAULT_LIST).min(MAX_LIST);
            let records = driver
                .payments_settled(request.channel, request.offset.unwrap_or(0), limit)
                .await?;
            let chain = driver.chain_info();
            Ok(records.iter().map(|r| payment_info(chain, r)).collect())
        })
    }

    fn payment_get(&self, id: PaymentId) -> ApiFuture<'_, PaymentInfo> {
        let driver = &self.driver;
        Box::pin(async move {
            Ok(payment_info(
                driver.chain_info(),
                &driver.payment_settled(id).await?,
            ))
        })
    }

    fn invoice_create(&self, request: InvoiceCreateRequest) -> ApiFuture<'_, InvoiceInfo> {
        let driver = &self.driver;
        Box::pin(async move {
            let (signed, status) = driver
                .create_invoice(
                    request.amount,
                    request.asset.as_deref(),
                    request.memo.unwrap_or_default(),
                    request.expiry_seconds.unwrap_or(DEFAULT_EXPIRY_SECONDS),
                )
                .await?;
            Ok(invoice_info(driver.chain_info(), &signed, &status))
        })
    }

    fn invoice_pay(&self, request: InvoicePayRequest) -> ApiFuture<'_, PaymentInfo> {
        self.detached(move |driver| async move {
            let record = driver.pay_invoice(&request.invoice).await?;
            Ok(payment_info(driver.chain_info(), &record))
        })
    }

    fn pay(&self, request: PayRequest) -> ApiFuture<'_, PaymentInfo> {
        self.detached(move |driver| async move {
            let record = driver
                .pay_node(PayNodeRequest {
                    to: request.to,
                    amount: request.amount,
                    asset: request.asset,
                    deposit: request.deposit,
                    fee: request.fee,
                    id: request.payment,
                })
                .await?;
            Ok(payment_info(driver.chain_info(), &record))
        })
    }

    fn invoice_list(&self) -> ApiFuture<'_, Vec<InvoiceInfo>> {
        let driver = &self.driver;
        Box::pin(async move {
            let chain = driver.chain_info();
            Ok(driver
                .invoices()?
                .iter()
                .map(|(signed, status)| invoice_info(chain, signed, status))
                .collect())
        })
    }
}
