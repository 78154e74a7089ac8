//! The API server: JSON-RPC 2.0 over HTTP POST and WebSocket on one port (jsonrpsee), behind
//! a bearer-token check that runs before any method.
//!
//! Every request, the WebSocket upgrade included, must carry `Authorization: Bearer <token>`
//! (a browser's WebSocket, which cannot set headers, offers the token as its second
//! subprotocol after `parley.bearer` instead; see [`super::token`]); otherwise the answer is
//! HTTP 401 with a JSON-RPC `unauthorized` error and no method runs. Only `GET /health` and
//! the dashboard's static files ([`super::dashboard`]) are served without it.
//! An authorised HTTP request then passes the [`request_guard`](super::request_guard) (body
//! size, request ids) before jsonrpsee parses it.
//! The server binds to loopback unless the operator explicitly allows another address.

use super::error::ApiError;
use super::node_api::{ApiFuture, EventBus, NodeApi};
use super::params::{parse_params, FromParams};
use super::payments::{
    InvoiceCreateRequest, InvoicePayRequest, PayRequest, PaymentListRequest, PaymentRef,
};
use super::request_guard::RequestGuardLayer;
use super::token::{ApiToken, BEARER_SUBPROTOCOL};
use super::types::{
    BalanceRequest, ChannelAnswerRequest, ChannelListRequest, ChannelMoveRequest,
    ChannelOpenRequest, ChannelPayRequest, ChannelPendingRequest, ChannelRef, ChannelSettleRequest,
    MisbehaveRegisterRequest, NodeEvent, PeerAddRequest, ProposalAcceptRequest,
    ProposalRejectRequest,
};
use jsonrpsee::server::{
    HttpBody, HttpRequest, HttpResponse, PendingSubscriptionSink, RpcModule, ServerBuilder,
    ServerConfig, ServerHandle,
};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::Methods;
use serde::Serialize;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use thiserror::Error;
use tokio::sync::broadcast::error::RecvError;

/// The default API address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7150";

/// The largest request body accepted, in bytes, however it is sent (with a `Content-Length`
/// or chunked). API requests are small; this bounds memory.
pub const MAX_REQUEST_BYTES: u32 = 1024 * 1024;

/// The subscription method, its notification and its unsubscribe method.
pub const SUBSCRIBE_EVENTS: &str = "subscribe_events";
/// The notification method carrying a [`NodeEvent`].
pub const EVENT_NOTIFICATION: &str = "node_event";
/// Ends an event subscription.
pub const UNSUBSCRIBE_EVENTS: &str = "unsubscribe_events";

/// Where and how the API listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiServerConfig {
    /// The address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Whether a non-loopback `listen` is allowed. Off by default: the API moves funds, and
    /// the bearer token travels in clear text over plain HTTP.
    pub allow_non_loopback: bool,
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        ApiServerConfig {
            listen: DEFAULT_LISTEN.parse().expect("a valid socket address"),
            allow_non_loopback: false,
        }
    }
}

/// Why the server did not start.
#[derive(Debug, Error)]
pub enum ApiServerError {
    /// The address is not loopback and that was not explicitly allowed.
    #[error(
        "refusing to serve the API on {addr}: it is not a loopback address, and the token \
         would cross the network in clear text; bind to 127.0.0.1, or allow it explicitly \
         (allow_non_loopback) behind a TLS proxy"
    )]
    NonLoopback {
        /// The refused address.
        addr: SocketAddr,
    },
    /// The socket could not be bound.
    #[error("cannot listen for the API on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A method name was registered twice (a bug).
    #[error("API method registration failed: {0}")]
    Register(String),
}

/// Checks the bind address against the loopback rule.
pub fn check_listen_address(config: &ApiServerConfig) -> Result<(), ApiServerError> {
    if config.listen.ip().is_loopback() || config.allow_non_loopback {
        Ok(())
    } else {
        Err(ApiServerError::NonLoopback {
            addr: config.listen,
        })
    }
}

/// A running API server. Dropping it does not stop the server; call [`ApiServer::stop`].
#[derive(Debug)]
pub struct ApiServer {
    local_addr: SocketAddr,
    handle: ServerHandle,
}

