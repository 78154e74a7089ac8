//! Signatures as the contracts check them: secp256k1 (k256 0.14, the fast one; ethers' own
//! signer uses 0.13, 2-3x slower on this path), 65 bytes `r ‖ s ‖ v` over
//! keccak256("\x19Ethereum Signed Message:\n32" ‖ hash), `v` in {27, 28}, low `s`; and the
//! key files the keys come from. Recovery, on the path of every off-chain update, is
//! libsecp256k1's (the `secp256k1` crate: about 33 us against k256's 60 us); it reads only
//! public inputs, and it accepts exactly what k256's `recover_from_prehash` accepts.

use crate::abi::keccak256;
use ethers_core::types::H160;
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::sec1::ToSec1Point;
use parley_plugin_api::model::{Participant, Sig};
use std::path::Path;

/// keccak256("\x19Ethereum Signed Message:\n32" ‖ hash), as OpenZeppelin's
/// `toEthSignedMessageHash` and `eth_sign`.
pub fn eth_signed(hash: [u8; 32]) -> [u8; 32] {
    keccak256(&[b"\x19Ethereum Signed Message:\n32", &hash])
}

/// The account address of a public key: the last 20 bytes of keccak256 of the uncompressed
/// point without its 0x04 tag.
pub fn account_address(key: &VerifyingKey) -> H160 {
    let point = key.as_affine().to_sec1_point(false);
    H160::from_slice(&keccak256(&[&point.as_bytes()[1..]])[12..])
}

/// The account address of a public key as a channel participant.
pub fn address_of(key: &VerifyingKey) -> Participant {
    Participant(account_address(key).as_bytes().to_vec())
}

