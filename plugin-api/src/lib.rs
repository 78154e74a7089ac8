//! # parley-plugin-api
//!
//! The stable plugin ABI of the Parley state channel node, and everything a third party needs to
//! write a chain backend, a transport or a store that the unmodified `parley` binary loads at run
//! time.
//!
//! - [`model`]: the chain-agnostic data model (channels, states, allocations, requests, events),
//!   in Perun's vocabulary, with serde and the one canonical binary encoding of [`codec`].
//! - [`ChainBackend`] (a fast [`ChainSigner`] and a waiting [`ChainLedger`], plus a [`TestClock`] on
//!   test ledgers), [`Transport`], [`Store`], [`App`] (an app channel's rules): the interfaces. Each trait's doc comment is the
//!   contract an implementation must keep (what blocks, what is atomic, what an error means,
//!   which threads call it).
//! - [`export_plugin!`]: turns a `cdylib` crate implementing one of them into a plugin. Panics in
//!   plugin code are caught at the boundary for you.
//! - [`config::parse_table`] (feature `config`): your table from `node.toml`, with errors that
//!   name the key.
//! - `conformance` (feature `conformance`): the suite that `parley plugin check <file>` runs
//!   against any plugin; run it in your own tests too.
//! - [`poller`]: the event thread a chain backend's `watch` needs, written once: implement
//!   [`poller::EventSource`] for your ledger and hand it to a [`poller::EventPoller`].
//! - [`abi`]: the binary interface itself (abi_stable root module, plain-C descriptor, FFI
//!   trait objects) and how it grows without breaking built plugins. Plugin authors rarely need
//!   it directly.
//!
//! Features: `config` (adds `toml`) and `conformance` (adds `tempfile`, implies `config`) are
//! off by default, so that a plugin links neither unless it asks.
//!
//! What this crate is not: it has no networking, storage or chain code of its own, and it never
//! depends on the node.
#![warn(missing_docs)]
#![allow(non_local_definitions)]

pub mod abi;
pub mod app;
pub mod chain;
pub mod codec;
#[cfg(feature = "config")]
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
mod export;
pub mod logging;
pub mod model;
pub mod panic;
pub mod poller;
pub mod store;
pub mod transport;

pub use abi::host::{
    host_context, host_context_with_apps, host_context_with_log_lines, Host, LogLevel, LogLine,
};
pub use abi::{PluginKind, ABI_REVISION, PLUGIN_ABI_VERSION};
pub use app::{share_app, App, AppSamples, LoadedApp, SampleMove};
pub use chain::{ChainBackend, ChainLedger, ChainSigner, LoadedChain, TestClock};
pub use error::{ErrorKind, PluginError, PluginResult};
pub use export::__private;
pub use store::{Durability, LoadedStore, Store};
pub use transport::{LoadedTransport, Transport};

/// This crate's version.
pub const API_CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// This crate's version, NUL-terminated, for the plugin descriptor.
#[doc(hidden)]
pub const API_CRATE_VERSION_NUL: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
