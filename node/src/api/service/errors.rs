//! The driver's errors as API errors: each kind has its category (and so its stable code),
//! and a bad input is named as the parameter it came from.

use crate::api::{ApiError, ErrorCategory};
use crate::client::error::{Error, ErrorKind};

/// The category of a failure of `kind`.
pub fn category(kind: ErrorKind) -> ErrorCategory {
    match kind {
        ErrorKind::Invalid => ErrorCategory::InvalidArgument,
        ErrorKind::NotFound => ErrorCategory::NotFound,
        ErrorKind::InsufficientFunds => ErrorCategory::InsufficientFunds,
        ErrorKind::Conflict => ErrorCategory::Conflict,
        ErrorKind::RefusedByPeer => ErrorCategory::RejectedByPeer,
        ErrorKind::Unavailable => ErrorCategory::Unavailable,
        ErrorKind::Internal => ErrorCategory::Internal,
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        match error.input() {
            // The driver's inputs are the API's parameters, by the same names.
            Some(input) => ApiError::invalid_param(input, error.message()),
            None => ApiError::new(category(error.kind()), error.message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_input_becomes_a_named_parameter() {
        let error = ApiError::from(Error::invalid("asset", "unknown asset `XYZ`"));
        assert_eq!(
            error,
            ApiError::invalid_param("asset", "unknown asset `XYZ`")
        );
    }

    #[test]
    fn every_kind_keeps_its_message_under_its_category() {
        for (error, expected) in [
            (Error::not_found("no channel"), ErrorCategory::NotFound),
            (
                Error::insufficient_funds("too much"),
                ErrorCategory::InsufficientFunds,
            ),
            (Error::conflict("wrong phase"), ErrorCategory::Conflict),
            (Error::refused_by_peer("no"), ErrorCategory::RejectedByPeer),
            (Error::unavailable("chain down"), ErrorCategory::Unavailable),
            (Error::internal("bug"), ErrorCategory::Internal),
            (
                Error::invalid_request("cannot open"),
                ErrorCategory::InvalidArgument,
            ),
        ] {
            let message = error.message().to_string();
            assert_eq!(ApiError::from(error), ApiError::new(expected, message));
        }
    }
}
