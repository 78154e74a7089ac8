//! Why an operation of the driver failed, and whose fault that is.
//!
//! Every operation a front end asks of the driver (open, accept, pay, settle, add a peer, ...)
//! fails with an [`Error`]: a [`ErrorKind`] that says whose fault it is and what may help, and
//! a sentence for the user. A front end decides from the kind (the API maps it to its error
//! category, whose code is its contract); only [`ErrorKind::Unavailable`] is worth the same
//! request again.

use super::channel_task::{AnswerError, CommandError};
use crate::protocol::{ChannelError, PaymentError};
use std::fmt;

/// What kind of failure an operation met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller's: a value it gave is wrong (out of range, an unknown asset, our own id as a
    /// peer). The same request fails again.
    Invalid,
    /// The caller's: it names a channel, peer or proposal this node does not know (or no
    /// longer: a proposal that expired).
    NotFound,
    /// The caller's: a deposit or payment larger than what the account or channel holds.
    InsufficientFunds,
    /// The caller's: the request clashes with the state now (a channel in the wrong phase, an
    /// alias taken, an update lost to the peer's). It may succeed once the state changed.
    Conflict,
    /// The peer's: it declined (a proposal or an update). Its right, not a fault; asking again
    /// gets the same answer unless something changed.
    RefusedByPeer,
    /// Nobody's: a dependency (the chain, the peer's connection, the store) is down or did not
    /// answer in time. Transient: the same request may succeed later.
    Unavailable,
    /// The node's: a bug or an unexpected failure inside it.
    Internal,
}

/// Whose fault an [`ErrorKind`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// The caller asked for something wrong or untimely: report it back.
    Caller,
    /// The peer said no.
    Peer,
    /// Something the node depends on failed for now: try again later.
    Transient,
    /// The node itself.
    Node,
}

impl ErrorKind {
    /// Whose fault a failure of this kind is.
    pub fn blame(self) -> Blame {
        match self {
            ErrorKind::Invalid
            | ErrorKind::NotFound
            | ErrorKind::InsufficientFunds
            | ErrorKind::Conflict => Blame::Caller,
            ErrorKind::RefusedByPeer => Blame::Peer,
            ErrorKind::Unavailable => Blame::Transient,
            ErrorKind::Internal => Blame::Node,
        }
    }
}

/// Why an operation of the driver failed: its kind, the input at fault if the caller gave a
/// bad one, and a sentence for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    input: Option<&'static str>,
    message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.input {
            Some(input) => write!(f, "{input}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            input: None,
            message: message.into(),
        }
    }

    /// The caller's `input` is wrong: `problem` says how.
    pub fn invalid(input: &'static str, problem: impl fmt::Display) -> Error {
        Error {
            input: Some(input),
            ..Error::new(ErrorKind::Invalid, problem.to_string())
        }
    }

    /// The caller's request is wrong as a whole.
    pub fn invalid_request(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }

    /// The caller named something this node does not know.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    /// A deposit or payment beyond what is held.
    pub fn insufficient_funds(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InsufficientFunds, message)
    }

    /// The request clashes with the state now.
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conflict, message)
    }

    /// The peer declined.
    pub fn refused_by_peer(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::RefusedByPeer, message)
    }

    /// A dependency is down or did not answer in time.
    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unavailable, message)
    }

    /// A failure inside the node.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the same request may succeed later (a dependency was down).
    pub fn is_transient(&self) -> bool {
        self.kind.blame() == Blame::Transient
    }

    /// The input at fault, for an [`ErrorKind::Invalid`] one the caller gave.
    pub fn input(&self) -> Option<&'static str> {
        self.input
    }

    /// The sentence for the user (without the input's name).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A channel task's refusal, by whose fault it is: an overdraft or a bad amount is the
/// caller's, a lost race or the wrong phase a conflict, the peer's no its own, a failing store
/// a dependency that is down (the channel goes on once it is back).
impl From<CommandError> for Error {
    fn from(error: CommandError) -> Error {
        let kind = match &error {
            CommandError::Channel(ChannelError::Payment(PaymentError::Overdraft { .. })) => {
                ErrorKind::InsufficientFunds
            }
            CommandError::Channel(ChannelError::Payment(_)) => ErrorKind::Invalid,
            CommandError::Channel(_)
            | CommandError::PaymentUnderWay(_)
            | CommandError::Superseded { .. }
            | CommandError::Discarded { .. } => ErrorKind::Conflict,
            CommandError::Rejected(_) => ErrorKind::RefusedByPeer,
            CommandError::Answer(AnswerError::NothingAwaits) => ErrorKind::NotFound,
            CommandError::Answer(_) => ErrorKind::Conflict,
            CommandError::StoreFailed { .. } | CommandError::Uncertain { .. } => {
                ErrorKind::Unavailable
            }
            CommandError::Stopped => ErrorKind::Internal,
        };
        Error::new(kind, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RejectReason;

    #[test]
    fn only_a_dependency_that_is_down_is_transient() {
        assert!(Error::unavailable("the chain is down").is_transient());
        for error in [
            Error::invalid("amount", "must be more than zero"),
            Error::not_found("no channel"),
            Error::conflict("wrong phase"),
            Error::refused_by_peer("no"),
            Error::internal("bug"),
        ] {
            assert!(!error.is_transient(), "{error:?}");
        }
        assert_eq!(ErrorKind::RefusedByPeer.blame(), Blame::Peer);
        assert_eq!(ErrorKind::InsufficientFunds.blame(), Blame::Caller);
    }

    #[test]
    fn a_bad_input_is_named_apart_from_its_problem() {
        let error = Error::invalid("asset", "unknown asset `XYZ`");
        assert_eq!(error.kind(), ErrorKind::Invalid);
        assert_eq!(error.input(), Some("asset"));
        assert_eq!(error.message(), "unknown asset `XYZ`");
        assert_eq!(error.to_string(), "asset: unknown asset `XYZ`");
    }

    #[test]
    fn a_channel_task_refusal_keeps_its_message_and_says_whose_fault() {
        let rejected = CommandError::Rejected(RejectReason::Declined("no".into()));
        let error = Error::from(rejected.clone());
        assert_eq!(error.kind(), ErrorKind::RefusedByPeer);
        assert_eq!(error.message(), rejected.to_string());
        let failed = Error::from(CommandError::StoreFailed {
            error: "disk full".into(),
        });
        assert!(failed.is_transient());
        assert_eq!(
            Error::from(CommandError::Stopped).kind(),
            ErrorKind::Internal
        );
    }
}