impl ApiServer {
    /// Checks the address, binds it and starts serving `node` on the current tokio runtime.
    pub async fn start(
        config: &ApiServerConfig,
        token: ApiToken,
        node: Arc<dyn NodeApi>,
        events: EventBus,
    ) -> Result<ApiServer, ApiServerError> {
        check_listen_address(config)?;
        let bind_error = |source| ApiServerError::Bind {
            addr: config.listen,
            source,
        };
        let server = ServerBuilder::new()
            .set_config(
                ServerConfig::builder()
                    .max_request_body_size(MAX_REQUEST_BYTES)
                    .build(),
            )
            .set_http_middleware(
                tower::ServiceBuilder::new()
                    .layer(BearerAuthLayer {
                        token: Arc::new(token),
                        node: node.clone(),
                    })
                    // After the token check: only an authorised client gets its body read.
                    .layer(RequestGuardLayer {
                        max_body: MAX_REQUEST_BYTES as usize,
                    }),
            )
            .build(config.listen)
            .await
            .map_err(bind_error)?;
        let local_addr = server.local_addr().map_err(bind_error)?;
        let handle = server.start(methods(node, events)?);
        tracing::info!(%local_addr, "JSON-RPC API listening");
        Ok(ApiServer { local_addr, handle })
    }

    /// The bound address (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and ends the open ones.
    pub fn stop(&self) {
        // An error only means it was already stopped.
        let _ = self.handle.stop();
    }

    /// Completes when the server has stopped.
    pub async fn stopped(self) {
        self.handle.stopped().await
    }
}

/// The state every method sees.
struct ApiContext {
    node: Arc<dyn NodeApi>,
    events: EventBus,
}

/// Registers one method: parse and check the params (no node call when they are bad), then
/// call the node.
fn register<Req, Res, Call>(
    module: &mut RpcModule<ApiContext>,
    name: &'static str,
    call: Call,
) -> Result<(), ApiServerError>
where
    Req: FromParams + Send + 'static,
    Res: Serialize + Clone + Send + 'static,
    Call: for<'a> Fn(&'a dyn NodeApi, Req) -> ApiFuture<'a, Res> + Clone + Send + Sync + 'static,
{
    module
        .register_async_method(name, move |params, context, _| {
            let call = call.clone();
            async move {
                let request: Req = parse_params(params.as_str())?;
                call(&*context.node, request)
                    .await
                    .map_err(ErrorObjectOwned::from)
            }
        })
        .map_err(|e| ApiServerError::Register(e.to_string()))?;
    Ok(())
}

/// Every API method bound to `node`: the method table the server serves, without the server
/// and its token check. Calling it in-process (`Methods::raw_json_request`) runs the same
/// parameter parsing and dispatch as a request over HTTP or WebSocket; the fuzz targets do.
pub fn rpc_methods(node: Arc<dyn NodeApi>, events: EventBus) -> Result<Methods, ApiServerError> {
    methods(node, events).map(Methods::from)
}

