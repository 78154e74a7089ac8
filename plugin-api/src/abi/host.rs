//! What the node hands every plugin instance: where its files go, where what the plugin has
//! to say (log lines, events) goes back into the node, and (revision 2) the rules of the
//! node's apps, by contract address ([`Host::app`]).
//!
//! Across the boundary the host is one FFI trait object, [`HostContext`], so that it can grow:
//! a capability a later revision adds is a method after the last prefix method, with a default
//! that a plugin built against the newer crate gets when an older node does not offer it.
//! The first such capability is `app_rules` (revision 2): a chain backend asks it for an app's
//! rules so that it enforces the app on chain exactly as the node does off chain.
//!
//! In the plugin, [`Host`] wraps it. Every instance has its own `Host`, and every call the node
//! makes into an instance runs with that instance's `Host` bound to the calling thread (see
//! [`Host::scope`]), so log lines and panic reports from code that has no `Host` at hand (a
//! `tracing` event deep in a dependency, a panic) go to the right instance's section, even when
//! one library serves two instances. Threads a plugin starts itself call
//! [`Host::bind_current_thread`] first.
#![allow(non_local_definitions)]

use crate::abi::ffi::FfiAppBox;
use crate::app::{share_app, App, LoadedApp};
use crate::codec::{Decode, Encode};
use crate::model::{Address, PluginEvent};
use crate::panic::catch_silently;
use abi_stable::{
    sabi_trait,
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RSlice, RStr, RString, RVec, Tuple2},
};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

/// Log levels, most severe first. Crosses the boundary as its number; an unknown number (from a
/// newer peer of the boundary) reads as [`LogLevel::Trace`], the least severe.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something is off but work goes on.
    Warn = 2,
    /// Normal operation worth a line.
    Info = 3,
    /// Detail for debugging.
    Debug = 4,
    /// Very fine detail.
    Trace = 5,
}

impl LogLevel {
    /// The level with code `code`; unknown codes read as `Trace`.
    pub fn from_code(code: u8) -> LogLevel {
        match code {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// The node's side of an instance, across the boundary. Implemented by the node (and by
/// [`host_context`] for tests and the conformance suite); plugins use it through [`Host`].
///
/// Contract for the host: no method blocks for long or panics; all may be called from any
/// thread at once. Methods after `emit` are later revisions' capabilities: each has a default
/// that says "not offered", which is what a plugin sees on an older node.
#[sabi_trait]
pub trait FfiHost: Send + Sync + Clone {
    /// The `node.toml` section this instance was configured in (`chain`, `wire`, `store`).
    fn section(&self) -> RString;
    /// The node's data directory (absolute).
    fn data_dir(&self) -> RString;
    /// The directory of `node.toml` (absolute).
    fn config_dir(&self) -> RString;
    /// The most detailed [`LogLevel`] (as its code) the node prints.
    fn max_log_level(&self) -> u8;
    /// One log line at level `level` (a [`LogLevel`] code); `target` is the module path in the
    /// plugin.
    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>);
    /// One encoded [`PluginEvent`]. Never blocks: the node only queues it. Events emitted from
    /// one thread arrive in the order emitted.
    #[sabi(last_prefix_field)]
    fn emit(&self, event: RVec<u8>);
    /// The rules of the app whose contract is at `address` (an encoded [`Address`]) on the
    /// node's chain, if the node has that app (revision 2). The answer is callable from the
    /// plugin's side like an app instance, for as long as the plugin keeps it. The default,
    /// what a plugin sees on a node without the capability, is none.
    fn app_rules(&self, address: RSlice<'_, u8>) -> ROption<FfiAppBox> {
        let _ = address;
        ROption::RNone
    }
    /// One log line with its structured fields (revision 4): `message` alone, and the
    /// plugin's `tracing` fields as (name, value) pairs, so that a node logging JSON keeps them
    /// as fields. The default, what a plugin sees on an older node, writes the fields into the
    /// line after the message (`message name=value ...`) through [`log`](FfiHost::log).
    fn log_fields(
        &self,
        level: u8,
        target: RStr<'_>,
        message: RStr<'_>,
        fields: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
    ) {
        let line = line_with_fields(message.as_str(), fields.as_slice());
        self.log(level, target, RStr::from(line.as_str()));
    }
}

/// `message name=value ...`: a line and its fields as one text, for a log that has no fields.
fn line_with_fields(message: &str, fields: &[Tuple2<RStr<'_>, RStr<'_>>]) -> String {
    let mut line = message.to_string();
    for Tuple2(name, value) in fields {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(name.as_str());
        line.push('=');
        line.push_str(value.as_str());
    }
    line
}

/// One log line as a plugin wrote it, the fields apart from the message: what a host made
/// with [`host_context_with_log_lines`] is given.
#[derive(Clone, Copy, Debug)]
pub struct LogLine<'a> {
    /// How severe.
    pub level: LogLevel,
    /// The module path in the plugin that wrote it.
    pub target: &'a str,
    /// The message, without the fields.
    pub message: &'a str,
    /// The `tracing` fields besides the message, as (name, value) in the order written.
    pub fields: &'a [Tuple2<RStr<'a>, RStr<'a>>],
}

impl LogLine<'_> {
    /// The message with the fields written after it (`message name=value ...`), for a log
    /// that has no fields.
    pub fn text(&self) -> String {
        line_with_fields(self.message, self.fields)
    }
}

