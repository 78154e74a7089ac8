//! The body of a channel frame: every kind of `ChannelMessage`, decoded from any bytes.
//!
//! Properties: decoding never panics; what decodes is the canonical encoding of its value and
//! survives the API's JSON form unchanged; the routing accessors and the proposal rules run on
//! whatever a peer can send without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_node::protocol::{opening_state, validate_proposal, ChannelMessage};
use parley_plugin_api::codec::{Decode, Encode};

fuzz_target!(|body: &[u8]| {
    let message = match ChannelMessage::decode(body) {
        Ok(message) => message,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert_eq!(message.encode(), body, "not canonical: {message:?}");
    let json = serde_json::to_string(&message).expect("every channel message has a JSON form");
    let back: ChannelMessage = serde_json::from_str(&json).expect("its JSON form reads back");
    assert_eq!(back, message, "JSON round trip changed the message: {json}");

    let _ = (message.kind(), message.channel_id(), message.proposal_id());
    match &message {
        ChannelMessage::Proposal(proposal) if validate_proposal(proposal).is_ok() => {
            let state = opening_state(proposal, Default::default());
            let totals = state.allocation.totals();
            assert!(
                totals.is_ok(),
                "a valid proposal's totals overflow: {proposal:?}"
            );
        }
        ChannelMessage::UpdateReject(reject) => {
            let _ = reject.reason.to_string();
        }
        _ => {}
    }
});
