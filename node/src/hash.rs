//! Keccak-256, the one hash of the node (handshake digests, channel nonces), as on Ethereum.

use tiny_keccak::{Hasher, Keccak};

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

#[cfg(test)]
mod tests {
    #[test]
    fn is_keccak_not_sha3() {
        assert_eq!(
            hex::encode(super::keccak256(&[])),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            super::keccak256(&[b"ab", b"c"]),
            super::keccak256(&[b"abc"])
        );
    }
}
