//! What the protocol needs from the chain backend, as traits it is handed: channel ids,
//! signing our states and verifying the peer's signatures.
//!
//! All three are calls of the chain backend's fast half, [`ChainSigner`] (no I/O, never
//! blocking), which is why the sans-IO state machine may call them directly. Every
//! [`ChainSigner`] implements them; tests use in-memory fakes.

use parley_plugin_api::model::{ChannelId, Params, Participant, Sig, State};
use parley_plugin_api::ChainSigner;
use thiserror::Error;

/// The backend could not answer (a plugin error, an unknown account). Not a verdict on a
/// signature: a signature that does not verify is `Ok(false)`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("chain backend: {0}")]
pub struct BackendError(pub String);

/// Computes the channel id of a channel's parameters (a hash; equal params, equal ids).
pub trait ChannelIdFn {
    /// The id of the channel with `params`.
    fn derive_channel_id(&self, params: &Params) -> Result<ChannelId, BackendError>;
}

/// Signs states with one of our wallet accounts.
pub trait StateSigner {
    /// `account`'s signature on `state`. Must not block.
    fn sign(&self, account: &Participant, state: &State) -> Result<Sig, BackendError>;
}

/// Verifies participants' signatures on states.
pub trait StateVerifier {
    /// Whether `sig` is `participant`'s signature on `state`. A malformed signature is
    /// `Ok(false)`. Must not block.
    fn verify(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> Result<bool, BackendError>;
}

impl<C: ChainSigner + ?Sized> ChannelIdFn for C {
    fn derive_channel_id(&self, params: &Params) -> Result<ChannelId, BackendError> {
        self.channel_id(params)
            .map_err(|e| BackendError(e.to_string()))
    }
}

impl<C: ChainSigner + ?Sized> StateSigner for C {
    fn sign(&self, account: &Participant, state: &State) -> Result<Sig, BackendError> {
        self.sign_state(account, state)
            .map_err(|e| BackendError(e.to_string()))
    }
}

impl<C: ChainSigner + ?Sized> StateVerifier for C {
    fn verify(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> Result<bool, BackendError> {
        self.verify_state(state, sig, participant)
            .map_err(|e| BackendError(e.to_string()))
    }
}
