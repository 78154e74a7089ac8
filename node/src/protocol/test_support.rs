//! Shared test helpers: proptest strategies for the data model and an in-memory signer.

use super::signer::{BackendError, ChannelIdFn, StateSigner, StateVerifier};
use parley_plugin_api::codec::Encode;
use parley_plugin_api::model::{ChannelId, Params, Participant, Sig, State};

pub use crate::hash::keccak256 as keccak;

/// A deterministic fake of the chain backend's crypto. Each participant's "key" is a secret
/// seed; its address is the first 20 bytes of keccak(seed); a signature is
/// keccak(seed ‖ encoding of the state). The verifier knows every seed, so it can recompute
/// signatures; a party without a seed cannot produce one. Channel ids are keccak(params).
#[derive(Clone, Debug)]
pub struct FakeCrypto {
    seeds: Vec<[u8; 32]>,
}

impl FakeCrypto {
    /// Keys for `n` participants.
    pub fn new(n: u8) -> Self {
        FakeCrypto {
            seeds: (0..n).map(|i| keccak(&[b"seed", &[i]])).collect(),
        }
    }

    pub fn participant(&self, index: usize) -> Participant {
        Participant(keccak(&[&self.seeds[index]])[..20].to_vec())
    }

    fn seed_of(&self, who: &Participant) -> Option<&[u8; 32]> {
        (0..self.seeds.len())
            .find(|&i| self.participant(i) == *who)
            .map(|i| &self.seeds[i])
    }

    pub fn sign_as(&self, index: usize, state: &State) -> Sig {
        Sig(keccak(&[&self.seeds[index], &state.encode()]).to_vec())
    }
}

impl StateSigner for FakeCrypto {
    fn sign(&self, account: &Participant, state: &State) -> Result<Sig, BackendError> {
        let seed = self
            .seed_of(account)
            .ok_or_else(|| BackendError(format!("no key for {account}")))?;
        Ok(Sig(keccak(&[seed, &state.encode()]).to_vec()))
    }
}

impl StateVerifier for FakeCrypto {
    fn verify(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> Result<bool, BackendError> {
        Ok(self
            .seed_of(participant)
            .is_some_and(|seed| sig.0 == keccak(&[seed, &state.encode()])))
    }
}

impl ChannelIdFn for FakeCrypto {
    fn derive_channel_id(&self, params: &Params) -> Result<ChannelId, BackendError> {
        Ok(ChannelId(keccak(&[&params.encode()])))
    }
}

/// Proptest strategies for the data model.
pub mod strategies {
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::{
        Address, Allocation, Amount, Asset, ChannelId, Sig, State, SubAlloc,
    };
    use proptest::collection::vec;
    use proptest::prelude::*;

    pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..max)
    }

    pub fn amount() -> impl Strategy<Value = Amount> {
        prop_oneof![
            any::<u64>().prop_map(Amount::from),
            any::<[u8; 32]>().prop_map(Amount::from_be_bytes),
        ]
    }

    pub fn asset() -> impl Strategy<Value = Asset> {
        (any::<u64>(), bytes(24)).prop_map(|(chain_id, holder)| Asset {
            chain_id,
            holder: Address(holder),
        })
    }

    pub fn channel_id() -> impl Strategy<Value = ChannelId> {
        any::<[u8; 32]>().prop_map(ChannelId)
    }

    pub fn sig() -> impl Strategy<Value = Sig> {
        bytes(70).prop_map(Sig)
    }

    pub fn sub_alloc() -> impl Strategy<Value = SubAlloc> {
        (channel_id(), vec(amount(), 0..3), vec(any::<u16>(), 0..3)).prop_map(
            |(id, balances, index_map)| SubAlloc {
                id,
                balances,
                index_map,
            },
        )
    }

    /// Any state, well formed or not (for encodings).
    pub fn state() -> impl Strategy<Value = State> {
        (
            channel_id(),
            any::<u64>(),
            vec(asset(), 0..3),
            vec(vec(amount(), 0..3), 0..3),
            vec(sub_alloc(), 0..2),
            bytes(16),
            any::<bool>(),
        )
            .prop_map(
                |(channel_id, version, assets, balances, locked, app_data, is_final)| State {
                    channel_id,
                    version,
                    allocation: Allocation {
                        assets,
                        balances,
                        locked,
                    },
                    app_data: Bytes(app_data),
                    is_final,
                },
            )
    }
}
