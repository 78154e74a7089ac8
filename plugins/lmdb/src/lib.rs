//! # parley-plugin-lmdb
//!
//! Parley's store plugin: the node's channels, states and write-ahead records kept in an LMDB
//! environment (through heed). It implements [`parley_plugin_api::Store`]: ordered reads from
//! consistent snapshots, and commits that are atomic and, by default, durable when they return.
//!
//! A durable commit goes to the store's commit log first (one frame, one `fdatasync`), and a
//! background thread writes the logged commits into LMDB about once a second; see the `log`
//! module. Configuration is the `[store]` table of `node.toml`; see [`StoreConfig`] for the
//! keys.
//! `durable = false` exists for benchmarks only: a crash may then lose recent commits (never
//! corrupt the store), which breaks the contract the node relies on.
//!
//! What it is not: it knows nothing of the node's schema (keys and values are opaque bytes),
//! and it does no caching beyond the logged commits LMDB does not hold yet, nor group commit
//! of its own (the node batches writes).

mod config;
mod environment;
mod error;
mod log;
mod merge;
mod store;

pub use config::StoreConfig;
pub use store::LmdbStore;

parley_plugin_api::export_plugin! {
    kind: Store,
    name: "lmdb",
    description: "A durable, ordered key-value store in an LMDB environment (heed)",
    check_config: "",
    new: LmdbStore::new,
}

#[cfg(test)]
mod tests;
