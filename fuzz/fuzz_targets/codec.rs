//! The canonical codec of the data model the chain enforces: `State`, `Params`, `Allocation`,
//! `SubAlloc` and `SignedState`, as the store, the plugins and peers hand them to the node.
//!
//! The first byte picks the type, the rest is its encoding. Properties: decoding never panics;
//! decode(encode(x)) == x and encode(decode(b)) == b for what decodes (one encoding per value);
//! the JSON form round-trips; the shape and total checks of an allocation never panic, and a
//! shape that passes has totals.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{Allocation, Params, SignedState, State, SubAlloc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, bytes)) = input.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Some(state) = round_trip::<State>(bytes) {
                check_allocation(&state.allocation);
            }
        }
        1 => {
            round_trip::<Params>(bytes);
        }
        2 => {
            if let Some(allocation) = round_trip::<Allocation>(bytes) {
                check_allocation(&allocation);
            }
        }
        3 => {
            round_trip::<SubAlloc>(bytes);
        }
        _ => {
            if let Some(signed) = round_trip::<SignedState>(bytes) {
                check_allocation(&signed.state.allocation);
                let _ = signed
                    .state
                    .allocation
                    .check_shape(signed.params.participants.len());
            }
        }
    }
});

/// Decodes `bytes` as `T` and checks both round trips; `None` when they are not an encoding.
fn round_trip<T>(bytes: &[u8]) -> Option<T>
where
    T: Decode + Encode + PartialEq + Debug + Serialize + DeserializeOwned,
{
    let value = match T::decode(bytes) {
        Ok(value) => value,
        Err(error) => {
            let _ = error.to_string();
            return None;
        }
    };
    let encoded = value.encode();
    assert_eq!(encoded, bytes, "not the canonical encoding of {value:?}");
    assert_eq!(T::decode(&encoded).as_ref(), Ok(&value));
    let json = serde_json::to_string(&value).expect("every model value has a JSON form");
    let back: T = serde_json::from_str(&json).expect("its JSON form reads back");
    assert_eq!(back, value, "JSON round trip changed the value: {json}");
    Some(value)
}

/// The checks every received allocation goes through must answer, whatever its shape.
fn check_allocation(allocation: &Allocation) {
    for participants in 0..4 {
        if allocation.check_shape(participants).is_ok() {
            assert!(
                allocation.totals().is_ok(),
                "a well-formed allocation has totals: {allocation:?}"
            );
        }
    }
    let _ = allocation.totals();
}
