//! A connection's session fed whatever a peer sends, from either role: the handshake state
//! machine, and what the session lets through once (if ever) the peer is authenticated.
//!
//! Input layout (the seed generator in node/tests/fuzz_seeds/ writes the same):
//! `flags: u8 ‖ our secret key: 32 ‖ our nonce: 32 ‖ [expected peer id: 33, if flags & 2]`
//! then the peer's frames, each `length: u16 (big-endian) ‖ frame`. Bit 0 of `flags` is the
//! role (0 dialer, 1 listener). A seed that signs the transcript with a peer key gets past the
//! handshake, so the fuzzer also explores the authenticated session.
//!
//! Properties: nothing panics; our own frames always decode; a channel message or a pong is only
//! ever handed out after authentication, and a channel message's sender is the authenticated
//! peer; the authenticated peer is never ourselves and is the expected one when we expected
//! one; after a fatal error or a goodbye every later frame is refused as closed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_node::protocol::ChannelMessage;
use parley_node::wire::{
    decode_frame, NodeId, NodeKey, Role, Session, SessionError, SessionEvent,
    DEFAULT_MAX_FRAME_SIZE,
};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let Some((secret, rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Some((&nonce, mut rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Ok(key) = NodeKey::from_secret_bytes(secret) else {
        return;
    };
    let expected = if flags & 2 != 0 {
        let Some((&id, tail)) = rest.split_first_chunk::<33>() else {
            return;
        };
        rest = tail;
        match NodeId::from_bytes(id) {
            Ok(id) => Some(id),
            Err(_) => return,
        }
    } else {
        None
    };
    let role = if flags & 1 == 0 {
        Role::Dialer
    } else {
        Role::Listener
    };
    let me = key.node_id();

    let (mut session, hello) =
        Session::<ChannelMessage>::new(role, &key, nonce, expected, DEFAULT_MAX_FRAME_SIZE);
    assert_eq!(hello.len(), 1, "a session starts with exactly our hello");
    check_own_frames(&hello);

    let mut authenticated: Option<NodeId> = None;
    let mut closed = false;
    while let Some((length, tail)) = rest.split_first_chunk::<2>() {
        let length = usize::from(u16::from_be_bytes(*length)).min(tail.len());
        let (frame, tail) = tail.split_at(length);
        rest = tail;

        let result = session.on_frame(frame);
        if closed {
            assert_eq!(
                result,
                Err(SessionError::Closed),
                "a closed session took a frame"
            );
            continue;
        }
        match result {
            Ok(SessionEvent::Send(frames)) => check_own_frames(&frames),
            Ok(SessionEvent::Authenticated { peer, send }) => {
                assert_eq!(authenticated, None, "authenticated twice");
                assert_ne!(peer, me, "authenticated as ourselves");
                if let Some(expected) = expected {
                    assert_eq!(peer, expected, "authenticated someone we did not dial");
                }
                assert_eq!(session.peer(), Some(peer));
                check_own_frames(&send);
                authenticated = Some(peer);
            }
            Ok(SessionEvent::Channel { from, message }) => {
                assert_eq!(
                    Some(from),
                    authenticated,
                    "{message:?} from an unproven sender"
                );
            }
            Ok(SessionEvent::Pong { .. }) => {
                assert!(authenticated.is_some(), "a pong before authentication");
            }
            Ok(SessionEvent::PeerClosed(_)) => {
                assert!(session.is_closed());
                closed = true;
            }
            Err(error) => {
                let _ = (error.goodbye(), error.to_string());
                if error.is_fatal() {
                    assert!(session.is_closed(), "a fatal error left the session open");
                    closed = true;
                }
            }
        }
    }
});

/// Every frame we send is a valid frame (a peer following the protocol can decode it).
fn check_own_frames(frames: &[Vec<u8>]) {
    for frame in frames {
        if let Err(error) = decode_frame::<ChannelMessage>(frame, DEFAULT_MAX_FRAME_SIZE) {
            panic!("we produced a frame we cannot decode: {error}");
        }
    }
}
