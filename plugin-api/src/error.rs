//! The one error type that crosses the plugin boundary.

use abi_stable::{std_types::RString, StableAbi};
use std::fmt;

/// What kind of failure a plugin call had. The node decides how to react by kind: retry
/// `Unavailable` and `Timeout`, surface `Rejected` and `InvalidArgument` to the user, treat
/// `Panicked` and `Internal` as a plugin bug.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The plugin's TOML table is wrong: unknown key, wrong type, bad value.
    InvalidConfig,
    /// An argument is malformed (bad encoding, unknown account, wrong length).
    InvalidArgument,
    /// The thing asked for does not exist (unknown connection, channel never registered).
    NotFound,
    /// The ledger or the peer refused the operation under its rules (older version, timeout
    /// passed, bad signature, insufficient funds). Retrying the same call fails the same way.
    Rejected,
    /// The operation did not finish in time; it may or may not still take effect (a
    /// transaction that was sent but not confirmed). Distinct from `Rejected`.
    Timeout,
    /// A resource is unreachable or failed transiently (RPC down, disk error, connection lost,
    /// a transport's outbox for a peer that does not read is full).
    Unavailable,
    /// The plugin does not offer this operation (for example advancing time on a real chain).
    Unsupported,
    /// The plugin panicked; the call had no effect the plugin can vouch for.
    Panicked,
    /// Any other failure inside the plugin.
    Internal,
}

impl ErrorKind {
    /// A lowercase name for messages and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Panicked => "panicked",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An error returned by a plugin call: a kind the node can act on and a message for humans
/// (what failed and, where it can say, how to fix it). Messages must never contain secrets.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// A human-readable sentence.
    pub message: RString,
}

impl PluginError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        PluginError {
            kind,
            message: RString::from(message.to_string()),
        }
    }

    /// [`ErrorKind::InvalidConfig`].
    pub fn config(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }

    /// [`ErrorKind::InvalidArgument`].
    pub fn invalid(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// [`ErrorKind::NotFound`].
    pub fn not_found(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// [`ErrorKind::Rejected`].
    pub fn rejected(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Rejected, message)
    }

    /// [`ErrorKind::Timeout`].
    pub fn timeout(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// [`ErrorKind::Internal`].
    pub fn internal(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The message.
    pub fn message(&self) -> &str {
        self.message.as_str()
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PluginError {{ kind: {:?}, message: {:?} }}",
            self.kind,
            self.message.as_str()
        )
    }
}

impl std::error::Error for PluginError {}

impl From<crate::codec::DecodeError> for PluginError {
    fn from(error: crate::codec::DecodeError) -> Self {
        PluginError::invalid(format!("malformed value at the plugin boundary: {error}"))
    }
}

/// The result of every plugin call.
pub type PluginResult<T> = Result<T, PluginError>;
