//! The node's own identity: a secp256k1 key that names the node to its peers.
//!
//! The node key is distinct from any chain account: it only authenticates connections (the
//! handshake signs with it) and is never used for states or transactions. A [`NodeId`] is the
//! 33-byte compressed public key, which is also how peers are written in `node.toml` and on the
//! CLI (hex).
//!
//! This is the one file of `wire` that touches the disk and the OS random source: loading and
//! creating the key file. Everything else in `wire` is sans-IO.

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use parley_plugin_api::codec::{parse_hex, Decode, DecodeError, Encode, Reader};
use std::fmt;
use std::fs;
use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use crate::hash::keccak256;

/// 32 bytes from the OS random source, for a handshake nonce.
pub fn fresh_nonce() -> Result<[u8; 32], KeyError> {
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(nonce)
}

/// The random name of one run of a node: drawn once when its peer manager starts, and the first
/// half of every handshake nonce it sends (the second half is fresh for each connection, so a
/// nonce is still never reused). The handshake signs both nonces, so a peer learns the
/// incarnation of the node it authenticated, and one that changed proves the node restarted:
/// every connection of the earlier incarnation died with that process.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Incarnation(pub [u8; 16]);

impl Incarnation {
    /// A new incarnation from the OS random source.
    pub fn random() -> Result<Incarnation, KeyError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Incarnation(bytes))
    }

    /// A handshake nonce of this incarnation: the incarnation, then 16 fresh random bytes.
    pub fn nonce(&self) -> Result<[u8; 32], KeyError> {
        let mut nonce = fresh_nonce()?;
        nonce[..16].copy_from_slice(&self.0);
        Ok(nonce)
    }

    /// The incarnation a handshake nonce belongs to: its first 16 bytes.
    pub fn of_nonce(nonce: &[u8; 32]) -> Incarnation {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&nonce[..16]);
        Incarnation(bytes)
    }
}

impl fmt::Debug for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Incarnation({})", hex::encode(self.0))
    }
}

/// Why a node key could not be made, read or written.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The OS random source failed.
    #[error("the OS random source failed: {0}")]
    Random(String),
    /// 32 bytes that are not a valid secp256k1 secret (zero, or not below the group order).
    #[error("32 bytes that are not a valid secp256k1 secret key")]
    InvalidSecret,
    /// The key file could not be read.
    #[error("cannot read node key file {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file could not be created or written.
    #[error("cannot write node key file {path}: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file does not hold a secret key as 64 hex digits.
    #[error(
        "node key file {path} does not hold a secp256k1 secret key as 64 hex digits; \
         restore it from a backup, or delete it to get a new node identity"
    )]
    Malformed {
        /// The key file.
        path: PathBuf,
    },
    /// The key file may be read by users other than its owner.
    #[error(
        "node key file {path} is readable by group or others (mode {mode:03o}); \
         run `chmod 600 {path}`"
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// The file's permission bits.
        mode: u32,
    },
}

/// The node's secret key. `Debug` never shows the secret, and the secret is zeroed on drop.
#[derive(Clone)]
pub struct NodeKey {
    secret: SigningKey,
    id: NodeId,
}

