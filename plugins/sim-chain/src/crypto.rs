//! Ethereum-style cryptography: secp256k1 keys, 20-byte addresses, 65-byte recoverable
//! signatures over the "Ethereum Signed Message" prefix, and the ids the Perun contracts derive
//! with keccak-256 (channel id, funding id, asset holder and app addresses).
//!
//! Where the contracts hash `abi.encode(..)`, the sim chain hashes the canonical encoding of
//! [`parley_plugin_api::codec`] instead: ids differ from Ethereum's, the rules do not.

use crate::ecrecover::recover_key;
use crate::ecsign::sign_recoverable;
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::sec1::ToSec1Point;
use k256::AffinePoint;
use parley_plugin_api::codec::Encode;
use parley_plugin_api::model::{
    Address, Amount, Asset, ChannelId, Params, Participant, Sig, State,
};
use tiny_keccak::{Hasher, Keccak};

/// Where a participant's deposit for one channel is kept: keccak256(channel id ‖ address).
pub type FundingId = [u8; 32];

/// Keccak-256 of the concatenation of `parts`.
pub fn keccak256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak::v256();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 32];
    hasher.finalize(&mut out);
    out
}

/// The channel id: keccak-256 of the canonical encoding of the parameters, so that equal
/// parameters (including the nonce) always name the same channel.
pub fn channel_id(params: &Params) -> ChannelId {
    ChannelId(keccak256(&[&params.encode()]))
}

/// The funding id of `participant` in `channel` (the asset holders' `calcFundingID`).
pub fn funding_id(channel: &ChannelId, participant: &Participant) -> FundingId {
    keccak256(&[&channel.0, participant.as_bytes()])
}

/// The first 20 bytes of keccak256(`text`): how the sim chain names its built-in contracts.
fn contract_address(text: &str) -> Address {
    Address(keccak256(&[text.as_bytes()])[..20].to_vec())
}

/// The asset holder address of the asset called `name`.
pub fn asset_holder(name: &str) -> Address {
    contract_address(&format!("parley-sim-asset:{name}"))
}

/// The address of the built-in app called `name`.
pub fn app_address(name: &str) -> Address {
    contract_address(&format!("parley-sim-app:{name}"))
}

/// The digest that is actually signed: keccak256("\x19Ethereum Signed Message:\n32" ‖ hash),
/// as `eth_sign` and the contracts' `ECDSA.toEthSignedMessageHash` do.
fn eth_signed(hash: [u8; 32]) -> [u8; 32] {
    keccak256(&[b"\x19Ethereum Signed Message:\n32", &hash])
}

/// The address of a public key: the last 20 bytes of keccak256 of the uncompressed point
/// without its 0x04 tag.
pub fn address_of(key: &VerifyingKey) -> Participant {
    address_of_point(key.as_affine())
}

fn address_of_point(point: &AffinePoint) -> Participant {
    let encoded = point.to_sec1_point(false);
    address_of_coordinates(&encoded.as_bytes()[1..])
}

/// The address of the public key with uncompressed coordinates `x ‖ y`.
fn address_of_coordinates(coordinates: &[u8]) -> Participant {
    let hash = keccak256(&[coordinates]);
    Participant(hash[12..].to_vec())
}

/// Signs `hash` (after the Ethereum prefix) as 65 bytes `r ‖ s ‖ v`, `v` in {27, 28}, low `s`.
///
/// libsecp256k1 signs (see `ecsign`: the same bytes as k256, in three quarters of the time);
/// k256 only if it refused the key, which a `SigningKey` never gives it reason to.
fn sign_hash(key: &SigningKey, hash: [u8; 32]) -> Sig {
    let digest = eth_signed(hash);
    let secret: [u8; 32] = key.to_bytes().into();
    let (rs, recovery) = sign_recoverable(&secret, &digest).unwrap_or_else(|| {
        let (signature, recovery) = key.sign_prehash_recoverable(&digest);
        (signature.to_bytes().into(), u8::from(recovery.is_y_odd()))
    });
    let mut bytes = Vec::with_capacity(65);
    bytes.extend_from_slice(&rs);
    bytes.push(27 + recovery);
    Sig(bytes)
}

/// The address that produced `sig` over `hash`, or `None` if the signature is malformed, has a
/// `v` other than 27/28, or a high `s` (refused like OpenZeppelin's `ECDSA.recover`).
///
/// This recovers the key (by libsecp256k1, see `ecrecover`) even when the caller only asks
/// "did address A sign?": a plain ECDSA verification against a cached key of A would be a
/// little cheaper (no square root to rebuild the nonce point R), but it ignores `v`, and it
/// accepts only A's one key where `ecrecover` accepts any key hashing to A, so it would not
/// accept exactly what the contracts accept.
fn recover_hash(hash: [u8; 32], sig: &Sig) -> Option<Participant> {
    let (rs, v) = sig.as_bytes().split_first_chunk::<64>()?;
    // k256 reads `s` for the high-`s` check; libsecp256k1 refuses the rest itself.
    let signature = Signature::from_slice(rs).ok()?;
    if v.len() != 1 || bool::from(signature.s().is_high()) {
        return None;
    }
    let y_is_odd = match v[0] {
        27 => false,
        28 => true,
        _ => return None,
    };
    recover_key(&eth_signed(hash), rs, y_is_odd).map(|key| address_of_coordinates(&key))
}

