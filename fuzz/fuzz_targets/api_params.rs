//! The `params` of every JSON-RPC method, straight into the API's parameter parsing
//! (`parley_node::api::params`), as any client on the API port can send them.
//!
//! Input layout: the method's name, then optionally a newline and the raw `params` text
//! (no newline: the request has no `params`). Unknown method names are skipped.
//!
//! Properties: parsing never panics; every refusal is an `invalid_argument` error with a
//! message and the JSON-RPC error object; every accepted request reads back unchanged from the
//! JSON the CLI's client would send for it, so server and client agree on the form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_node::api::params::{parse_params, FromParams};
use parley_node::api::types::{
    BalanceRequest, ChannelAnswerRequest, ChannelOpenRequest, ChannelPayRequest,
    ChannelPendingRequest, ChannelRef, ChannelSettleRequest, MisbehaveRegisterRequest,
    PeerAddRequest, ProposalAcceptRequest, ProposalRejectRequest,
};
use parley_node::api::ErrorCategory;
use serde::Serialize;
use std::fmt::Debug;

fuzz_target!(|input: &[u8]| {
    let Ok(input) = std::str::from_utf8(input) else {
        return;
    };
    let (method, params) = match input.split_once('\n') {
        Some((method, params)) => (method, Some(params)),
        None => (input, None),
    };
    match method {
        "node_info" | "peer_list" | "proposal_list" | "channel_list" | "subscribe_events" => {
            check::<()>(params)
        }
        "peer_add" => check::<PeerAddRequest>(params),
        "channel_open" => check::<ChannelOpenRequest>(params),
        "proposal_accept" => check::<ProposalAcceptRequest>(params),
        "proposal_reject" => check::<ProposalRejectRequest>(params),
        "channel_get" => check::<ChannelRef>(params),
        "channel_pay" => check::<ChannelPayRequest>(params),
        "channel_settle" => check::<ChannelSettleRequest>(params),
        "channel_pending" => check::<ChannelPendingRequest>(params),
        "channel_answer" => check::<ChannelAnswerRequest>(params),
        "misbehave_register" => check::<MisbehaveRegisterRequest>(params),
        "balance" => check::<BalanceRequest>(params),
        _ => {}
    }
});

fn check<T: FromParams + Serialize + PartialEq + Debug>(params: Option<&str>) {
    match parse_params::<T>(params) {
        Ok(request) => {
            let json = serde_json::to_string(&request).expect("a request has a JSON form");
            match parse_params::<T>(Some(&json)) {
                Ok(again) => assert_eq!(again, request, "the client's form reads back changed"),
                Err(error) => panic!("the client's form {json} of {request:?} is refused: {error}"),
            }
        }
        Err(error) => {
            assert_eq!(error.category, ErrorCategory::InvalidArgument, "{error}");
            assert!(!error.message.is_empty());
            let _ = error.to_error_object();
        }
    }
}
