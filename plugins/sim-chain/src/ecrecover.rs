//! Ethereum's `ecrecover`: the public key that produced a signature, by libsecp256k1 (the
//! `secp256k1` crate), the C library Bitcoin Core verifies with.
//!
//! Recovery is on the path of every off-chain update, twice (each side checks the other's
//! signature), and libsecp256k1 does it in about 33 us here where k256 takes about 60 us
//! (`STACK-NOTES.md`). Everything recovery reads is public (the digest, `r`, `s`, the parity),
//! so its variable-time arithmetic leaks nothing. Signing is libsecp256k1's too, through
//! `ecsign`.
//!
//! It accepts and refuses exactly what k256's `VerifyingKey::recover_from_prehash` does (SEC 1
//! §4.1.6); the tests compare the two on many keys and on arbitrary signatures.

use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::Message;

/// The public key `Q` with the signature `rs` (`r ‖ s`, big-endian) valid for `prehash` under
/// `Q`, as its uncompressed coordinates `x ‖ y` (64 bytes, no SEC 1 tag), where `y_is_odd` is the parity of the
/// y-coordinate of the signature's nonce point `R` (Ethereum's `v - 27`).
///
/// `R`'s x-coordinate is `r` itself: Ethereum's `v` has no bit for the "x-reduced" case
/// (`R.x = r + n`), so neither does this. `None` when `r` is not the x-coordinate of a curve
/// point, or when the key would be the point at infinity; `ecrecover` fails on both.
pub(crate) fn recover_key(prehash: &[u8; 32], rs: &[u8; 64], y_is_odd: bool) -> Option<[u8; 64]> {
    let recovery = if y_is_odd {
        RecoveryId::One
    } else {
        RecoveryId::Zero
    };
    // `r` or `s` at or above the group order does not parse; zero ones recover nothing.
    let compact = RecoverableSignature::from_compact(rs, recovery).ok()?;
    let key = compact.recover_ecdsa(Message::from_digest(*prehash)).ok()?;
    let encoded = key.serialize_uncompressed();
    let mut coordinates = [0u8; 64];
    coordinates.copy_from_slice(&encoded[1..]);
    Some(coordinates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keccak256;
    use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
    use k256::elliptic_curve::ops::Reduce;
    use k256::elliptic_curve::point::AffineCoordinates;
    use k256::elliptic_curve::sec1::ToSec1Point;
    use k256::{AffinePoint, ProjectivePoint, Scalar, U256};

    fn coordinates(point: &AffinePoint) -> [u8; 64] {
        point.to_sec1_point(false).as_bytes()[1..]
            .try_into()
            .unwrap()
    }

    /// k256's own recovery, the reference this module must agree with.
    fn reference(prehash: &[u8; 32], signature: &Signature, y_is_odd: bool) -> Option<[u8; 64]> {
        VerifyingKey::recover_from_prehash(prehash, signature, RecoveryId::new(y_is_odd, false))
            .ok()
            .map(|key| coordinates(key.as_affine()))
    }

    fn agree(prehash: &[u8; 32], signature: &Signature) -> [Option<[u8; 64]>; 2] {
        [false, true].map(|y_is_odd| {
            let ours = recover_key(prehash, &signature.to_bytes().into(), y_is_odd);
            assert_eq!(
                ours,
                reference(prehash, signature, y_is_odd),
                "recovery differs from k256 for digest {} signature {signature:?} y_is_odd {y_is_odd}",
                hex::encode(prehash)
            );
            ours
        })
    }

    #[test]
    fn recovers_the_signer_with_the_right_parity_like_k256() {
        for i in 0u32..64 {
            let key = SigningKey::from_slice(&keccak256(&[b"key", &i.to_be_bytes()])).unwrap();
            let prehash = keccak256(&[b"message", &i.to_be_bytes()]);
            let (signature, recovery) = key.sign_prehash_recoverable(&prehash);
            let recovered = agree(&prehash, &signature);
            let parity = usize::from(recovery.is_y_odd());
            assert_eq!(
                recovered[parity],
                Some(coordinates(key.verifying_key().as_affine()))
            );
            // The other parity names a valid point too, but a different key.
            assert!(recovered[1 - parity].is_some());
            assert_ne!(recovered[1 - parity], recovered[parity]);
        }
    }

    #[test]
    fn arbitrary_signatures_are_recovered_or_refused_like_k256() {
        let (mut recovered, mut refused) = (0, 0);
        for i in 0u32..128 {
            let r = keccak256(&[b"r", &i.to_be_bytes()]);
            let s = keccak256(&[b"s", &i.to_be_bytes()]);
            let prehash = keccak256(&[b"digest", &i.to_be_bytes()]);
            let Ok(signature) = Signature::from_scalars(r, s) else {
                continue;
            };
            for key in agree(&prehash, &signature) {
                if key.is_some() {
                    recovered += 1;
                } else {
                    refused += 1;
                }
            }
        }
        // About half of all `r` are not the x-coordinate of a curve point: both outcomes must
        // have been exercised for this test to mean anything.
        assert!(
            recovered > 50 && refused > 50,
            "{recovered} recovered, {refused} refused"
        );
    }

    #[test]
    fn a_signature_that_recovers_the_point_at_infinity_is_refused_like_k256() {
        // With R = t·G and z = t·s, Q = r⁻¹·(s·R − z·G) is the point at infinity.
        let t = <Scalar as Reduce<U256>>::reduce(&U256::from_be_slice(&keccak256(&[b"t"])));
        let s = <Scalar as Reduce<U256>>::reduce(&U256::from_be_slice(&keccak256(&[b"s"])));
        let nonce_point = (ProjectivePoint::GENERATOR * t).to_affine();
        let r = <Scalar as Reduce<U256>>::reduce(&U256::from_be_slice(&nonce_point.x()));
        // R.x < n for this t, so r is R.x itself and parity alone picks R.
        assert_eq!(r.to_bytes(), nonce_point.x());
        let signature = Signature::from_scalars(r.to_bytes(), s.to_bytes()).unwrap();
        let prehash: [u8; 32] = (t * s).to_bytes().into();
        let y_is_odd = bool::from(nonce_point.y_is_odd());
        assert_eq!(
            recover_key(&prehash, &signature.to_bytes().into(), y_is_odd),
            None
        );
        assert_eq!(reference(&prehash, &signature, y_is_odd), None);
    }
}
