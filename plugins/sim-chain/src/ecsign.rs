//! Recoverable ECDSA signing by libsecp256k1, through its C interface, with one context that
//! is randomised once.
//!
//! The `secp256k1` crate's safe signing re-randomises its context after every signature
//! (defence in depth against timing attacks on the context's blinding), which costs more than
//! the signature: about 43 us per signature here against k256's 28. Signing through the C
//! interface with a context of our own, blinded once from the operating system's randomness,
//! takes about 21 us, and a state is signed twice per off-chain update. Both implement
//! RFC 6979 nonces, so a signature is the same bytes whichever signs (the tests check it);
//! where libsecp256k1 refuses, the caller signs with k256 instead.

use secp256k1::ffi::{self, CPtr};
use secp256k1::{Secp256k1, SignOnly};
use std::sync::LazyLock;

/// The signing context: built once, blinded once, then only read. libsecp256k1 allows a
/// context to be used from many threads at once as long as nobody changes it.
static CONTEXT: LazyLock<Secp256k1<SignOnly>> = LazyLock::new(|| {
    let mut context = Secp256k1::signing_only();
    let mut seed = [0u8; 32];
    // Without randomness the context stays unblinded, which is how libsecp256k1 starts; the
    // signature itself does not depend on it.
    if getrandom::fill(&mut seed).is_ok() {
        context.seeded_randomize(&seed);
    }
    context
});

/// The signature of `digest` by `secret`: `r ‖ s` (low `s`) and the recovery id (0 or 1).
/// `None` if libsecp256k1 refuses the key (zero or not below the group order, which a k256
/// `SigningKey` never is).
pub(crate) fn sign_recoverable(secret: &[u8; 32], digest: &[u8; 32]) -> Option<([u8; 64], u8)> {
    let mut signature = ffi::recovery::RecoverableSignature::new();
    // SAFETY: the context is a live signing context (a static); `signature` is a writable
    // recoverable signature; `digest` and `secret` point at 32 readable bytes each, which is
    // all the function reads; a null nonce data with RFC 6979 is the documented default.
    let signed = unsafe {
        ffi::recovery::secp256k1_ecdsa_sign_recoverable(
            CONTEXT.ctx().as_ptr(),
            &mut signature,
            digest.as_c_ptr(),
            secret.as_c_ptr(),
            ffi::secp256k1_nonce_function_rfc6979,
            std::ptr::null(),
        )
    };
    if signed != 1 {
        return None;
    }
    let (recovery, bytes) =
        secp256k1::ecdsa::RecoverableSignature::from(signature).serialize_compact();
    Some((bytes, recovery.to_u8()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keccak256;
    use k256::ecdsa::SigningKey;

    #[test]
    fn signs_the_same_bytes_as_k256() {
        for i in 0u32..100 {
            let secret = keccak256(&[b"key", &i.to_be_bytes()]);
            let digest = keccak256(&[b"digest", &i.to_be_bytes()]);
            let key = SigningKey::from_slice(&secret).unwrap();
            let (reference, recovery) = key.sign_prehash_recoverable(&digest);
            let (ours, our_recovery) = sign_recoverable(&secret, &digest).unwrap();
            assert_eq!(ours[..], reference.to_bytes()[..], "key {i}");
            assert_eq!(our_recovery, recovery.to_byte(), "key {i}");
        }
    }

    #[test]
    fn a_key_outside_the_group_is_refused() {
        assert_eq!(sign_recoverable(&[0; 32], &[1; 32]), None);
        assert_eq!(sign_recoverable(&[0xff; 32], &[1; 32]), None);
    }
}