/// Every API method, bound to `node`.
fn methods(
    node: Arc<dyn NodeApi>,
    events: EventBus,
) -> Result<RpcModule<ApiContext>, ApiServerError> {
    let mut module = RpcModule::new(ApiContext { node, events });
    register(&mut module, "node_info", |n, ()| n.node_info())?;
    register(&mut module, "peer_add", |n, r: PeerAddRequest| {
        n.peer_add(r)
    })?;
    register(&mut module, "peer_list", |n, ()| n.peer_list())?;
    register(&mut module, "channel_open", |n, r: ChannelOpenRequest| {
        n.channel_open(r)
    })?;
    register(&mut module, "proposal_list", |n, ()| n.proposal_list())?;
    register(
        &mut module,
        "proposal_accept",
        |n, r: ProposalAcceptRequest| n.proposal_accept(r.id),
    )?;
    register(
        &mut module,
        "proposal_reject",
        |n, r: ProposalRejectRequest| n.proposal_reject(r),
    )?;
    register(&mut module, "channel_list", |n, r: ChannelListRequest| {
        n.channel_list(r)
    })?;
    register(&mut module, "channel_get", |n, r: ChannelRef| {
        n.channel_get(r.id)
    })?;
    register(&mut module, "channel_move", |n, r: ChannelMoveRequest| {
        n.channel_move(r)
    })?;
    // The generic name of an app channel's update (issue #12's `channel_update`): the same
    // request and answer as `channel_move`.
    register(&mut module, "channel_update", |n, r: ChannelMoveRequest| {
        n.channel_move(r)
    })?;
    register(&mut module, "channel_pay", |n, r: ChannelPayRequest| {
        n.channel_pay(r)
    })?;
    register(
        &mut module,
        "channel_pending",
        |n, r: ChannelPendingRequest| n.channel_pending(r),
    )?;
    register(
        &mut module,
        "channel_answer",
        |n, r: ChannelAnswerRequest| n.channel_answer(r),
    )?;
    register(
        &mut module,
        "channel_settle",
        |n, r: ChannelSettleRequest| n.channel_settle(r),
    )?;
    register(
        &mut module,
        "misbehave_register",
        |n, r: MisbehaveRegisterRequest| n.misbehave_register(r),
    )?;
    register(&mut module, "balance", |n, r: BalanceRequest| n.balance(r))?;
    register(&mut module, "payment_list", |n, r: PaymentListRequest| {
        n.payment_list(r)
    })?;
    register(&mut module, "payment_get", |n, r: PaymentRef| {
        n.payment_get(r.id)
    })?;
    register(
        &mut module,
        "invoice_create",
        |n, r: InvoiceCreateRequest| n.invoice_create(r),
    )?;
    register(&mut module, "invoice_pay", |n, r: InvoicePayRequest| {
        n.invoice_pay(r)
    })?;
    register(&mut module, "invoice_list", |n, ()| n.invoice_list())?;
    register(&mut module, "pay", |n, r: PayRequest| n.pay(r))?;
    module
        .register_method(super::openrpc::DISCOVER, |params, _, _| {
            parse_params::<()>(params.as_str()).map_err(ErrorObjectOwned::from)?;
            Ok::<_, ErrorObjectOwned>(super::openrpc::document())
        })
        .map_err(|e| ApiServerError::Register(e.to_string()))?;
    module
        .register_subscription(
            SUBSCRIBE_EVENTS,
            EVENT_NOTIFICATION,
            UNSUBSCRIBE_EVENTS,
            |params, pending, context, _| async move {
                match parse_params::<()>(params.as_str()) {
                    Ok(()) => forward_events(pending, context.events.clone()).await,
                    Err(error) => pending.reject(error).await,
                }
            },
        )
        .map_err(|e| ApiServerError::Register(e.to_string()))?;
    Ok(module)
}

/// Sends every event published after the subscription until the client leaves.
async fn forward_events(pending: PendingSubscriptionSink, events: EventBus) {
    // Subscribe before accepting, so no event published after the client got its
    // subscription id is missed.
    let mut receiver = events.subscribe();
    let Ok(sink) = pending.accept().await else {
        return;
    };
    loop {
        let event = tokio::select! {
            () = sink.closed() => return,
            received = receiver.recv() => match received {
                Ok(event) => event,
                Err(RecvError::Lagged(count)) => NodeEvent::EventsMissed { count },
                Err(RecvError::Closed) => return,
            },
        };
        let message = match serde_json::value::to_raw_value(&event) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "cannot encode a node event");
                continue;
            }
        };
        if sink.send(message).await.is_err() {
            return;
        }
    }
}

/// Where `GET` (with the token) answers the node's metrics for Prometheus.
pub const METRICS_PATH: &str = "/metrics";

/// The answer of [`METRICS_PATH`]: 200 and the text format.
fn metrics_response(text: String) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(text));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// Where `GET` answers whether the node is up, without the token.
pub const HEALTH_PATH: &str = "/health";

