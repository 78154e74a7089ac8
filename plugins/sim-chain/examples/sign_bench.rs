//! Where the time of a state signature goes: bare k256 next to the sim chain's own
//! `sign_state` / `state_signer`, in one process so the figures are comparable. Not a test.
//!
//! `cargo run --release -p parley-plugin-sim-chain --example sign_bench [iterations]`

use k256::ecdsa::{SigningKey, VerifyingKey};
use parley_plugin_api::codec::Encode;
use parley_plugin_api::model::{Allocation, Amount, Asset, ChannelId, State};
use parley_sim_chain::crypto::{asset_holder, keccak256, sign_state, state_signer};
use std::hint::black_box;
use std::time::Instant;

/// Runs `body` `n` times in each of five rounds and prints the best round's mean time per run:
/// on a shared machine the best round is the one least disturbed by other processes.
fn time(label: &str, n: u32, mut body: impl FnMut()) {
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                body();
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min);
    println!("{label:<48} {best:>8.2} us");
}

/// The state `parley bench` signs: one asset, two balances, no app data.
fn bench_state() -> State {
    State {
        channel_id: ChannelId([1; 32]),
        version: 1,
        allocation: Allocation {
            assets: vec![Asset {
                chain_id: 1337,
                holder: asset_holder("ETH"),
            }],
            balances: vec![vec![Amount::from(5u64), Amount::from(7u64)]],
            locked: vec![],
        },
        app_data: Default::default(),
        is_final: false,
    }
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000);
    let key = SigningKey::from_slice(&[7; 32]).expect("a valid scalar");
    let public = *key.verifying_key();
    let state = bench_state();
    let digest = keccak256(&[&state.encode()]);

    time("state encode + keccak256", n * 20, || {
        black_box(keccak256(&[&black_box(&state).encode()]));
    });
    time("k256 sign_prehash_recoverable", n, || {
        black_box(key.sign_prehash_recoverable(black_box(&digest)));
    });
    let (signature, recovery) = key.sign_prehash_recoverable(&digest);
    time("k256 recover_from_prehash", n, || {
        black_box(
            VerifyingKey::recover_from_prehash(black_box(&digest), &signature, recovery).unwrap(),
        );
    });
    time("k256 verify_prehash", n, || {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        public
            .verify_prehash(black_box(&digest), &signature)
            .unwrap();
    });

    time("sim-chain sign_state", n, || {
        black_box(sign_state(&key, black_box(&state)));
    });
    let sig = sign_state(&key, &state);
    time("sim-chain state_signer", n, || {
        black_box(state_signer(black_box(&state), &sig).unwrap());
    });
}
