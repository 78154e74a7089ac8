//! A frame from a peer, as the connection driver hands it to the decoder: any bytes, up to the
//! default frame limit, with channel messages as the envelope's body.
//!
//! Properties: decoding never panics; a refused frame has an error with a goodbye reason; a
//! frame that decodes is the one canonical encoding of what it decoded to (encoding it again
//! gives the same bytes), so no two byte strings mean the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_node::protocol::ChannelMessage;
use parley_node::wire::{decode_frame, encode_frame, DEFAULT_MAX_FRAME_SIZE};

fuzz_target!(|frame: &[u8]| {
    match decode_frame::<ChannelMessage>(frame, DEFAULT_MAX_FRAME_SIZE) {
        Ok(message) => assert_eq!(
            encode_frame(&message),
            frame,
            "a decoded frame is not the canonical encoding of {message:?}"
        ),
        Err(error) => {
            let _ = error.goodbye_reason();
            let _ = error.to_string();
        }
    }
});
