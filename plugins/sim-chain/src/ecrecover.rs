//! Ethereum's `ecrecover`: the public key that produced a signature, computed in variable time.
//!
//! Everything recovery reads is public (the digest, `r`, `s`, the parity byte), so nothing
//! secret can leak through timing. That lets it use the variable-time inversions of k256, which
//! k256's own `VerifyingKey::recover_from_prehash` does not (it inverts `r` and normalises the
//! result point in constant time, since it cannot know its inputs are public): about 7 us of its
//! 70 us on the development VM, on a path every off-chain update takes twice.
//!
//! The arithmetic is otherwise step for step that of `recover_from_prehash` (SEC 1 §4.1.6), and
//! it accepts and refuses exactly the same inputs; the tests compare the two on many keys.

use k256::ecdsa::Signature;
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::{MulByGeneratorVartime, Reduce};
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::BatchNormalize;
use k256::{AffinePoint, ProjectivePoint, Scalar, U256};

/// The public key `Q` with `signature` valid for `prehash` under `Q`, where `y_is_odd` is the
/// parity of the y-coordinate of the signature's nonce point `R` (Ethereum's `v - 27`).
///
/// `R`'s x-coordinate is `r` itself: Ethereum's `v` has no bit for the "x-reduced" case
/// (`R.x = r + n`), so neither does this. `None` when `r` is not the x-coordinate of a curve
/// point, or when the key would be the point at infinity; `ecrecover` fails on both.
pub(crate) fn recover_key(
    prehash: &[u8; 32],
    signature: &Signature,
    y_is_odd: bool,
) -> Option<AffinePoint> {
    let (r, s): (Scalar, Scalar) = (*signature.r(), *signature.s());
    // The digest as a scalar: the 32 bytes big-endian, reduced mod n (ECDSA's bits2int for a
    // 256-bit curve order).
    let z = <Scalar as Reduce<U256>>::reduce(&U256::from_be_slice(prehash));
    let nonce_point =
        AffinePoint::decompress(&r.to_bytes(), u8::from(y_is_odd).into()).into_option()?;
    // Never `None`: a `Signature` never holds a zero scalar.
    let r_inv = r.invert_vartime().into_option()?;
    // Q = r⁻¹·(s·R − z·G)
    let u1 = -(r_inv * z);
    let u2 = r_inv * s;
    let key = ProjectivePoint::mul_by_generator_and_mul_add_vartime(&u1, &u2, &nonce_point.into());
    if bool::from(key.is_identity()) {
        return None;
    }
    // A batch of one: k256's only public variable-time conversion to affine coordinates.
    let [affine] = ProjectivePoint::batch_normalize_vartime(&[key]);
    Some(affine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keccak256;
    use k256::ecdsa::{RecoveryId, SigningKey, VerifyingKey};
    use k256::elliptic_curve::point::AffineCoordinates;

    /// k256's own recovery, the reference this module must agree with.
    fn reference(prehash: &[u8; 32], signature: &Signature, y_is_odd: bool) -> Option<AffinePoint> {
        VerifyingKey::recover_from_prehash(prehash, signature, RecoveryId::new(y_is_odd, false))
            .ok()
            .map(|key| *key.as_affine())
    }

    fn agree(prehash: &[u8; 32], signature: &Signature) -> [Option<AffinePoint>; 2] {
        [false, true].map(|y_is_odd| {
            let ours = recover_key(prehash, signature, y_is_odd);
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
            assert_eq!(recovered[parity], Some(*key.verifying_key().as_affine()));
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
        assert_eq!(recover_key(&prehash, &signature, y_is_odd), None);
        assert_eq!(reference(&prehash, &signature, y_is_odd), None);
    }
}
