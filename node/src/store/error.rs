//! [`StoreError`]: everything that can go wrong between the node and its store, with the
//! channel, proposal or key it concerns.

use super::committer::CommitError;
use super::schema::Slot;
use crate::protocol::{ProposalId, RestoreError};
use parley_plugin_api::codec::DecodeError;
use parley_plugin_api::model::ChannelId;
use parley_plugin_api::PluginError;
use std::fmt;
use thiserror::Error;

/// What a failed write was for, so its error names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteTarget {
    /// The records of one channel.
    Channel(ChannelId),
    /// The schema version, written when a store is first opened.
    Schema,
    /// A proposal awaiting an answer.
    Proposal(ProposalId),
    /// A caller-built batch of this many writes.
    Batch {
        /// The number of writes.
        ops: usize,
    },
}

impl fmt::Display for WriteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteTarget::Channel(id) => write!(f, "the records of channel {id}"),
            WriteTarget::Schema => f.write_str("the schema version"),
            WriteTarget::Proposal(id) => write!(f, "proposal {id}"),
            WriteTarget::Batch { ops } => write!(f, "a batch of {ops} writes"),
        }
    }
}

/// Why the node could not read or write its store, or why what it read is not a channel.
/// One variant per rule; every variant names the channel, proposal or key concerned.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store plugin failed a `get`.
    #[error("cannot read key {key} from the store: {source}")]
    Read {
        /// The key, readable (see [`describe_key`](super::schema::describe_key)).
        key: String,
        /// The plugin's error.
        source: PluginError,
    },
    /// The store plugin failed a `scan`.
    #[error("cannot scan the keys under {prefix} in the store: {source}")]
    Scan {
        /// The prefix, readable.
        prefix: String,
        /// The plugin's error.
        source: PluginError,
    },
    /// A write was not committed (the store promises nothing of it was written).
    #[error("cannot write {target}: {source}")]
    Write {
        /// What the write was for.
        target: WriteTarget,
        /// Why the commit failed.
        source: CommitError,
    },
    /// The operating system refused to start the committer thread.
    #[error("cannot start the store's committer thread: {0}")]
    StartCommitter(std::io::Error),
    /// The store was written by a newer node with a schema this one cannot read.
    #[error(
        "the store holds schema version {found}, but this node reads only version {supported}: \
         run a node at least as new as the one that wrote it"
    )]
    NewerSchema {
        /// The version in the store.
        found: u32,
        /// The version this node writes and reads.
        supported: u32,
    },
    /// The store's schema is older than this node's and no migration exists for it.
    #[error(
        "the store holds schema version {found}, and this node (schema version {supported}) \
         has no migration from it"
    )]
    OlderSchema {
        /// The version in the store.
        found: u32,
        /// The version this node writes and reads.
        supported: u32,
    },
    /// The schema version key holds something other than a 4-byte version.
    #[error(
        "key meta/schema holds {len} bytes, not a 4-byte schema version: the store is damaged"
    )]
    MalformedSchema {
        /// The length found.
        len: usize,
    },
    /// The store has keys but no schema version: another program wrote it.
    #[error(
        "the store holds key {key} but no schema version, so no Parley node wrote it; \
         point [store] at an empty or Parley-owned location"
    )]
    NotAParleyStore {
        /// The first key found.
        key: String,
    },
    /// A key handed to a channel's decoding belongs to another channel or to no channel.
    #[error("channel {channel}: key {key} is not one of its record keys")]
    KeyOfOtherChannel {
        /// The channel being decoded.
        channel: ChannelId,
        /// The key, readable.
        key: String,
    },
    /// A channel key names a slot this schema does not have.
    #[error("channel {channel}: unknown record slot {slot}")]
    UnknownSlot {
        /// The channel.
        channel: ChannelId,
        /// The slot byte of the key.
        slot: u8,
    },
    /// A slot's value is not the canonical encoding of a record.
    #[error("channel {channel}: the {slot} slot holds a malformed record: {source}")]
    MalformedRecord {
        /// The channel.
        channel: ChannelId,
        /// The slot.
        slot: Slot,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A slot holds a record of another kind.
    #[error("channel {channel}: the {slot} slot holds a {found} record")]
    RecordInWrongSlot {
        /// The channel.
        channel: ChannelId,
        /// The slot of the key.
        slot: Slot,
        /// The slot the record belongs in.
        found: Slot,
    },
    /// The channel record filed under one id opens another channel.
    #[error("channel {channel}: its channel record is for channel {found}")]
    RecordOfOtherChannel {
        /// The id the record is filed (or was to be filed) under.
        channel: ChannelId,
        /// The id in the record.
        found: ChannelId,
    },
    /// The records decode, but do not make a channel.
    #[error("channel {channel}: {source}")]
    Inconsistent {
        /// The channel.
        channel: ChannelId,
        /// The rule broken.
        source: RestoreError,
    },
    /// A record under `arch/` is not a closed channel filed under its own id.
    #[error("the archived channel record {key} {reason}")]
    MalformedArchive {
        /// The key, readable.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key under `prop/` is not a proposal key.
    #[error("key {key} under prop/ is not a proposal key")]
    MalformedProposalKey {
        /// The key, readable.
        key: String,
    },
    /// A proposal's value is not the canonical encoding of a stored proposal.
    #[error("proposal {id}: the stored value is malformed: {source}")]
    MalformedProposal {
        /// The id of its key.
        id: ProposalId,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A proposal is filed under another proposal's id.
    #[error("proposal {id}: the stored proposal has id {found}")]
    ProposalUnderOtherId {
        /// The id of its key.
        id: ProposalId,
        /// The id in the value.
        found: ProposalId,
    },
    /// A record under `pay/` is not a payment filed under its own id.
    #[error("the payment record {key} is malformed: {reason}")]
    MalformedPayment {
        /// The key, readable.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A record under `carry/` is not the state of the virtual channel it is filed under.
    #[error("the carried virtual channel record {key} is malformed: {reason}")]
    MalformedCarried {
        /// The key, readable.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}