/// Everything the node gives a plugin instance when creating it.
pub type HostContext = FfiHost_TO<'static, RArc<()>>;

/// The plugin-side view of a [`HostContext`]: cheap to clone, safe to use from any thread.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    context: HostContext,
    section: String,
    data_dir: PathBuf,
    config_dir: PathBuf,
    /// The most detailed level the node prints for this instance (fixed when it is created).
    max_level: LogLevel,
    /// This instance's place in [`INSTANCES`].
    index: usize,
}

/// Every instance created in this library (plugin libraries are never unloaded, and a library
/// makes a handful of instances in its life, so the list only grows and stays small).
static INSTANCES: RwLock<Vec<Host>> = RwLock::new(Vec::new());

/// The most detailed level any instance of this library prints, as a [`LogLevel`] code (0:
/// no instance yet). Read on every `tracing` callsite check, so that events no instance
/// prints cost one atomic load instead of a lookup of the bound instance.
static MOST_DETAILED: AtomicU8 = AtomicU8::new(0);

/// No instance bound to the thread.
const UNBOUND: usize = usize::MAX;

thread_local! {
    /// The index of the instance whose work the thread does right now.
    static BOUND: Cell<usize> = const { Cell::new(UNBOUND) };
}

impl Host {
    /// Wraps the context handed to the constructor and registers the instance, so that log
    /// lines and panics on threads bound to it are reported under its section.
    pub fn new(context: HostContext) -> Self {
        let max_level = LogLevel::from_code(context.max_log_level());
        let mut instances = INSTANCES.write().unwrap_or_else(|p| p.into_inner());
        let host = Host {
            inner: Arc::new(HostInner {
                section: context.section().into_string(),
                data_dir: PathBuf::from(context.data_dir().as_str()),
                config_dir: PathBuf::from(context.config_dir().as_str()),
                max_level,
                context,
                index: instances.len(),
            }),
        };
        instances.push(host.clone());
        drop(instances);
        if MOST_DETAILED.fetch_max(max_level as u8, Ordering::Relaxed) < max_level as u8 {
            // `tracing` caches per callsite whether anyone listens; a more detailed instance
            // changes the answer.
            tracing::callsite::rebuild_interest_cache();
        }
        host
    }

    /// The most detailed level any instance of this library prints; `None` before the first
    /// instance.
    pub fn most_detailed_level() -> Option<LogLevel> {
        match MOST_DETAILED.load(Ordering::Relaxed) {
            0 => None,
            code => Some(LogLevel::from_code(code)),
        }
    }

    /// The `node.toml` section name of this instance.
    pub fn section(&self) -> &str {
        &self.inner.section
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.inner.data_dir.clone()
    }