/// Reads a secret key file: 64 hex digits (optionally `0x`, surrounded by whitespace),
/// readable by its owner only. The error is a sentence that starts with the path and says
/// what is wrong with the file and how to fix it, never what is in it.
pub fn read_key_file(path: &Path) -> Result<SigningKey, String> {
    let shown = path.display();
    let unreadable = |e: std::io::Error| {
        format!(
            "{shown}: cannot read it ({e}); name a file holding a secret key as 64 hex digits, \
             mode 0600"
        )
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(unreadable)?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{shown} can be read by other users (mode {mode:o}); a secret key must be \
                 readable by its owner only: run `chmod 600 {shown}`"
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    hex::decode(digits)
        .ok()
        .filter(|bytes| bytes.len() == 32)
        .and_then(|bytes| SigningKey::from_slice(&bytes).ok())
        .ok_or_else(|| {
            format!(
                "{shown} does not hold a secp256k1 secret key as 64 hex digits (it must contain \
                 only the key, optionally with 0x)"
            )
        })
}

/// Signs a raw 32-byte digest: `(r ‖ s, recovery id 0/1)`, `s` low (k256 normalises it).
pub fn sign_digest(key: &SigningKey, digest: &[u8; 32]) -> ([u8; 64], u8) {
    let (signature, recovery) = key.sign_prehash_recoverable(digest);
    let mut rs = [0u8; 64];
    rs.copy_from_slice(&signature.to_bytes());
    (rs, u8::from(recovery.is_y_odd()))
}

/// Signs `hash` with the Ethereum message prefix, as the contracts verify it.
pub fn sign_message(key: &SigningKey, hash: [u8; 32]) -> Sig {
    let (rs, recovery) = sign_digest(key, &eth_signed(hash));
    let mut bytes = rs.to_vec();
    bytes.push(27 + recovery);
    Sig(bytes)
}

/// Who signed `hash` (with the message prefix), or `None` for a malformed signature: not 65
/// bytes, `v` not 27/28, high `s` (OpenZeppelin's `ECDSA.recover` refuses those too).
pub fn message_signer(hash: [u8; 32], sig: &Sig) -> Option<Participant> {
    let bytes = sig.as_bytes();
    if bytes.len() != 65 {
        return None;
    }
    // k256 reads `s` for the high-`s` check; libsecp256k1 refuses the rest itself.
    let signature = Signature::from_slice(&bytes[..64]).ok()?;
    if bool::from(signature.s().is_high()) {
        return None;
    }
    let recovery = match bytes[64] {
        27 => secp256k1::ecdsa::RecoveryId::Zero,
        28 => secp256k1::ecdsa::RecoveryId::One,
        _ => return None,
    };
    // `r` or `s` at or above the group order does not parse; zero ones recover nothing.
    let compact =
        secp256k1::ecdsa::RecoverableSignature::from_compact(&bytes[..64], recovery).ok()?;
    let key = compact
        .recover_ecdsa(secp256k1::Message::from_digest(eth_signed(hash)))
        .ok()?;
    let hash = keccak256(&[&key.serialize_uncompressed()[1..]]);
    Some(Participant(hash[12..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::RecoveryId;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn address_matches_a_known_ethereum_vector() {
        // anvil's (and hardhat's) first development account.
        let secret =
            hex::decode("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
                .unwrap();
        let key = SigningKey::from_slice(&secret).unwrap();
        assert_eq!(
            hex::encode(address_of(key.verifying_key()).as_bytes()),
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
    }

    #[test]
    fn a_message_signature_recovers_its_signer_only() {
        let hash = keccak256(&[b"state"]);
        let sig = sign_message(&key(1), hash);
        assert_eq!(sig.as_bytes().len(), 65);
        assert!(matches!(sig.as_bytes()[64], 27 | 28));
        let signer = address_of(key(1).verifying_key());
        assert_eq!(message_signer(hash, &sig), Some(signer.clone()));
        assert_ne!(message_signer(keccak256(&[b"other"]), &sig), Some(signer));
        let mut bad_v = sig.clone();
        bad_v.0[64] = 1;
        assert_eq!(message_signer(hash, &bad_v), None);
        assert_eq!(message_signer(hash, &Sig(vec![0; 64])), None);
    }

    /// k256's recovery, the reference libsecp256k1's must agree with.
    fn reference(hash: [u8; 32], sig: &Sig) -> Option<Participant> {
        let bytes = sig.as_bytes();
        let signature = Signature::from_slice(&bytes[..64]).ok()?;
        if bool::from(signature.s().is_high()) {
            return None;
        }
        let recovery = RecoveryId::new(bytes[64] == 28, false);
        VerifyingKey::recover_from_prehash(&eth_signed(hash), &signature, recovery)
            .ok()
            .map(|key| address_of(&key))
    }

    #[test]
    fn recovery_agrees_with_k256_on_real_and_arbitrary_signatures() {
        let (mut recovered, mut refused) = (0, 0);
        for i in 0u32..64 {
            let hash = keccak256(&[b"message", &i.to_be_bytes()]);
            let real = sign_message(&key(i as u8 + 1), hash);
            assert_eq!(
                message_signer(hash, &real),
                Some(address_of(key(i as u8 + 1).verifying_key()))
            );
            let mut arbitrary = keccak256(&[b"r", &i.to_be_bytes()]).to_vec();
            arbitrary.extend(keccak256(&[b"s", &i.to_be_bytes()]));
            for v in [27, 28] {
                let mut bytes = arbitrary.clone();
                bytes.push(v);
                let sig = Sig(bytes);
                let ours = message_signer(hash, &sig);
                assert_eq!(
                    ours,
                    reference(hash, &sig),
                    "signature {}",
                    hex::encode(&sig.0)
                );
                if ours.is_some() {
                    recovered += 1;
                } else {
                    refused += 1;
                }
            }
        }
        // About half of all `r` are no curve point's x, and half of all `s` are high.
        assert!(
            recovered > 10 && refused > 10,
            "{recovered} recovered, {refused} refused"
        );
    }

    #[test]
    fn a_high_s_twin_is_refused() {
        let hash = keccak256(&[b"state"]);
        let sig = sign_message(&key(2), hash);
        let low = Signature::from_slice(&sig.as_bytes()[..64]).unwrap();
        let (r, s) = low.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        let mut bytes = high.to_bytes().to_vec();
        bytes.push(if sig.as_bytes()[64] == 27 { 28 } else { 27 });
        assert_eq!(message_signer(hash, &Sig(bytes)), None);
    }

    fn write(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("deployer.key");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_key_file_gives_its_account() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let key = read_key_file(&write(dir.path(), &format!(" 0x{secret}\n"), 0o600)).unwrap();
        assert_eq!(
            format!("{:?}", account_address(key.verifying_key())),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
    }

    #[test]
    fn bad_key_files_are_explained_without_their_contents() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "ab".repeat(32);
        let missing = read_key_file(&dir.path().join("nope")).unwrap_err();
        assert!(missing.contains("nope: cannot read it"), "{missing}");

        let open = read_key_file(&write(dir.path(), &secret, 0o644)).unwrap_err();
        assert!(
            open.contains("can be read by other users (mode 644)"),
            "{open}"
        );
        assert!(open.contains("chmod 600"), "{open}");
        assert!(!open.contains(&secret[..12]), "{open}");

        let short = read_key_file(&write(dir.path(), "0xdeadbeefsecretish", 0o600)).unwrap_err();
        assert!(short.contains("64 hex digits"), "{short}");
        assert!(!short.contains("secretish"), "{short}");

        // The zero scalar is not a key.
        let zero = read_key_file(&write(dir.path(), &"0".repeat(64), 0o600)).unwrap_err();
        assert!(zero.contains("64 hex digits"), "{zero}");
    }

    #[test]
    fn the_prefixed_digest_matches_a_known_vector() {
        // eth_sign of keccak256("") as computed by every Ethereum library:
        // keccak256("\x19Ethereum Signed Message:\n32" ‖ c5d2...a470).
        let empty = keccak256(&[]);
        assert_eq!(
            hex::encode(empty),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        let mut expected = b"\x19Ethereum Signed Message:\n32".to_vec();
        expected.extend_from_slice(&empty);
        assert_eq!(eth_signed(empty), keccak256(&[&expected]));
    }
}