/// keccak256 of the state's canonical encoding: what a state signature covers.
fn state_hash(state: &State) -> [u8; 32] {
    keccak256(&[&state.encode()])
}

/// Signs a channel state.
pub fn sign_state(key: &SigningKey, state: &State) -> Sig {
    sign_hash(key, state_hash(state))
}

/// Who signed `state`, if `sig` is a well-formed signature on it.
pub fn state_signer(state: &State, sig: &Sig) -> Option<Participant> {
    recover_hash(state_hash(state), sig)
}

/// The asset holders' `WithdrawalAuth`: participant `participant` allows `amount` of its
/// holding of `asset` in `channel_id` to be paid to `receiver`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalAuth {
    /// The concluded channel.
    pub channel_id: ChannelId,
    /// Whose holding is paid out (and who must sign).
    pub participant: Participant,
    /// Who is paid.
    pub receiver: Participant,
    /// Which asset holder pays.
    pub asset: Asset,
    /// How much.
    pub amount: Amount,
}

parley_plugin_api::canonical_struct!(WithdrawalAuth {
    channel_id,
    participant,
    receiver,
    asset,
    amount
});

impl WithdrawalAuth {
    /// Signs the authorisation with the participant's key.
    pub fn sign(&self, key: &SigningKey) -> Sig {
        sign_hash(key, keccak256(&[&self.encode()]))
    }

    /// Who signed this authorisation, if `sig` is well formed.
    pub fn signer(&self, sig: &Sig) -> Option<Participant> {
        recover_hash(keccak256(&[&self.encode()]), sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_slice(&[byte; 32]).unwrap()
    }

    fn a_state() -> State {
        State {
            channel_id: ChannelId([3; 32]),
            version: 0,
            allocation: Default::default(),
            app_data: Default::default(),
            is_final: false,
        }
    }

    #[test]
    fn address_matches_a_known_ethereum_vector() {
        // The well-known test key 0x4c0883a6...; its address is published with Ethereum's
        // account tooling documentation.
        let secret =
            hex::decode("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
                .unwrap();
        let key = SigningKey::from_slice(&secret).unwrap();
        assert_eq!(
            hex::encode(address_of(key.verifying_key()).as_bytes()),
            "2c7536e3605d9c16a7a3d7b1898e529396a65c23"
        );
    }

    #[test]
    fn a_signature_recovers_its_signer_only() {
        let state = a_state();
        let sig = sign_state(&key(1), &state);
        assert_eq!(sig.as_bytes().len(), 65);
        assert!(matches!(sig.as_bytes()[64], 27 | 28));
        assert_eq!(
            state_signer(&state, &sig),
            Some(address_of(key(1).verifying_key()))
        );
        let mut other = state.clone();
        other.version = 1;
        assert_ne!(
            state_signer(&other, &sig),
            Some(address_of(key(1).verifying_key()))
        );
        let mut bad_v = sig.clone();
        bad_v.0[64] = 29;
        assert_eq!(state_signer(&state, &bad_v), None);
        assert_eq!(state_signer(&state, &Sig(vec![1, 2, 3])), None);
    }

    #[test]
    fn a_high_s_signature_is_refused() {
        let state = a_state();
        let sig = sign_state(&key(2), &state);
        let low = Signature::from_slice(&sig.as_bytes()[..64]).unwrap();
        let (r, s) = low.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        let mut bytes = high.to_bytes().to_vec();
        // The malleable twin (r, n - s) recovers the same key with the other parity.
        bytes.push(if sig.as_bytes()[64] == 27 { 28 } else { 27 });
        assert_eq!(state_signer(&state, &Sig(bytes)), None);
    }

    #[test]
    fn asset_holders_have_their_documented_addresses() {
        assert_eq!(
            asset_holder("ETH").to_string(),
            "0xe576c1489579b20b881dc7dbe3df71cb55ec58b8"
        );
        assert_eq!(
            asset_holder("TOK").to_string(),
            "0xe969426b6bdbdd4e89b30c5d4d7d408ed1bf83e2"
        );
    }

    #[test]
    fn funding_ids_differ_per_participant() {
        let channel = ChannelId([7; 32]);
        assert_ne!(
            funding_id(&channel, &Participant(vec![1; 20])),
            funding_id(&channel, &Participant(vec![2; 20]))
        );
    }
}
