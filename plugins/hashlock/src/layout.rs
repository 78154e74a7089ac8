//! The app data's layout, byte for byte as `HashLockApp.sol` reads it, and keccak256.
//!
//! - bytes 0..32: the hash lock H = keccak256(preimage), fixed when the channel opens;
//! - byte 32: the status, 0 open, 1 claimed, 2 released;
//! - bytes 33..65, only when claimed: the 32-byte preimage.
//!
//! So the app data is 33 bytes while open or released and 65 bytes when claimed.

use parley_plugin_api::PluginError;
use tiny_keccak::{Hasher, Keccak};

/// The index of the payer, who stakes its balances.
pub const PAYER: usize = 0;
/// The index of the payee, the only participant who moves.
pub const PAYEE: usize = 1;

/// The length of the app data of an open or a released payment.
pub const OPEN_LENGTH: usize = 33;
/// The length of the app data of a claimed payment (the preimage follows the status).
pub const CLAIMED_LENGTH: usize = 65;
/// Where the status byte is.
pub const STATUS_BYTE: usize = 32;

/// A 32-byte hash lock or preimage.
pub type Bytes32 = [u8; 32];

/// keccak256 of `bytes`, the hash the contract checks the preimage with.
pub fn keccak256(bytes: &[u8]) -> Bytes32 {
    let mut hasher = Keccak::v256();
    hasher.update(bytes);
    let mut out = [0; 32];
    hasher.finalize(&mut out);
    out
}

/// Where the payment stands (the status byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the payee to claim or release: the only status a move starts from.
    Open = 0,
    /// The payee revealed the preimage and took the payer's balances (final).
    Claimed = 1,
    /// The payee gave up; the balances stayed where they were (final).
    Released = 2,
}

impl Status {
    /// The status a byte stands for, if any.
    pub fn from_byte(byte: u8) -> Option<Status> {
        match byte {
            0 => Some(Status::Open),
            1 => Some(Status::Claimed),
            2 => Some(Status::Released),
            _ => None,
        }
    }

    /// The name `describe` shows.
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Claimed => "claimed",
            Status::Released => "released",
        }
    }
}

/// A refusal by the rules: `Rejected`, with the contract's reason.
pub(crate) fn refuse(reason: &str) -> PluginError {
    PluginError::rejected(format!("hash-lock: {reason}"))
}

/// Input that does not follow the layout (app data of the wrong length, a status byte the
/// layout does not define, JSON of another form): `InvalidArgument`, with the contract's reason
/// where the contract has one.
pub(crate) fn malformed(reason: &str) -> PluginError {
    PluginError::invalid(format!("hash-lock: {reason}"))
}

/// Well-formed app data: what `describe` shows and what `init` and `apply` write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashLock {
    /// keccak256 of the preimage.
    pub lock: Bytes32,
    /// Where the payment stands.
    pub status: Status,
    /// The preimage, exactly when claimed.
    pub preimage: Option<Bytes32>,
}

impl HashLock {
    /// An open payment locked with `lock`.
    pub fn open(lock: Bytes32) -> HashLock {
        HashLock {
            lock,
            status: Status::Open,
            preimage: None,
        }
    }

    /// The app data bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(CLAIMED_LENGTH);
        data.extend_from_slice(&self.lock);
        data.push(self.status as u8);
        if let Some(preimage) = &self.preimage {
            data.extend_from_slice(preimage);
        }
        data
    }

    /// Reads app data, checking the length its status requires (`InvalidArgument` if not).
    /// It does not check that a claimed preimage matches the lock: that is a rule of the move
    /// (`valid_transition`), not of the layout.
    pub fn decode(data: &[u8]) -> Result<HashLock, PluginError> {
        if data.len() < OPEN_LENGTH {
            return Err(malformed("appData holds at least the lock and the status"));
        }
        let lock = bytes32(&data[..STATUS_BYTE]);
        let status =
            Status::from_byte(data[STATUS_BYTE]).ok_or_else(|| malformed("invalid status byte"))?;
        let preimage = match status {
            Status::Open if data.len() != OPEN_LENGTH => {
                return Err(malformed("an open state's appData is 33 bytes"))
            }
            Status::Released if data.len() != OPEN_LENGTH => {
                return Err(malformed("a release's appData is 33 bytes"))
            }
            Status::Claimed if data.len() != CLAIMED_LENGTH => {
                return Err(malformed("a claim's appData is 65 bytes"))
            }
            Status::Claimed => Some(bytes32(&data[OPEN_LENGTH..])),
            Status::Open | Status::Released => None,
        };
        Ok(HashLock {
            lock,
            status,
            preimage,
        })
    }
}

/// The first 32 bytes of `bytes` (which holds at least 32).
pub(crate) fn bytes32(bytes: &[u8]) -> Bytes32 {
    let mut out = [0; 32];
    out.copy_from_slice(&bytes[..32]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_hex;

    #[test]
    fn keccak256_of_nothing_is_the_known_vector() {
        assert_eq!(
            to_hex(&keccak256(b"")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn keccak256_is_not_sha3_256() {
        // SHA3-256("") is a7ffc6f8...; Ethereum's keccak256 uses the original padding.
        assert_eq!(
            to_hex(&keccak256(b"abc")),
            "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
    }

    #[test]
    fn every_status_round_trips_with_its_length() {
        let open = HashLock::open([1; 32]);
        let released = HashLock {
            status: Status::Released,
            ..open.clone()
        };
        let claimed = HashLock {
            status: Status::Claimed,
            preimage: Some([2; 32]),
            ..open.clone()
        };
        for (value, length) in [(open, 33), (released, 33), (claimed, 65)] {
            let bytes = value.encode();
            assert_eq!(bytes.len(), length, "{value:?}");
            assert_eq!(HashLock::decode(&bytes).unwrap(), value);
        }
    }

    #[test]
    fn a_length_that_does_not_fit_the_status_is_malformed() {
        let cases: [(&[u8], &str); 5] = [
            (
                &[0; 32],
                "hash-lock: appData holds at least the lock and the status",
            ),
            (&[0; 34], "hash-lock: an open state's appData is 33 bytes"),
            (
                &[[0; 32].as_slice(), &[2; 33]].concat(),
                "hash-lock: a release's appData is 33 bytes",
            ),
            (
                &[[0; 32].as_slice(), &[1]].concat(),
                "hash-lock: a claim's appData is 65 bytes",
            ),
            (
                &[[0; 32].as_slice(), &[3]].concat(),
                "hash-lock: invalid status byte",
            ),
        ];
        for (bytes, reason) in cases {
            let error = HashLock::decode(bytes).unwrap_err();
            assert_eq!(error.kind, parley_plugin_api::ErrorKind::InvalidArgument);
            assert_eq!(error.message(), reason);
        }
    }
}