impl NodeKey {
    /// A fresh random key.
    pub fn generate() -> Result<NodeKey, KeyError> {
        // A random 32-byte string is a valid scalar except with probability ~2^-128.
        loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
            if let Ok(key) = NodeKey::from_secret_bytes(&secret) {
                return Ok(key);
            }
        }
    }

    /// The key with this 32-byte big-endian secret scalar.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<NodeKey, KeyError> {
        let secret = SigningKey::from_slice(secret).map_err(|_| KeyError::InvalidSecret)?;
        let id = NodeId::of(secret.verifying_key());
        Ok(NodeKey { secret, id })
    }

    /// Reads the key at `path`, which must exist, hold 64 hex digits (optionally `0x`-prefixed
    /// and followed by a newline), and be readable by its owner only.
    pub fn load(path: &Path) -> Result<NodeKey, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        check_private(path)?;
        let digits = text.trim();
        let digits = digits.strip_prefix("0x").unwrap_or(digits);
        let malformed = || KeyError::Malformed {
            path: path.to_owned(),
        };
        let bytes = hex::decode(digits).map_err(|_| malformed())?;
        let secret: [u8; 32] = bytes.try_into().map_err(|_| malformed())?;
        NodeKey::from_secret_bytes(&secret).map_err(|_| malformed())
    }

    /// Reads the key at `path`, or creates it (mode 0600, parent directories as needed) with a
    /// fresh random key if there is no file. Creation never overwrites: if another process
    /// creates the file first, its key is read instead.
    pub fn load_or_create(path: &Path) -> Result<NodeKey, KeyError> {
        match NodeKey::load(path) {
            Err(KeyError::Read { source, .. }) if source.kind() == IoErrorKind::NotFound => {}
            other => return other,
        }
        let key = NodeKey::generate()?;
        let text = format!("{}\n", hex::encode(key.secret.to_bytes()));
        match crate::secret_file::create_private(path, text.as_bytes()) {
            Ok(true) => Ok(key),
            Ok(false) => NodeKey::load(path),
            Err(source) => Err(KeyError::Write {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// This node's public identity.
    pub fn node_id(&self) -> NodeId {
        self.id
    }

    /// Signs a 32-byte digest (the caller hashes, with a domain tag, see [`keccak256`]).
    /// Signatures are deterministic (RFC 6979) and have a low `s`.
    pub fn sign(&self, digest: &[u8; 32]) -> NodeSig {
        // The recoverable variant is infallible for a 32-byte prehash; the recovery id is not
        // needed because the verifier always knows the signer's NodeId.
        let (signature, _) = self.secret.sign_prehash_recoverable(digest);
        NodeSig(signature.to_bytes().into())
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("node_id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn check_private(path: &Path) -> Result<(), KeyError> {
    match crate::secret_file::exposed_mode(path) {
        Ok(None) => Ok(()),
        Ok(Some(mode)) => Err(KeyError::TooOpen {
            path: path.to_owned(),
            mode,
        }),
        Err(source) => Err(KeyError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Why text or bytes are not a node id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeIdError {
    /// The text is not hex.
    #[error("{0}")]
    NotHex(String),
    /// Not 33 bytes.
    #[error("a node id has 33 bytes (a compressed secp256k1 public key), this one has {0}")]
    WrongLength(usize),
    /// 33 bytes that are not a compressed point on secp256k1.
    #[error("not a compressed secp256k1 public key")]
    NotAPublicKey,
}

/// A node's public identity: its node key's compressed secp256k1 public key (33 bytes).
///
/// Invariant: the bytes are always a valid compressed point; every constructor checks it, so a
/// `NodeId` decoded from a peer can be used to verify signatures without further checks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 33]);

impl NodeId {
    fn of(key: &VerifyingKey) -> NodeId {
        let point = key.to_sec1_point(true);
        let mut bytes = [0u8; 33];
        bytes.copy_from_slice(point.as_bytes());
        NodeId(bytes)
    }

    /// The id with these bytes, if they are a compressed secp256k1 public key.
    pub fn from_bytes(bytes: [u8; 33]) -> Result<NodeId, NodeIdError> {
        // Only the compressed form (tag 2 or 3) is accepted, so each key has one NodeId.
        if !matches!(bytes[0], 2 | 3) {
            return Err(NodeIdError::NotAPublicKey);
        }
        VerifyingKey::from_sec1_bytes(&bytes).map_err(|_| NodeIdError::NotAPublicKey)?;
        Ok(NodeId(bytes))
    }

    /// The 33 bytes.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// Whether `sig` is this node's signature on `digest`. High-`s` signatures are refused, so
    /// a signature cannot be altered into another valid one.
    #[must_use]
    pub fn verify(&self, digest: &[u8; 32], sig: &NodeSig) -> bool {
        let Ok(key) = VerifyingKey::from_sec1_bytes(&self.0) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&sig.0) else {
            return false;
        };
        key.verify_prehash(digest, &signature).is_ok()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId(0x{})", hex::encode(self.0))
    }
}

impl std::str::FromStr for NodeId {
    type Err = NodeIdError;
    /// Parses 66 hex digits, with or without a `0x` prefix.
    fn from_str(text: &str) -> Result<NodeId, NodeIdError> {
        let bytes = parse_hex(text).map_err(NodeIdError::NotHex)?;
        let array: [u8; 33] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| NodeIdError::WrongLength(b.len()))?;
        NodeId::from_bytes(array)
    }
}

impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for NodeId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for NodeId {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        NodeId::from_bytes(reader.take_array("node id")?).map_err(|e| DecodeError::Invalid {
            what: "node id",
            reason: e.to_string(),
        })
    }
}

/// A node key's signature: 64 bytes `r ‖ s`. Only [`NodeId::verify`] gives it meaning.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeSig(pub [u8; 64]);

impl fmt::Debug for NodeSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeSig(0x{})", hex::encode(self.0))
    }
}

impl Encode for NodeSig {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for NodeSig {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(NodeSig(reader.take_array("node signature")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn key(byte: u8) -> NodeKey {
        NodeKey::from_secret_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn signatures_verify_only_for_their_key_and_digest() {
        let (alice, bob) = (key(1), key(2));
        let digest = keccak256(&[b"a message"]);
        let sig = alice.sign(&digest);
        assert!(alice.node_id().verify(&digest, &sig));
        assert!(!bob.node_id().verify(&digest, &sig));
        assert!(!alice
            .node_id()
            .verify(&keccak256(&[b"another message"]), &sig));
        let mut tampered = sig;
        tampered.0[10] ^= 1;
        assert!(!alice.node_id().verify(&digest, &tampered));
    }

    #[test]
    fn high_s_twin_of_a_valid_signature_is_refused() {
        let alice = key(1);
        let digest = keccak256(&[b"malleability"]);
        let sig = alice.sign(&digest);
        let low = Signature::from_slice(&sig.0).unwrap();
        // (r, n - s) is the other valid ECDSA signature on the same digest.
        let high = Signature::from_scalars(low.r(), -low.s()).unwrap();
        assert_ne!(high, low);
        let high = NodeSig(high.to_bytes().into());
        assert!(!alice.node_id().verify(&digest, &high));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let alice = key(7);
        let shown = format!("{alice:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&hex::encode([7u8; 32])));
        assert!(shown.contains(&hex::encode(alice.node_id().as_bytes())));
    }

    #[test]
    fn invalid_secrets_are_refused() {
        assert!(matches!(
            NodeKey::from_secret_bytes(&[0; 32]),
            Err(KeyError::InvalidSecret)
        ));
        assert!(matches!(
            NodeKey::from_secret_bytes(&[0xff; 32]),
            Err(KeyError::InvalidSecret)
        ));
    }

    #[test]
    fn generated_keys_differ() {
        let (a, b) = (NodeKey::generate().unwrap(), NodeKey::generate().unwrap());
        assert_ne!(a.node_id(), b.node_id());
    }

    #[test]
    fn node_id_text_and_json_round_trip() {
        let id = key(3).node_id();
        let text = id.to_string();
        assert!(text.starts_with("0x0") && text.len() == 2 + 66);
        assert_eq!(text.parse::<NodeId>().unwrap(), id);
        assert_eq!(text[2..].parse::<NodeId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<NodeId>(&json).unwrap(), id);
    }

    #[test]
    fn node_id_parse_errors_are_specific() {
        assert!(matches!(
            "zz".parse::<NodeId>(),
            Err(NodeIdError::NotHex(_))
        ));
        assert_eq!("0x0102".parse::<NodeId>(), Err(NodeIdError::WrongLength(2)));
        // An uncompressed-form tag, and an x coordinate with no point on the curve.
        let mut bytes = *key(3).node_id().as_bytes();
        bytes[0] = 4;
        assert_eq!(NodeId::from_bytes(bytes), Err(NodeIdError::NotAPublicKey));
        let mut off_curve = [0u8; 33];
        off_curve[0] = 2;
        off_curve[32] = 5; // x = 5: 125 + 7 = 132 is not a square mod p
        assert_eq!(
            NodeId::from_bytes(off_curve),
            Err(NodeIdError::NotAPublicKey)
        );
        assert!(matches!(
            NodeId::decode(&off_curve),
            Err(DecodeError::Invalid {
                what: "node id",
                ..
            })
        ));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("node.key");
        let first = NodeKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = NodeKey::load_or_create(&path).unwrap();
        assert_eq!(again.node_id(), first.node_id());
        assert_eq!(NodeKey::load(&path).unwrap().node_id(), first.node_id());
    }

    #[test]
    fn missing_key_file_is_a_read_error_for_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.key");
        assert!(matches!(NodeKey::load(&path), Err(KeyError::Read { .. })));
        assert!(!path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn readable_key_file_is_refused_with_chmod_advice() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        NodeKey::load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = NodeKey::load(&path).unwrap_err();
        assert!(matches!(err, KeyError::TooOpen { mode: 0o640, .. }));
        assert!(err.to_string().contains("chmod 600"));
        // load_or_create must not silently replace or accept it either.
        assert!(matches!(
            NodeKey::load_or_create(&path),
            Err(KeyError::TooOpen { .. })
        ));
    }

    #[test]
    fn malformed_key_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .unwrap()
            .write_all(b"not hex\n")
            .unwrap();
        assert!(matches!(
            NodeKey::load_or_create(&path),
            Err(KeyError::Malformed { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), b"not hex\n");
    }

    proptest! {
        #[test]
        fn node_id_and_sig_encodings_round_trip(secret in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
            prop_assume!(NodeKey::from_secret_bytes(&secret).is_ok());
            let key = NodeKey::from_secret_bytes(&secret).unwrap();
            let id = key.node_id();
            prop_assert_eq!(NodeId::decode(&id.encode()).unwrap(), id);
            let sig = key.sign(&digest);
            prop_assert_eq!(NodeSig::decode(&sig.encode()).unwrap(), sig);
            prop_assert!(id.verify(&digest, &sig));
        }
    }
}
