//! Unit tests: the contract's forge tests mirrored (`contract.rs`), the JSON side of the app
//! (`app.rs`), and properties of `apply` (`properties.rs`). The fixtures are those of
//! `contracts/test/HashLock.t.sol`: alice (0) pays bob (1); ETH alice 5, bob 2; token alice 3,
//! bob 0; the preimage is keccak256("parley hash-lock test preimage").

mod app;
mod contract;
mod properties;

use crate::layout::{keccak256, Bytes32, CLAIMED_LENGTH, PAYEE, PAYER};
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, State,
};
use parley_plugin_api::{ErrorKind, PluginResult};

const OPEN: u8 = 0;
const CLAIMED: u8 = 1;
const RELEASED: u8 = 2;

fn preimage() -> Bytes32 {
    crate::sample_preimage()
}

fn lock() -> Bytes32 {
    keccak256(&preimage())
}

/// The app data of lock and status, without a preimage.
fn lock_data(lock: Bytes32, status: u8) -> Vec<u8> {
    [lock.as_slice(), &[status]].concat()
}

/// The app data of a claim.
fn claim_data(lock: Bytes32, preimage: Bytes32) -> Vec<u8> {
    let data = [lock.as_slice(), &[CLAIMED], preimage.as_slice()].concat();
    assert_eq!(data.len(), CLAIMED_LENGTH);
    data
}

fn params_of(players: usize) -> Params {
    Params {
        participants: (0..players)
            .map(|i| Participant(vec![i as u8 + 1; 20]))
            .collect(),
        challenge_duration: 60,
        nonce: [7; 32],
        app: Some(Address(vec![0xaa; 20])),
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn params() -> Params {
    params_of(2)
}

fn amounts(values: &[u64]) -> Vec<Amount> {
    values.iter().map(|v| Amount::from(*v)).collect()
}

/// The open state of the forge tests: version 1, two assets, nothing locked.
fn open() -> State {
    State {
        channel_id: ChannelId([9; 32]),
        version: 1,
        allocation: Allocation {
            assets: vec![
                Asset {
                    chain_id: 1,
                    holder: Address(vec![0xe1; 20]),
                },
                Asset {
                    chain_id: 1,
                    holder: Address(vec![0x70; 20]),
                },
            ],
            balances: vec![amounts(&[5, 2]), amounts(&[3, 0])],
            locked: Vec::new(),
        },
        app_data: Bytes(lock_data(lock(), OPEN)),
        is_final: false,
    }
}

/// The payee's valid claim from `from`, built by hand as the forge test's `_claim` does.
fn claim(from: &State) -> State {
    let mut to = from.clone();
    to.version = from.version + 1;
    to.app_data = Bytes(claim_data(lock(), preimage()));
    to.is_final = true;
    for row in &mut to.allocation.balances {
        row[PAYEE] = row[PAYER].checked_add(row[PAYEE]).unwrap();
        row[PAYER] = Amount::ZERO;
    }
    to
}

/// The payee's valid release from `from`, as the forge test's `_release`.
fn release(from: &State) -> State {
    let mut to = from.clone();
    to.version = from.version + 1;
    to.app_data = Bytes(lock_data(lock(), RELEASED));
    to.is_final = true;
    to
}

/// Expects `result` to fail as `kind` with exactly `reason`.
#[track_caller]
fn expect_error<T: std::fmt::Debug>(result: PluginResult<T>, kind: ErrorKind, reason: &str) {
    let error = result.expect_err("expected a refusal");
    assert_eq!(error.message(), reason);
    assert_eq!(error.kind, kind, "{reason}");
}
