//! # parley-node
//!
//! The Parley state channel node: a library and the `parley` binary. The node hosts plugins
//! (chain backends, transports, stores) loaded at run time through the stable ABI of
//! `parley-plugin-api`, and never depends on a plugin crate.
//!
//! - [`assembly`]: the node put together from its config (key, plugins, store, peers, the
//!   driver's tasks, the API server), started and shut down.
//! - [`config`]: `node.toml`, parsed and validated in one place.
//! - [`data_dir_lock`]: one node process per data directory.
//! - [`host`]: loads plugin libraries, checks kind and ABI version, instantiates them.
//! - [`api`]: the JSON-RPC 2.0 API (HTTP and WebSocket subscriptions) and its authentication.
//! - [`cli`]: the `parley` commands.
//! - [`lab`]: nodes wired together on one machine, for the demo, the channel bench and the
//!   integration tests.
//! - [`protocol`]: the sans-IO channel state machine (no network, disk or clock).
//! - [`wire`]: wire messages, framing and the peer authentication handshake.
//! - [`store`]: the persistence schema over the store plugin, group commit, restore.
//! - [`client`]: the async driver: peer connections, routing, channel tasks, one owner per
//!   channel of its chain side (funding, cooperative settlement, disputes: the watchtower that
//!   follows every channel on chain and refutes stale registrations), and the operations front
//!   ends ask of it, in domain types, errors and events.
//! - [`units`]: amounts as people read and write them (`0.01 ETH`), exactly; everything else
//!   keeps base units.
//! - [`testing`]: every switch that makes a test node misbehave on purpose (never on a real
//!   node), in one place.

pub mod api;
pub mod assembly;
pub mod cli;
pub mod client;
pub mod config;
pub mod data_dir_lock;
pub mod hash;
pub mod host;
pub mod lab;
pub mod logging;
pub mod protocol;
pub mod secret_file;
pub mod store;
pub mod testing;
pub mod units;
pub mod utc;
pub mod wire;
