//! # parley-plugin-hashlock
//!
//! Parley's hash-lock app: a two-party hash-locked conditional payment, the off-chain twin of
//! `contracts/src/HashLockApp.sol`, rule for rule. Participant 0 is the payer, participant 1
//! the payee; the payment is whatever the payer's balances hold, in every asset, when the
//! channel opens. The payee gave the payer the lock H = keccak256(preimage) out of band (as
//! with a Lightning invoice) and either claims, revealing the preimage and taking the payer's
//! balances, or releases, leaving the balances as they are. Both moves are final; the payer
//! has no move. If the payee never moves, the payer gets its money back by disputing the open
//! state (the challenge duration is the payee's deadline).
//!
//! - [`layout`]: the app data (lock, status byte, preimage when claimed) and keccak256.
//! - [`rules`]: `validTransition` check for check, with the contract's reasons, and what an
//!   opening state needs.
//! - [`HashLockApp`]: the [`parley_plugin_api::App`] the plugin exports, with the JSON people
//!   move with: setup `{"lock": "0x…"}`, actions `{"claim": "0x<preimage>"}` and
//!   `{"release": true}`.
//!
//! Refusals are `Rejected` with the contract's revert reason ("hash-lock: only the payee
//! moves"); app data that does not follow the layout, and JSON of another form, are
//! `InvalidArgument`.
//!
//! What it is not: it knows nothing of the chain or of how a channel is funded; the node checks
//! everything app-independent (versions, assets, totals, signatures) before it asks.

mod app;
mod json;
pub mod layout;
pub mod rules;

pub use app::{sample_preimage, HashLockApp};

parley_plugin_api::export_plugin! {
    kind: App,
    name: "hashlock",
    description: "A hash-locked conditional payment: the payee claims the payer's balances with the preimage of a keccak256 lock, or releases them (contracts/src/HashLockApp.sol)",
    new: HashLockApp::new,
}

#[cfg(test)]
mod tests;