    /// Resolves a path from the plugin's table: absolute paths stay, relative ones are taken
    /// relative to the directory of `node.toml`.
    pub fn resolve_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.inner.config_dir.join(path)
        }
    }

    /// Sends an event to the node. Never blocks.
    pub fn emit(&self, event: &PluginEvent) {
        let bytes = RVec::from(event.encode());
        catch_silently("the host's event sink", || self.inner.context.emit(bytes));
    }

    /// Whether lines at `level` would be printed.
    pub fn log_enabled(&self, level: LogLevel) -> bool {
        level <= self.inner.max_level
    }

    /// Writes one log line through the node's logger.
    pub fn log(&self, level: LogLevel, target: &str, message: &str) {
        if self.log_enabled(level) {
            catch_silently("the host's log sink", || {
                self.inner
                    .context
                    .log(level as u8, RStr::from(target), RStr::from(message))
            });
        }
    }

    /// Writes one log line with structured fields through the node's logger: a node of
    /// revision 4 or later keeps them as fields (in its JSON log, for example); an older one
    /// gets them in the line after the message.
    pub fn log_fields(
        &self,
        level: LogLevel,
        target: &str,
        message: &str,
        fields: &[(&str, &str)],
    ) {
        if self.log_enabled(level) {
            let fields: Vec<Tuple2<RStr<'_>, RStr<'_>>> = fields
                .iter()
                .map(|(name, value)| Tuple2(RStr::from(*name), RStr::from(*value)))
                .collect();
            catch_silently("the host's log sink", || {
                self.inner.context.log_fields(
                    level as u8,
                    RStr::from(target),
                    RStr::from(message),
                    RSlice::from(fields.as_slice()),
                )
            });
        }
    }

    /// The rules of the app whose contract is at `address` on the node's chain, if the node
    /// has that app (an `[[apps]]` entry of its `node.toml` with an address for this chain);
    /// `None` when it has none there, and always on a node older than this capability.
    ///
    /// A chain backend uses it to enforce an app the way the app's contract does on chain
    /// (the sim chain's `progress`), so that the backend and the node judge a move by the same
    /// rules. The answer runs the node's copy of the rules: each call crosses into the node
    /// and from there into the app's plugin, and follows the [`App`] contract (pure, fast,
    /// any thread). Look it up again when needed rather than keeping it for long: the node
    /// may learn its apps after the instance was created.
    pub fn app(&self, address: &Address) -> Option<LoadedApp> {
        let encoded = address.encode();
        match self
            .inner
            .context
            .app_rules(RSlice::from(encoded.as_slice()))
        {
            ROption::RSome(app) => Some(LoadedApp::new(app)),
            ROption::RNone => None,
        }
    }

    /// The raw context, to hand on (for example to a second instance in tests).
    pub fn context(&self) -> &HostContext {
        &self.inner.context
    }

    /// Runs `work` with this instance bound to the current thread, then restores what was
    /// bound before. Every call the node makes into an instance goes through this (the
    /// adapters of this crate do it), so plugin code never needs to.
    pub fn scope<T>(&self, work: impl FnOnce() -> T) -> T {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                BOUND.with(|bound| bound.set(self.0));
            }
        }
        let _restore = Restore(BOUND.with(|bound| bound.replace(self.inner.index)));
        work()
    }

    /// Binds this instance to the current thread for good: call it first thing on a thread the
    /// plugin starts (an event poller, an async runtime's workers via `on_thread_start`), so
    /// that its log lines and panics are reported under this instance's section.
    pub fn bind_current_thread(&self) {
        BOUND.with(|bound| bound.set(self.inner.index));
    }

    /// Runs `report` with the instance bound to the current thread, or, on a thread nobody
    /// bound, with the library's first instance; `None` before any instance exists.
    pub fn with_current<T>(report: impl FnOnce(&Host) -> T) -> Option<T> {
        let instances = INSTANCES.read().unwrap_or_else(|p| p.into_inner());
        let index = BOUND.with(Cell::get);
        instances
            .get(index)
            .or_else(|| instances.first())
            .map(report)
    }
}

