//! A whole JSON-RPC request body, as the API server's HTTP and WebSocket front end hands it
//! to the methods: any body, dispatched by the node's own method table (`rpc_methods`, the one
//! the server serves) to an in-memory node, without sockets or the token check.
//!
//! Properties: nothing panics; every request gets one JSON-RPC 2.0 answer with either a result
//! or an error; a request refused for its parameters (`invalid_argument`) never reaches the
//! node, and a successful method call reached the node exactly once, under its own name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_node::api::server::{rpc_methods, SUBSCRIBE_EVENTS, UNSUBSCRIBE_EVENTS};
use parley_node::api::test_support::FakeNode;
use parley_node::api::{ErrorCategory, EventBus};
use serde_json::Value;
use std::sync::Arc;

fuzz_target!(|body: &[u8]| {
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    // A fresh node and runtime per input: no state leaks from one input into the next, so a
    // crash reproduces from its input alone.
    let node = Arc::new(FakeNode::default());
    let methods = rpc_methods(node.clone(), EventBus::new()).expect("the method table builds");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let Ok((response, _subscription)) = runtime.block_on(methods.raw_json_request(body, 1)) else {
        // Not a JSON-RPC request object at all: the server answers with a parse error.
        return;
    };
    let response: Value = serde_json::from_str(response.get()).expect("every answer is JSON");
    assert_eq!(response["jsonrpc"], "2.0", "{response}");
    let method = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|request| request["method"].as_str().map(str::to_owned));
    let calls = node.calls();
    match (response.get("result"), response.get("error")) {
        (Some(_), None) => {
            let method = method.expect("a successful call names its method");
            if method != SUBSCRIBE_EVENTS && method != UNSUBSCRIBE_EVENTS {
                assert_eq!(
                    calls,
                    vec![method],
                    "a success without exactly one node call"
                );
            }
        }
        (None, Some(error)) => {
            let code = error["code"].as_i64().expect("an error has a numeric code");
            if code == i64::from(ErrorCategory::InvalidArgument.code()) {
                assert!(calls.is_empty(), "bad params reached the node: {calls:?}");
            }
            assert!(error["message"].is_string(), "{response}");
        }
        _ => panic!("an answer needs exactly one of result and error: {response}"),
    }
});
