//! The deployer's key file: one secp256k1 secret key as 64 hex digits (an optional `0x` and
//! surrounding whitespace allowed), readable by its owner only — the format and the check of
//! the Ethereum plugin's `key_file`. Errors say what is wrong with the file and how to fix it,
//! never what is in it.

use crate::hash::keccak256;
use crate::secret_file::exposed_mode;
use ethers_core::types::H160;
use k256::ecdsa::SigningKey;
use k256::elliptic_curve::sec1::ToSec1Point;
use std::path::Path;

/// Reads the key in `path`; the error is one sentence for the user.
pub fn read_key_file(path: &Path) -> Result<SigningKey, String> {
    let shown = path.display();
    let unreadable = |e: std::io::Error| {
        format!(
            "--key {shown}: cannot read it ({e}); name a file holding the deployer's secret key \
             as 64 hex digits, mode 0600"
        )
    };
    if let Some(mode) = exposed_mode(path).map_err(unreadable)? {
        return Err(format!(
            "--key {shown} can be read by other users (mode {mode:o}); a secret key must be \
             readable by its owner only: run `chmod 600 {shown}`"
        ));
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
                "--key {shown} does not hold a secp256k1 secret key as 64 hex digits (it must \
                 contain only the key, optionally with 0x)"
            )
        })
}

/// The Ethereum address of `key`: the last 20 bytes of keccak256 of the uncompressed public
/// point without its 0x04 tag.
pub fn address_of(key: &SigningKey) -> H160 {
    let point = key.verifying_key().as_affine().to_sec1_point(false);
    H160::from_slice(&keccak256(&[&point.as_bytes()[1..]])[12..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// anvil's (and hardhat's) first development account.
    const SECRET: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn write(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join("deployer.key");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_good_file_gives_the_known_address() {
        let dir = tempfile::tempdir().unwrap();
        let key = read_key_file(&write(dir.path(), &format!("0x{SECRET}\n"), 0o600)).unwrap();
        assert_eq!(
            format!("{:?}", address_of(&key)),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
    }

    #[test]
    fn bad_files_are_explained_without_their_contents() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_key_file(&dir.path().join("nope")).unwrap_err();
        assert!(missing.contains("cannot read it"), "{missing}");

        let open = read_key_file(&write(dir.path(), SECRET, 0o644)).unwrap_err();
        assert!(open.contains("chmod 600"), "{open}");
        assert!(open.contains("644"), "{open}");
        assert!(!open.contains(&SECRET[..12]), "{open}");

        let short = read_key_file(&write(dir.path(), "0xdeadbeefsecretish", 0o600)).unwrap_err();
        assert!(short.contains("64 hex digits"), "{short}");
        assert!(!short.contains("secretish"), "{short}");

        let zero = read_key_file(&write(dir.path(), &"0".repeat(64), 0o600)).unwrap_err();
        assert!(zero.contains("64 hex digits"), "{zero}");
    }
}
