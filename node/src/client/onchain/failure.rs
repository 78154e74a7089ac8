//! Why a step of the chain side failed, with the kind that decides what happens next.
//!
//! A chain backend's error keeps its [`ErrorKind`] all the way to the channel's owner, which
//! retries only what may succeed unchanged ([`ChainFailure::is_transient`]: the chain did not
//! answer, or a transaction's fate is unknown). Anything else (the ledger refused the
//! transaction, the backend has no account, the plugin panicked, the channel task refused) is
//! shown in the channel's status and decided afresh only when something changes: a chain
//! event about the channel, a new phase, or [`REEXAMINE`](super::life::REEXAMINE) later, since
//! the world outside the channel may change too (the account receives gas money). A fresh
//! decision reads the chain again, so it is never the same call repeated blindly.

use crate::client::channel_task::CommandError;
use parley_plugin_api::{ErrorKind, PluginError};
use std::fmt;

/// A failed step: what failed, and of which kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFailure {
    kind: ErrorKind,
    message: String,
}

impl ChainFailure {
    /// A failure of `kind` described by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ChainFailure {
        ChainFailure {
            kind,
            message: message.into(),
        }
    }

    /// The backend's `error` while doing `what` ("registering version 7 on chain").
    pub fn plugin(what: impl fmt::Display, error: &PluginError) -> ChainFailure {
        ChainFailure::new(error.kind, format!("{what} failed: {}", error.message()))
    }

    /// The channel task refused or could not answer a command (`what`).
    pub fn channel(what: impl fmt::Display, error: &CommandError) -> ChainFailure {
        let kind = match error {
            // The store failed: the channel works again once it does, and it says so.
            CommandError::StoreFailed { .. } | CommandError::Uncertain { .. } => {
                ErrorKind::Unavailable
            }
            _ => ErrorKind::Rejected,
        };
        ChainFailure::new(kind, format!("{what}: {error}"))
    }

    /// A failure that is not the chain's: a snapshot lacking a signature, a panicked worker.
    pub fn internal(message: impl Into<String>) -> ChainFailure {
        ChainFailure::new(ErrorKind::Internal, message)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What failed, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same step may succeed if simply taken again: the chain was unreachable or
    /// slow (`Unavailable`, `Timeout`). An unknown kind is not: it is treated like `Internal`.
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Unavailable || self.kind == ErrorKind::Timeout
    }

    /// The same failure, its message prefixed with `context`.
    pub fn context(self, context: impl fmt::Display) -> ChainFailure {
        ChainFailure {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for ChainFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

/// Runs one of the chain backend's waiting calls on a blocking thread; its error keeps its
/// kind, described as `what` failing. A panic on the thread is `Panicked`.
pub async fn chain_step<T: Send + 'static>(
    what: impl fmt::Display,
    call: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, ChainFailure> {
    crate::client::chain::blocking(call)
        .await
        .map_err(|error| ChainFailure::plugin(what, &error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreachable_or_slow_chain_is_transient() {
        for kind in [ErrorKind::Unavailable, ErrorKind::Timeout] {
            assert!(ChainFailure::new(kind, "x").is_transient());
        }
        for kind in [
            ErrorKind::Rejected,
            ErrorKind::InvalidArgument,
            ErrorKind::InvalidConfig,
            ErrorKind::NotFound,
            ErrorKind::Unsupported,
            ErrorKind::Panicked,
            ErrorKind::Internal,
            ErrorKind::from_code(200),
        ] {
            assert!(!ChainFailure::new(kind, "x").is_transient(), "{kind:?}");
        }
    }

    #[test]
    fn a_plugin_error_keeps_its_kind_and_says_what_failed() {
        let error = PluginError::new(ErrorKind::Rejected, "version too old");
        let failure = ChainFailure::plugin("registering version 3 on chain", &error);
        assert_eq!(failure.kind(), ErrorKind::Rejected);
        assert_eq!(
            failure.to_string(),
            "registering version 3 on chain failed: version too old (rejected)"
        );
    }

    #[test]
    fn a_store_outage_of_the_channel_is_transient_and_a_refusal_is_not() {
        let outage = CommandError::StoreFailed {
            error: "disk full".into(),
        };
        assert!(ChainFailure::channel("funded", &outage).is_transient());
        assert!(!ChainFailure::channel("funded", &CommandError::Stopped).is_transient());
    }
}