/// Builds a [`HostContext`] from closures: what the node does, and what tests and the
/// conformance suite use to host a plugin. It offers no apps ([`Host::app`] answers `None`);
/// [`host_context_with_apps`] does.
pub fn host_context(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    max_level: LogLevel,
    log: impl Fn(LogLevel, &str, &str) + Send + Sync + 'static,
    events: impl Fn(PluginEvent) + Send + Sync + 'static,
) -> HostContext {
    closure_context(ClosureHost {
        section: section.to_string(),
        data_dir: data_dir.to_string_lossy().into_owned(),
        config_dir: config_dir.to_string_lossy().into_owned(),
        max_level,
        log: Arc::new(move |line: &LogLine<'_>| log(line.level, line.target, &line.text())),
        events: Arc::new(events),
        apps: None,
    })
}

/// Like [`host_context`], and the context also offers apps: [`Host::app`] answers with
/// `apps(address)`, asked at every lookup (so `apps` may learn its answers after the context
/// was handed out, as the node's does). Each answer crosses the boundary through
/// [`share_app`].
pub fn host_context_with_apps(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    max_level: LogLevel,
    log: impl Fn(LogLevel, &str, &str) + Send + Sync + 'static,
    events: impl Fn(PluginEvent) + Send + Sync + 'static,
    apps: impl Fn(&Address) -> Option<Arc<dyn App>> + Send + Sync + 'static,
) -> HostContext {
    host_context_with_log_lines(
        section,
        data_dir,
        config_dir,
        max_level,
        move |line: &LogLine<'_>| log(line.level, line.target, &line.text()),
        events,
        apps,
    )
}

/// Like [`host_context_with_apps`], and `log` gets each line with its fields apart from the
/// message ([`LogLine`]; revision 4), as a plugin's `tracing` event had them: for a host that
/// logs structured lines (JSON). Lines written with [`Host::log`] come without fields.
pub fn host_context_with_log_lines(
    section: &str,
    data_dir: &Path,
    config_dir: &Path,
    max_level: LogLevel,
    log: impl Fn(&LogLine<'_>) + Send + Sync + 'static,
    events: impl Fn(PluginEvent) + Send + Sync + 'static,
    apps: impl Fn(&Address) -> Option<Arc<dyn App>> + Send + Sync + 'static,
) -> HostContext {
    closure_context(ClosureHost {
        section: section.to_string(),
        data_dir: data_dir.to_string_lossy().into_owned(),
        config_dir: config_dir.to_string_lossy().into_owned(),
        max_level,
        log: Arc::new(log),
        events: Arc::new(events),
        apps: Some(Arc::new(apps)),
    })
}

fn closure_context(host: ClosureHost) -> HostContext {
    FfiHost_TO::from_ptr(RArc::new(host), TD_Opaque)
}

type LogFn = dyn Fn(&LogLine<'_>) + Send + Sync;
type EventFn = dyn Fn(PluginEvent) + Send + Sync;
type AppsFn = dyn Fn(&Address) -> Option<Arc<dyn App>> + Send + Sync;

#[derive(Clone)]
struct ClosureHost {
    section: String,
    data_dir: String,
    config_dir: String,
    max_level: LogLevel,
    log: Arc<LogFn>,
    events: Arc<EventFn>,
    /// `None`: no apps offered.
    apps: Option<Arc<AppsFn>>,
}

impl ClosureHost {
    /// A line of the host's own (target `parley::host`).
    fn say(&self, level: LogLevel, message: &str) {
        (self.log)(&LogLine {
            level,
            target: "parley::host",
            message,
            fields: &[],
        });
    }
}

impl FfiHost for ClosureHost {
    fn section(&self) -> RString {
        RString::from(self.section.as_str())
    }

    fn data_dir(&self) -> RString {
        RString::from(self.data_dir.as_str())
    }

    fn config_dir(&self) -> RString {
        RString::from(self.config_dir.as_str())
    }

    fn max_log_level(&self) -> u8 {
        self.max_level as u8
    }

    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>) {
        self.log_fields(level, target, message, RSlice::from_slice(&[]));
    }

    fn log_fields(
        &self,
        level: u8,
        target: RStr<'_>,
        message: RStr<'_>,
        fields: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
    ) {
        (self.log)(&LogLine {
            level: LogLevel::from_code(level),
            target: target.as_str(),
            message: message.as_str(),
            fields: fields.as_slice(),
        });
    }

    fn emit(&self, event: RVec<u8>) {
        use crate::codec::DecodeError;
        match PluginEvent::decode(&event) {
            Ok(event) => (self.events)(event),
            // An event kind a later revision added: this host does not know it and skips it.
            Err(DecodeError::InvalidTag { what, tag }) => self.say(
                LogLevel::Warn,
                &format!(
                    "[{}] the plugin emitted an event this node does not know ({what} \
                     variant {tag}); it is skipped. Is the plugin newer than the node?",
                    self.section
                ),
            ),
            // Anything else is a broken plugin; it gets a log line, not a crash.
            Err(error) => self.say(
                LogLevel::Error,
                &format!(
                    "[{}] the plugin emitted a malformed event: {error}",
                    self.section
                ),
            ),
        }
    }

    fn app_rules(&self, address: RSlice<'_, u8>) -> ROption<FfiAppBox> {
        let Some(apps) = &self.apps else {
            return ROption::RNone;
        };
        // A malformed address names no app.
        let Ok(address) = Address::decode(address.as_slice()) else {
            return ROption::RNone;
        };
        // A panic must not unwind into the plugin (it would abort the process): the lookup
        // then answers none, and the node's log says why.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apps(&address))) {
            Ok(app) => app.map(share_app).into(),
            Err(payload) => {
                self.say(
                    LogLevel::Error,
                    &format!(
                        "[{}] the lookup of the app at {address} panicked: {}",
                        self.section,
                        crate::panic::panic_message(&payload)
                    ),
                );
                ROption::RNone
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Allocation, ChannelId, Params, Participant, State};
    use std::sync::Mutex;

    fn recording_host(section: &str, lines: &Arc<Mutex<Vec<(String, String)>>>) -> Host {
        let lines = lines.clone();
        let owner = section.to_string();
        let dir = std::env::temp_dir();
        Host::new(host_context(
            section,
            &dir,
            &dir,
            LogLevel::Trace,
            move |_, _, message| {
                lines
                    .lock()
                    .unwrap()
                    .push((owner.clone(), message.to_string()))
            },
            |_| {},
        ))
    }

    #[test]
    fn the_bound_instance_is_the_one_a_thread_reports_under() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let first = recording_host("first", &lines);
        let second = recording_host("second", &lines);
        second.scope(|| {
            Host::with_current(|host| host.log(LogLevel::Info, "t", "in second"));
            first.scope(|| Host::with_current(|host| host.log(LogLevel::Info, "t", "nested")));
            Host::with_current(|host| host.log(LogLevel::Info, "t", "second again"));
        });
        std::thread::spawn(move || {
            first.bind_current_thread();
            Host::with_current(|host| host.log(LogLevel::Info, "t", "own thread"));
        })
        .join()
        .unwrap();
        let lines = lines.lock().unwrap();
        let owner = |text: &str| {
            lines
                .iter()
                .find(|(_, m)| m == text)
                .map(|(s, _)| s.clone())
        };
        assert_eq!(owner("in second").as_deref(), Some("second"));
        assert_eq!(owner("nested").as_deref(), Some("first"));
        assert_eq!(owner("second again").as_deref(), Some("second"));
        assert_eq!(owner("own thread").as_deref(), Some("first"));
    }

    #[test]
    fn the_most_detailed_level_of_any_instance_is_known_without_a_lookup() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let host = recording_host("detailed", &lines);
        assert!(host.log_enabled(LogLevel::Trace));
        assert_eq!(Host::most_detailed_level(), Some(LogLevel::Trace));
    }

    #[test]
    fn an_unknown_event_kind_is_skipped_with_a_warning() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let events = Arc::new(Mutex::new(0));
        let counted = events.clone();
        let dir = std::env::temp_dir();
        let context = host_context(
            "chain",
            &dir,
            &dir,
            LogLevel::Info,
            move |level, _, message| seen.lock().unwrap().push((level, message.to_string())),
            move |_| *counted.lock().unwrap() += 1,
        );
        context.emit(RVec::from(vec![200u8, 1, 2, 3]));
        assert_eq!(*events.lock().unwrap(), 0);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0, LogLevel::Warn);
        assert!(lines[0].1.contains("does not know"), "{}", lines[0].1);
    }

    /// The rules of a tiny test app: only participant 0 may move, and a move to version 13
    /// panics.
    struct OnlyFirst;

    impl App for OnlyFirst {
        fn init(&self, _: &Params, _: &str) -> crate::PluginResult<Vec<u8>> {
            Ok(Vec::new())
        }
        fn valid_init(&self, _: &Params, _: &State) -> crate::PluginResult<()> {
            Ok(())
        }
        fn valid_transition(
            &self,
            _: &Params,
            _: &State,
            to: &State,
            actor: u16,
        ) -> crate::PluginResult<()> {
            assert_ne!(to.version, 13, "unlucky version");
            match actor {
                0 => Ok(()),
                _ => Err(crate::PluginError::rejected(format!(
                    "only participant 0 moves, not {actor}"
                ))),
            }
        }
        fn describe(&self, _: &Params, _: &State) -> crate::PluginResult<String> {
            Ok("{}".into())
        }
        fn apply(&self, _: &Params, state: &State, _: &str, _: u16) -> crate::PluginResult<State> {
            Ok(state.clone())
        }
        fn samples(&self) -> crate::PluginResult<crate::AppSamples> {
            Err(crate::PluginError::unsupported("no samples"))
        }
    }

    fn params() -> Params {
        Params {
            participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
            challenge_duration: 60,
            nonce: [7; 32],
            app: Some(Address(vec![0xaa; 20])),
            ledger_channel: false,
            virtual_channel: false,
        }
    }

    fn state(version: u64) -> State {
        State {
            channel_id: ChannelId([9; 32]),
            version,
            allocation: Allocation::default(),
            app_data: crate::codec::Bytes(Vec::new()),
            is_final: false,
        }
    }

    fn host_with(apps: impl Fn(&Address) -> Option<Arc<dyn App>> + Send + Sync + 'static) -> Host {
        let dir = std::env::temp_dir();
        Host::new(host_context_with_apps(
            "chain",
            &dir,
            &dir,
            LogLevel::Warn,
            |_, _, _| {},
            |_| {},
            apps,
        ))
    }

    #[test]
    fn a_host_offering_apps_hands_out_their_rules_by_address() {
        let known = Address(vec![0xaa; 20]);
        let offered = known.clone();
        let host = host_with(move |address| {
            (*address == offered).then(|| Arc::new(OnlyFirst) as Arc<dyn App>)
        });
        let app = host
            .app(&known)
            .expect("the host offers the app at its address");
        let (p, from, to) = (params(), state(1), state(2));
        assert_eq!(app.valid_transition(&p, &from, &to, 0), Ok(()));
        let refusal = app.valid_transition(&p, &from, &to, 1).unwrap_err();
        assert_eq!(refusal.kind, crate::ErrorKind::Rejected);
        assert_eq!(refusal.message(), "only participant 0 moves, not 1");
        // A panic in the shared rules comes back as an error, not an unwinding.
        let panicked = app.valid_transition(&p, &from, &state(13), 0).unwrap_err();
        assert_eq!(panicked.kind, crate::ErrorKind::Panicked);
        assert!(panicked.message().contains("unlucky version"), "{panicked}");
        assert!(host.app(&Address(vec![0xbb; 20])).is_none());
    }

    #[test]
    fn a_host_without_apps_and_an_older_host_offer_none() {
        let dir = std::env::temp_dir();
        let plain = Host::new(host_context(
            "chain",
            &dir,
            &dir,
            LogLevel::Warn,
            |_, _, _| {},
            |_| {},
        ));
        assert!(plain.app(&Address(vec![0xaa; 20])).is_none());

        // A host that implements only the prefix, as a node before the capability did: the
        // method's default answers (the same body a plugin runs when the node's table lacks
        // the method).
        #[derive(Clone)]
        struct PrefixOnly;
        impl FfiHost for PrefixOnly {
            fn section(&self) -> RString {
                "chain".into()
            }
            fn data_dir(&self) -> RString {
                "/".into()
            }
            fn config_dir(&self) -> RString {
                "/".into()
            }
            fn max_log_level(&self) -> u8 {
                LogLevel::Warn as u8
            }
            fn log(&self, _: u8, _: RStr<'_>, _: RStr<'_>) {}
            fn emit(&self, _: RVec<u8>) {}
        }
        let older = Host::new(FfiHost_TO::from_ptr(RArc::new(PrefixOnly), TD_Opaque));
        assert!(older.app(&Address(vec![0xaa; 20])).is_none());
    }

    #[test]
    fn log_fields_reach_a_structured_host_apart_and_others_in_the_line() {
        let dir = std::env::temp_dir();
        let fields = [("remote", "127.0.0.1:9740"), ("connection", "7")];

        let structured = Arc::new(Mutex::new(Vec::new()));
        let seen = structured.clone();
        let host = Host::new(host_context_with_log_lines(
            "wire",
            &dir,
            &dir,
            LogLevel::Info,
            move |line| {
                let fields: Vec<(String, String)> = line
                    .fields
                    .iter()
                    .map(|Tuple2(name, value)| (name.to_string(), value.to_string()))
                    .collect();
                seen.lock().unwrap().push((
                    line.target.to_string(),
                    line.message.to_string(),
                    fields,
                ));
            },
            |_| {},
            |_| None,
        ));
        host.log_fields(LogLevel::Info, "quic", "connection up", &fields);
        host.log_fields(LogLevel::Debug, "quic", "not printed", &fields);
        host.log(LogLevel::Warn, "quic", "plain");
        let structured = structured.lock().unwrap();
        assert_eq!(structured.len(), 2, "{structured:?}");
        assert_eq!(structured[0].0, "quic");
        assert_eq!(structured[0].1, "connection up");
        assert_eq!(
            structured[0].2,
            vec![
                ("remote".to_string(), "127.0.0.1:9740".to_string()),
                ("connection".to_string(), "7".to_string())
            ]
        );
        assert_eq!(
            (structured[1].1.as_str(), structured[1].2.len()),
            ("plain", 0)
        );

        // A host of plain text lines gets the fields written after the message.
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let host = Host::new(host_context(
            "wire",
            &dir,
            &dir,
            LogLevel::Info,
            move |_, _, text| seen.lock().unwrap().push(text.to_string()),
            |_| {},
        ));
        host.log_fields(LogLevel::Info, "quic", "connection up", &fields);
        assert_eq!(
            *lines.lock().unwrap(),
            vec!["connection up remote=127.0.0.1:9740 connection=7".to_string()]
        );

        // A node before revision 4 has no `log_fields` in its table: the method's default
        // (the body a plugin runs then) writes them into the line through `log`.
        #[derive(Clone)]
        struct Older(Arc<Mutex<Vec<String>>>);
        impl FfiHost for Older {
            fn section(&self) -> RString {
                "wire".into()
            }
            fn data_dir(&self) -> RString {
                "/".into()
            }
            fn config_dir(&self) -> RString {
                "/".into()
            }
            fn max_log_level(&self) -> u8 {
                LogLevel::Info as u8
            }
            fn log(&self, _: u8, _: RStr<'_>, message: RStr<'_>) {
                self.0.lock().unwrap().push(message.to_string());
            }
            fn emit(&self, _: RVec<u8>) {}
        }
        let older_lines = Arc::new(Mutex::new(Vec::new()));
        let older = Host::new(FfiHost_TO::from_ptr(
            RArc::new(Older(older_lines.clone())),
            TD_Opaque,
        ));
        older.log_fields(LogLevel::Info, "quic", "connection up", &fields);
        assert_eq!(
            *older_lines.lock().unwrap(),
            vec!["connection up remote=127.0.0.1:9740 connection=7".to_string()]
        );
    }

    #[test]
    fn a_panicking_app_lookup_answers_none_and_says_so() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let dir = std::env::temp_dir();
        let host = Host::new(host_context_with_apps(
            "chain",
            &dir,
            &dir,
            LogLevel::Warn,
            move |level, _, message| seen.lock().unwrap().push((level, message.to_string())),
            |_| {},
            |_| panic!("lookup broke"),
        ));
        assert!(host.app(&Address(vec![0xaa; 20])).is_none());
        let lines = lines.lock().unwrap();
        assert!(
            lines
                .iter()
                .any(|(level, line)| *level == LogLevel::Error && line.contains("lookup broke")),
            "{lines:?}"
        );
    }
}
