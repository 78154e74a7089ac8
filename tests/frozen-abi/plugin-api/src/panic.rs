//! Catching panics at the boundary.
//!
//! A panic that unwinds across the FFI boundary aborts the whole node, and the host's panic hook
//! never runs. Every call the adapters in this crate forward into plugin code goes through
//! [`catch`], so a plugin author cannot forget it: a panic becomes a [`ErrorKind::Panicked`]
//! error naming the panic message, and the node keeps running.
//!
//! A plugin library links its own copy of `std`, with its own panic hook: left alone, that
//! hook prints the panic raw to stderr, past the node's logger (and breaking
//! `--log-format json`). [`route_panics_to_host`], which `export_plugin!` calls before the
//! plugin's constructor runs, replaces it with one that writes the message, where it
//! happened, and a backtrace when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for one,
//! through the log sink of the instance bound to the panicking thread (see
//! [`Host::scope`]), so that two instances of one library each report their own panics.

use crate::abi::host::{Host, LogLevel};
use crate::error::{ErrorKind, PluginError, PluginResult};
use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::OnceLock;

/// The log target of a panic report.
pub const PANIC_TARGET: &str = "panic";

/// Makes every panic in this plugin library a log line (at [`LogLevel::Error`], target
/// [`PANIC_TARGET`]) through the log sink of the instance bound to the panicking thread, or of
/// the library's first instance on a thread nobody bound, instead of text on stderr; see the
/// module documentation. Installs the hook once per library; later calls do nothing. Panics are
/// still caught and returned as errors by [`catch`].
pub fn route_panics_to_host() {
    static ROUTED: OnceLock<()> = OnceLock::new();
    ROUTED.get_or_init(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let report = panic_report(info);
            let routed = Host::with_current(|host| {
                host.log(LogLevel::Error, PANIC_TARGET, &report);
            });
            if routed.is_none() {
                default_hook(info);
            }
        }));
    });
}

/// What a panic report says: the message, where and on which thread it happened, and the
/// backtrace if the environment asks for one.
pub fn panic_report(info: &PanicHookInfo<'_>) -> String {
    let thread = std::thread::current();
    let mut report = format!(
        "panicked on thread {}{}: {}",
        thread.name().unwrap_or("<unnamed>"),
        info.location()
            .map(|at| format!(" at {at}"))
            .unwrap_or_default(),
        payload_text(info.payload())
    );
    // `capture` honours RUST_LIB_BACKTRACE and RUST_BACKTRACE, as the default hook does.
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        report.push_str(&format!("\nstack backtrace:\n{backtrace}"));
    }
    report
}

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
pub fn panic_message(payload: &Box<dyn Any + Send>) -> String {
    payload_text(payload.as_ref())
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

