//! The API described for machines: an [OpenRPC](https://spec.open-rpc.org) document, served by
//! `rpc.discover`. Each method's parameter names come from its request type's
//! [`FromParams::NAMES`] (what the server parses), and a test checks that the methods the
//! document lists are exactly the methods the server registers.

use super::params::FromParams;
use super::payments::{
    InvoiceCreateRequest, InvoicePayRequest, PayRequest, PaymentListRequest, PaymentRef,
};
use super::server::{EVENT_NOTIFICATION, SUBSCRIBE_EVENTS, UNSUBSCRIBE_EVENTS};
use super::types::*;
use serde_json::{json, Value};

/// The method that returns the document.
pub const DISCOVER: &str = "rpc.discover";

/// One method: its name, what it does, its parameters and what it returns.
struct Method {
    name: &'static str,
    summary: &'static str,
    params: &'static [&'static str],
    result: &'static str,
}

fn method<Req: FromParams>(
    name: &'static str,
    summary: &'static str,
    result: &'static str,
) -> Method {
    Method {
        name,
        summary,
        params: Req::NAMES,
        result,
    }
}

/// Every method the server serves (besides the event subscription, described under
/// `x-subscriptions`).
fn methods() -> Vec<Method> {
    vec![
        method::<()>("node_info", "The node: id, version, chain with its assets, transport address, apps.", "NodeInfo"),
        method::<PeerAddRequest>("peer_add", "Save a peer under an alias and connect to it.", "PeerInfo"),
        method::<()>("peer_list", "The saved and connected peers.", "PeerInfo[]"),
        method::<ChannelOpenRequest>("channel_open", "Propose a channel (or, with `parent`, a sub-channel; with `via`, a virtual channel through an intermediary); returns once it is funded.", "ChannelInfo"),
        method::<()>("proposal_list", "The peers' channel proposals waiting for an answer.", "ProposalInfo[]"),
        method::<ProposalAcceptRequest>("proposal_accept", "Accept a proposal; returns once the channel is funded.", "ChannelInfo"),
        method::<ProposalRejectRequest>("proposal_reject", "Reject a proposal with an optional reason.", "null"),
        method::<ChannelListRequest>("channel_list", "The open channels, or with `closed` the closed ones.", "ChannelInfo[]"),
        method::<ChannelRef>("channel_get", "One channel, open or closed.", "ChannelInfo"),
        method::<ChannelMoveRequest>("channel_move", "A move in an app channel (`action`: the app's JSON); on chain in a disputed one.", "ChannelInfo"),
        method::<ChannelMoveRequest>("channel_update", "The generic name of `channel_move`.", "ChannelInfo"),
        method::<ChannelPayRequest>("channel_pay", "Pay the peer in a channel (base units); returns once both signed it.", "ChannelInfo"),
        method::<ChannelPendingRequest>("channel_pending", "The peers' updates waiting for the user's answer.", "PendingUpdateInfo[]"),
        method::<ChannelAnswerRequest>("channel_answer", "Accept or reject (with a reason) an update waiting for the user.", "ChannelInfo"),
        method::<ChannelSettleRequest>("channel_settle", "Settle a channel (cooperatively, or with `force` through a dispute); returns once paid out.", "ChannelInfo"),
        method::<MisbehaveRegisterRequest>("misbehave_register", "TEST nodes only: register an old state as a cheater would.", "ChannelInfo"),
        method::<BalanceRequest>("balance", "The node account's on-chain balance per asset (base units).", "AssetAmount[]"),
        method::<PaymentListRequest>("payment_list", "The payment history, newest first (`channel`, `limit`, `offset`).", "PaymentInfo[]"),
        method::<PaymentRef>("payment_get", "One payment by id.", "PaymentInfo"),
        method::<InvoiceCreateRequest>("invoice_create", "Issue an invoice (amount in base units) signed by this node.", "InvoiceInfo"),
        method::<InvoicePayRequest>("invoice_pay", "Check and pay an invoice through a channel with its payee.", "PaymentInfo"),
        method::<PayRequest>("pay", "Pay a node: through a channel with it, or a virtual channel opened through a hub.", "PaymentInfo"),
        method::<()>("invoice_list", "The invoices this node issued: open, paid or expired.", "InvoiceInfo[]"),
        method::<()>(DISCOVER, "This document.", "OpenRPC document"),
    ]
}

/// The OpenRPC document of the API.
pub fn document() -> Value {
    let methods: Vec<Value> = methods()
        .into_iter()
        .map(|m| {
            json!({
                "name": m.name,
                "summary": m.summary,
                "paramStructure": "either",
                "params": m.params.iter().map(|name| json!({
                    "name": name,
                    "schema": {},
                })).collect::<Vec<_>>(),
                "result": { "name": "result", "schema": { "title": m.result } },
            })
        })
        .collect();
    json!({
        "openrpc": "1.2.6",
        "info": {
            "title": "Parley node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON-RPC 2.0 over HTTP POST and WebSocket on one loopback port; every \
                call carries `Authorization: Bearer <token>` (the token is <data_dir>/api.token). \
                Amounts are strings of base units. Errors carry a stable category and code.",
        },
        "methods": methods,
        "x-subscriptions": [{
            "subscribe": SUBSCRIBE_EVENTS,
            "notification": EVENT_NOTIFICATION,
            "unsubscribe": UNSUBSCRIBE_EVENTS,
            "summary": "The node's events (proposals, updates, phase changes, payments), one \
                notification each.",
        }],
    })
}

/// The names of the methods the document lists.
pub fn method_names() -> Vec<&'static str> {
    methods().into_iter().map(|m| m.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::node_api::EventBus;
    use crate::api::server::rpc_methods;
    use crate::api::test_support::FakeNode;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    #[test]
    fn the_document_lists_exactly_the_methods_the_server_serves() {
        let served = rpc_methods(Arc::new(FakeNode::default()), EventBus::new()).unwrap();
        let served: BTreeSet<&str> = served
            .method_names()
            .filter(|name| ![SUBSCRIBE_EVENTS, UNSUBSCRIBE_EVENTS].contains(name))
            .collect();
        let listed: BTreeSet<&str> = method_names().into_iter().collect();
        assert_eq!(served, listed);
        assert_eq!(listed.len(), method_names().len(), "a method listed twice");
    }

    #[tokio::test]
    async fn rpc_discover_answers_the_document_with_each_methods_parameters() {
        let served = rpc_methods(Arc::new(FakeNode::default()), EventBus::new()).unwrap();
        let (answer, _) = served
            .raw_json_request(r#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#, 1)
            .await
            .unwrap();
        let answer: Value = serde_json::from_str(answer.get()).unwrap();
        let document = &answer["result"];
        assert_eq!(document["openrpc"], "1.2.6");
        let open = document["methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "channel_open")
            .unwrap();
        let params: Vec<&str> = open["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(params, ChannelOpenRequest::NAMES);
        assert!(params.contains(&"parent"));
        assert!(params.contains(&"via"));
    }
}
