//! The virtual channels this node carries as an intermediary: the newest fully signed state of
//! each that an end handed over (its opening state, later its final one), so that the node can
//! put its ledger channels on chain with the virtual channel they lock even after a restart,
//! though it never runs the virtual channel itself.
//!
//! | key                        | value                                           |
//! |----------------------------|-------------------------------------------------|
//! | `carry/` ‖ channel id (32) | the canonical encoding of its `SignedState`     |
//!
//! A record is written when the intermediary checked the state (every signature, the id) and
//! is kept after the virtual channel closes: it is small, and a ledger channel that still
//! locks it may go on chain at any time.

use super::error::StoreError;
use super::schema::describe_key;
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{ChannelId, SignedState, WriteOp};

/// The prefix of every carried virtual channel's state.
pub const CARRIED_PREFIX: &[u8] = b"carry/";

/// The key of carried virtual channel `id`.
pub fn carried_key(id: &ChannelId) -> Vec<u8> {
    [CARRIED_PREFIX, &id.0].concat()
}

/// The write that keeps `state` as the carried virtual channel's newest state.
pub fn carried_op(state: &SignedState) -> WriteOp {
    WriteOp::put(carried_key(&state.state.channel_id), state.encode())
}

/// The carried state under `key`, refusing one of another channel.
pub fn decode_carried(key: &[u8], value: &[u8]) -> Result<SignedState, StoreError> {
    let malformed = |reason: String| StoreError::MalformedCarried {
        key: describe_key(key),
        reason,
    };
    let state =
        SignedState::decode(value).map_err(|e| malformed(format!("does not decode: {e}")))?;
    if key != carried_key(&state.state.channel_id).as_slice() {
        return Err(malformed(format!(
            "holds channel {}",
            state.state.channel_id
        )));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::model::{Allocation, Params, Participant, Sig, State};

    fn carried(id: u8) -> SignedState {
        SignedState {
            params: Params {
                participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
                challenge_duration: 60,
                nonce: [3; 32],
                app: None,
                ledger_channel: false,
                virtual_channel: true,
            },
            state: State {
                channel_id: ChannelId([id; 32]),
                version: 0,
                allocation: Allocation::default(),
                app_data: Default::default(),
                is_final: false,
            },
            sigs: vec![Sig(vec![1; 65]), Sig(vec![2; 65])],
        }
    }

    #[test]
    fn a_carried_state_reads_back_only_under_its_own_key() {
        let state = carried(5);
        let WriteOp::Put { key, value } = carried_op(&state) else {
            panic!("not a put");
        };
        assert_eq!(decode_carried(&key.0, &value.0).unwrap(), state);
        let elsewhere = carried_key(&ChannelId([6; 32]));
        assert!(matches!(
            decode_carried(&elsewhere, &value.0),
            Err(StoreError::MalformedCarried { .. })
        ));
        assert!(decode_carried(&key.0, &value.0[1..]).is_err());
    }
}
