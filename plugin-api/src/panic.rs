//! Catching panics at the boundary.
//!
//! A panic that unwinds across the FFI boundary aborts the whole node, and the host's panic hook
//! never runs. Every call the adapters in this crate forward into plugin code goes through
//! [`catch`], so a plugin author cannot forget it: a panic becomes a [`ErrorKind::Panicked`]
//! error naming the panic message, and the node keeps running.

use crate::error::{ErrorKind, PluginError, PluginResult};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `call`, turning a panic into an [`ErrorKind::Panicked`] error. `what` names the call for
/// the message ("store.commit").
pub fn catch<T>(what: &str, call: impl FnOnce() -> PluginResult<T>) -> PluginResult<T> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result,
        Err(payload) => Err(PluginError::new(
            ErrorKind::Panicked,
            format!("plugin panicked in {what}: {}", panic_message(&payload)),
        )),
    }
}

/// Like [`catch`], for calls that return no error of their own (event and log sinks).
/// A panic is reported on stderr, because there is nobody to return it to.
pub fn catch_silently(what: &str, call: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(call)) {
        eprintln!(
            "parley: panic in {what} was caught: {}",
            panic_message(&payload)
        );
    }
}

/// The message a panic was raised with (`panic!("...")` payloads are `&str` or `String`).
pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        let result: PluginResult<()> = catch("test.call", || panic!("boom {}", 7));
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Panicked);
        assert!(error.message().contains("boom 7"), "{error}");
        assert!(error.message().contains("test.call"), "{error}");
    }
}
