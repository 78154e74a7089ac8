//! Shared test fixtures: fixed node keys, a stand-in channel message type, and a proptest
//! strategy over every wire message.

use super::envelope::{
    Auth, Goodbye, GoodbyeReason, Hello, Ping, Pong, WireMessage, PROTOCOL_VERSION,
};
use super::identity::{NodeKey, NodeSig};
use parley_plugin_api::codec::Bytes;
use proptest::prelude::*;

/// A node key from a fixed secret (`n` must be non-zero).
pub(crate) fn key(n: u8) -> NodeKey {
    NodeKey::from_secret_bytes(&[n; 32]).expect("a small repeated byte is a valid secret")
}

/// Stands in for the protocol's `ChannelMessage`: any canonical Encode/Decode type works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestBody {
    pub seq: u64,
    pub payload: Bytes,
}

parley_plugin_api::canonical_struct!(TestBody { seq, payload });

fn arb_reason() -> impl Strategy<Value = GoodbyeReason> {
    prop_oneof![
        Just(GoodbyeReason::Shutdown),
        Just(GoodbyeReason::ProtocolViolation),
        Just(GoodbyeReason::UnsupportedVersion),
        Just(GoodbyeReason::AuthenticationFailed),
        Just(GoodbyeReason::FrameTooLarge),
        Just(GoodbyeReason::Timeout),
    ]
}

/// Every kind of wire message, with arbitrary contents.
pub(crate) fn arb_message() -> impl Strategy<Value = WireMessage<TestBody>> {
    let sig = proptest::collection::vec(any::<u8>(), 64).prop_map(|bytes| {
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes);
        NodeSig(sig)
    });
    prop_oneof![
        (
            1u8..=200,
            any::<[u8; 32]>(),
            // Mostly the right version, so that a forged hello gets as far as the signature.
            prop_oneof![3 => Just(PROTOCOL_VERSION), 1 => any::<u16>()],
            "[a-z0-9.:]{0,24}",
        )
            .prop_map(|(n, nonce, protocol_version, listen_address)| {
                WireMessage::Hello(Hello {
                    node_id: key(n).node_id(),
                    nonce,
                    protocol_version,
                    listen_address,
                })
            }),
        sig.prop_map(|sig| WireMessage::Auth(Auth { sig })),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(seq, payload)| {
            WireMessage::Channel(TestBody {
                seq,
                payload: Bytes(payload),
            })
        }),
        any::<u64>().prop_map(|nonce| WireMessage::Ping(Ping { nonce })),
        any::<u64>().prop_map(|nonce| WireMessage::Pong(Pong { nonce })),
        (arb_reason(), ".{0,40}")
            .prop_map(|(reason, detail)| { WireMessage::Goodbye(Goodbye::new(reason, detail)) }),
    ]
}
