//! Persistence of channels over the store plugin (DESIGN §1 `store/`, §4 write-ahead).
//!
//! The store plugin keeps bytes under keys; this module owns what the bytes mean and when they
//! are written:
//!
//! - [`schema`]: the key layout (documented there), pure functions from
//!   [`PersistRecord`](crate::protocol::PersistRecord)s to writes and from scanned pairs back
//!   to [`ChannelSnapshot`](crate::protocol::ChannelSnapshot)s. No I/O.
//! - [`committer`]: the one thread that writes, grouping the batches of concurrent channels
//!   into one durable `Store::commit`.
//! - [`channels`]: [`ChannelStore`], the facade the client uses: open (schema check),
//!   `persist` (resolves once durable), restore, remove, proposals.
//! - [`members`]: which node holds each participant of a channel.
//! - [`node_records`]: the peers the user added (and version 2's peer links).
//! - [`payments`]: the payment history (`pay/`), written in the channels' own batches.
//! - [`archive`]: closed channels, moved out of the active set when they close.
//! - [`carried`]: the states of the virtual channels this node carries as an intermediary.
//! - [`proposal`]: [`StoredProposal`], a proposal awaiting an answer.
//! - [`error`]: [`StoreError`], naming the channel, proposal or key concerned.
//!
//! Unlike [`crate::protocol`], this module does I/O (through the plugin) and owns a thread;
//! its decisions (layout, grouping, decoding) stay in [`schema`] and are tested without either.

pub mod archive;
pub mod carried;
pub mod channels;
pub mod committer;
pub mod error;
pub mod members;
pub mod node_records;
pub mod payments;
pub mod proposal;
pub mod schema;

#[cfg(test)]
pub(crate) mod test_support;

pub use archive::ArchivedChannel;
pub use channels::{BrokenChannel, ChannelStore, Restored};
pub use committer::{CommitError, CommitStats, Committer, CommitterLimits};
pub use error::{StoreError, WriteTarget};
pub use members::ChannelMembers;
pub use node_records::StoredPeer;
pub use payments::{Direction, PaymentId, PaymentRecord, PaymentStatus};
pub use proposal::{Proposer, StoredProposal};
pub use schema::{decode_channel, ops_for, Slot, SCHEMA_VERSION};
