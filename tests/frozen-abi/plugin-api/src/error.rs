//! The one error type that crosses the plugin boundary.

use abi_stable::{std_types::RString, StableAbi};
use std::fmt;

/// What kind of failure a plugin call had. The node decides how to react by kind: retry
/// `Unavailable` and `Timeout`, surface `Rejected` and `InvalidArgument` to the user, treat
/// `Panicked` and `Internal` as a plugin bug.
///
/// The set of kinds is open: the value crossing the boundary is a byte, and a kind added by a
/// later revision of this crate reaches an older node or plugin as an unknown code, which
/// [`ErrorKind::is_known`] reports and which every reader must treat like `Internal` (a failure
/// it cannot classify; never retried). That is why this is a struct with associated constants
/// and not an enum: an enum with a variant its reader does not define would be undefined
/// behaviour. Match on the constants and keep a `_` arm.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(u8);

#[allow(non_upper_case_globals)]
impl ErrorKind {
    /// The plugin's TOML table is wrong: unknown key, wrong type, bad value.
    pub const InvalidConfig: ErrorKind = ErrorKind(0);
    /// An argument is malformed (bad encoding, unknown account, wrong length).
    pub const InvalidArgument: ErrorKind = ErrorKind(1);
    /// The thing asked for does not exist (unknown connection, channel never registered).
    pub const NotFound: ErrorKind = ErrorKind(2);
    /// The ledger or the peer refused the operation under its rules (older version, timeout
    /// passed, bad signature, insufficient funds). Retrying the same call fails the same way.
    pub const Rejected: ErrorKind = ErrorKind(3);
    /// The operation did not finish in time; it may or may not still take effect (a
    /// transaction that was sent but not confirmed). Distinct from `Rejected`.
    pub const Timeout: ErrorKind = ErrorKind(4);
    /// A resource is unreachable or failed transiently (RPC down, disk error, connection lost,
    /// a transport's outbox for a peer that does not read is full).
    pub const Unavailable: ErrorKind = ErrorKind(5);
    /// The plugin does not offer this operation.
    pub const Unsupported: ErrorKind = ErrorKind(6);
    /// The plugin panicked; the call had no effect the plugin can vouch for.
    pub const Panicked: ErrorKind = ErrorKind(7);
    /// Any other failure inside the plugin.
    pub const Internal: ErrorKind = ErrorKind(8);

    const NAMES: [&'static str; 9] = [
        "invalid_config",
        "invalid_argument",
        "not_found",
        "rejected",
        "timeout",
        "unavailable",
        "unsupported",
        "panicked",
        "internal",
    ];

    /// The kind with wire code `code` (known or not).
    pub const fn from_code(code: u8) -> ErrorKind {
        ErrorKind(code)
    }

    /// The code that crosses the boundary.
    pub const fn code(self) -> u8 {
        self.0
    }

    /// Whether this revision of the crate defines the kind. An unknown kind came from a newer
    /// peer of the boundary; treat it like [`ErrorKind::Internal`].
    pub fn is_known(self) -> bool {
        usize::from(self.0) < Self::NAMES.len()
    }

    /// A lowercase name for messages and JSON; `unknown` for a kind this revision does not
    /// define.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("unknown")
    }
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_known() {
            f.write_str(self.as_str())
        } else {
            write!(f, "unknown({})", self.0)
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
