//! # parley-plugin-api
//!
//! The stable plugin ABI of the Parley state channel node, and everything a third party needs to
//! write a chain backend, a transport or a store that the unmodified `parley` binary loads at run
//! time.
//!
//! - [`model`]: the chain-agnostic data model (channels, states, allocations, requests, events),
//!   in Perun's vocabulary, with serde and the one canonical binary encoding of [`codec`].
//! - [`ChainBackend`], [`Transport`], [`Store`]: the three interfaces. Each trait's doc comment is
//!   the contract an implementation must keep (what blocks, what is atomic, what an error means).
//! - [`export_plugin!`]: turns a `cdylib` crate implementing one of them into a plugin. Panics in
//!   plugin code are caught at the boundary for you.
//! - [`conformance`]: the suite that `parley plugin check <file>` runs against any plugin; run it
//!   in your own tests too.
//! - [`poller`]: the event thread a chain backend's `watch` needs, written once: implement
//!   [`poller::EventSource`] for your ledger and hand it to a [`poller::EventPoller`].
//! - [`abi`]: the binary interface itself (abi_stable root module, plain-C descriptor, FFI
//!   trait objects). Plugin authors rarely need it directly.
//!
//! What this crate is not: it has no networking, storage or chain code of its own, and it never
//! depends on the node.
#![warn(missing_docs)]
#![allow(non_local_definitions)]

pub mod abi;
pub mod chain;
pub mod codec;
pub mod config;
pub mod conformance;
pub mod error;
mod export;
pub mod logging;
pub mod model;
pub mod panic;
pub mod poller;
pub mod store;
pub mod transport;

pub use abi::host::{host_context, Host, LogLevel};
pub use abi::{PluginKind, PLUGIN_ABI_VERSION};
pub use chain::{ChainBackend, LoadedChain};
pub use error::{ErrorKind, PluginError, PluginResult};
pub use export::__private;
pub use store::{LoadedStore, Store};
pub use transport::{LoadedTransport, Transport};

/// This crate's version, NUL-terminated, for the plugin descriptor.
#[doc(hidden)]
pub const API_CRATE_VERSION_NUL: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