/// The answer of [`HEALTH_PATH`]: 200 and `{"status": "ok", "version": ...}`.
pub fn health_response() -> HttpResponse {
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    });
    let mut response = HttpResponse::new(HttpBody::from(body.to_string()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The HTTP answer to a request without the right token: 401 and a JSON-RPC error.
pub fn unauthorized_response() -> HttpResponse {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "error": ApiError::unauthorized().to_error_object(),
        "id": null,
    });
    let mut response = HttpResponse::new(HttpBody::from(body.to_string()));
    *response.status_mut() = http::StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Wraps the JSON-RPC service in the bearer-token check.
#[derive(Clone)]
struct BearerAuthLayer {
    token: Arc<ApiToken>,
    node: Arc<dyn NodeApi>,
}

impl<S> tower::Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;
    fn layer(&self, inner: S) -> BearerAuth<S> {
        BearerAuth {
            inner,
            token: self.token.clone(),
            node: self.node.clone(),
        }
    }
}

/// The bearer-token check in front of the JSON-RPC service.
#[derive(Clone)]
struct BearerAuth<S> {
    inner: S,
    token: Arc<ApiToken>,
    node: Arc<dyn NodeApi>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S> tower::Service<HttpRequest> for BearerAuth<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        if request.method() == http::Method::GET && request.uri().path() == HEALTH_PATH {
            // Liveness for supervisors and load balancers: no token, and nothing but that the
            // node answers and which version it is.
            return Box::pin(std::future::ready(Ok(health_response())));
        }
        let upgrade = is_websocket_upgrade(&request);
        if !upgrade {
            if let Some(response) = super::dashboard::respond(&request) {
                // The dashboard's static files: no token, and nothing runs (see `dashboard`).
                return Box::pin(std::future::ready(Ok(response)));
            }
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        if self.token.authorizes(authorization) {
            if request.method() == http::Method::GET && request.uri().path() == METRICS_PATH {
                let node = self.node.clone();
                return Box::pin(async move {
                    let text = node.metrics().await.unwrap_or_default();
                    Ok(metrics_response(text))
                });
            }
            return Box::pin(self.inner.call(request));
        }
        if upgrade && self.token.authorizes_subprotocols(offered(&request)) {
            return Box::pin(upgrade_with_bearer_subprotocol(&mut self.inner, request));
        }
        Box::pin(std::future::ready(Ok(unauthorized_response())))
    }
}

/// Whether `request` opens a WebSocket (`Upgrade: websocket`).
fn is_websocket_upgrade(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim().eq_ignore_ascii_case("websocket"))
}

/// The subprotocols a WebSocket client offers, header by header.
fn offered(request: &HttpRequest) -> impl Iterator<Item = &str> {
    request
        .headers()
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
}

/// Hands a WebSocket upgrade that carried the token as a subprotocol to jsonrpsee, and answers
/// with [`BEARER_SUBPROTOCOL`] as the chosen subprotocol: a browser fails a connection whose
/// answer picks none of the offered ones. The token's header is removed first, so it goes no
/// further into the server than this check.
fn upgrade_with_bearer_subprotocol<S>(
    inner: &mut S,
    mut request: HttpRequest,
) -> impl Future<Output = Result<HttpResponse, BoxError>> + Send + 'static
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    request
        .headers_mut()
        .remove(http::header::SEC_WEBSOCKET_PROTOCOL);
    let upgrade = inner.call(request);
    async move {
        let mut response = upgrade.await?;
        if response.status() == http::StatusCode::SWITCHING_PROTOCOLS {
            response.headers_mut().insert(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                http::HeaderValue::from_static(BEARER_SUBPROTOCOL),
            );
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_allowed_and_others_need_the_flag() {
        let mut config = ApiServerConfig::default();
        assert!(config.listen.ip().is_loopback());
        assert!(check_listen_address(&config).is_ok());
        config.listen = "[::1]:0".parse().unwrap();
        assert!(check_listen_address(&config).is_ok());
        config.listen = "0.0.0.0:7150".parse().unwrap();
        let error = check_listen_address(&config).unwrap_err();
        assert!(error.to_string().contains("0.0.0.0:7150"), "{error}");
        assert!(error.to_string().contains("allow_non_loopback"), "{error}");
        config.allow_non_loopback = true;
        assert!(check_listen_address(&config).is_ok());
    }

    #[test]
    fn unauthorized_response_is_401_with_the_error_object() {
        let response = unauthorized_response();
        assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[http::header::WWW_AUTHENTICATE], "Bearer");
    }
}
