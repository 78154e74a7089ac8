//! The conformance suite: checks that a plugin keeps the contracts written on [`Store`],
//! [`Transport`], [`ChainBackend`] and [`App`]. `parley plugin check <file>` runs it against any plugin
//! library; plugin authors can run it in their own tests against their type directly.
//!
//! Each suite takes a factory that creates a fresh instance from a [`HostContext`], because
//! several checks need more than one instance (a store reopened on the same directory, two
//! transports talking to each other, two chain instances on one ledger).
//!
//! [`Store`]: crate::Store
//! [`Transport`]: crate::Transport
//! [`ChainBackend`]: crate::ChainBackend
//! [`App`]: crate::App

pub mod app;
pub mod chain;
pub mod store;
pub mod transport;

use crate::abi::host::{host_context, LogLevel};
use crate::abi::HostContext;
use crate::model::PluginEvent;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Creates a plugin instance for a check. The context's data directory is a fresh temporary
/// directory unless the check reopens one it used before.
pub type Factory<'a, T> = dyn Fn(HostContext) -> crate::PluginResult<T> + 'a;

/// The outcome of one contract check.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The contract checked, as one line (`store: a commit is atomic`).
    pub contract: String,
    /// `Err` holds what was observed instead.
    pub result: Result<(), String>,
    /// How long the check took.
    pub elapsed: Duration,
}

/// All outcomes of one suite run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per contract, in the order checked.
    pub checks: Vec<CheckOutcome>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.result.is_ok())
    }

    /// For a plugin's own tests: prints every outcome to stderr, then panics unless every
    /// check passed and at least `at_least` ran (a suite that stopped early is no pass).
    pub fn assert_passed(&self, at_least: usize) {
        for check in &self.checks {
            match &check.result {
                Ok(()) => eprintln!("ok   {} ({:?})", check.contract, check.elapsed),
                Err(why) => eprintln!("FAIL {}: {why}", check.contract),
            }
        }
        assert!(self.passed(), "the conformance suite failed (see above)");
        assert!(
            self.checks.len() >= at_least,
            "only {} checks ran, expected at least {at_least}",
            self.checks.len()
        );
    }

    /// Runs one check, catching panics so that one broken contract does not hide the others.
    pub fn check(&mut self, contract: &str, body: impl FnOnce() -> Result<(), String>) {
        let start = Instant::now();
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(result) => result,
            Err(payload) => Err(format!(
                "the check panicked: {}",
                crate::panic::panic_message(&payload)
            )),
        };
        self.checks.push(CheckOutcome {
            contract: contract.to_string(),
            result,
            elapsed: start.elapsed(),
        });
    }
}

/// Fails a check with a formatted message unless the condition holds.
#[macro_export]
#[doc(hidden)]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// Turns a plugin error into a check failure that says which call failed.
pub fn call<T>(what: &str, result: crate::PluginResult<T>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

/// A host for plugins under test: a data directory and a queue of the events they emit.
pub struct TestHost {
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    events: Mutex<Receiver<PluginEvent>>,
    context: HostContext,
}

impl TestHost {
    /// A host with a fresh temporary data directory (removed when the host is dropped).
    pub fn new(section: &str) -> Self {
        let temp = tempfile::Builder::new()
            .prefix("parley-check-")
            .tempdir()
            .expect("cannot create a temporary directory for the conformance suite");
        let dir = temp.path().to_path_buf();
        let mut host = Self::in_dir(section, &dir);
        host._temp = Some(temp);
        host
    }

    /// A host whose data directory is `dir` (kept), for reopening what another host wrote.
    pub fn in_dir(section: &str, dir: &Path) -> Self {
        let (sender, receiver) = channel();
        let sender = Mutex::new(sender);
        let verbose = std::env::var_os("PARLEY_CHECK_VERBOSE").is_some();
        let context = host_context(
            section,
            dir,
            dir,
            if verbose {
                LogLevel::Debug
            } else {
                LogLevel::Warn
            },
            move |level, target, message| eprintln!("  [{level:?} {target}] {message}"),
            move |event| {
                let _ = sender.lock().map(|s| s.send(event));
            },
        );
        TestHost {
            data_dir: dir.to_path_buf(),
            _temp: None,
            events: Mutex::new(receiver),
            context,
        }
    }

    /// The context to pass to the factory.
    pub fn context(&self) -> HostContext {
        self.context.clone()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<PluginEvent> {
        let receiver = self.events.lock().ok()?;
        receiver.recv_timeout(timeout).ok()
    }

    /// Waits up to `timeout` for an event that `pick` accepts, dropping the others.
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        mut pick: impl FnMut(PluginEvent) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            if let Some(found) = self.next_event(left).and_then(&mut pick) {
                return Some(found);
            }
        }
    }
}
