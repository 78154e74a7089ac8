//! The node's key layout over the store plugin: pure functions from records to writes and from
//! scanned pairs back to snapshots. No I/O here.
//!
//! # Layout (schema version 4)
//!
//! | key                                   | value                                         |
//! |---------------------------------------|-----------------------------------------------|
//! | `meta/schema`                         | the schema version, `u32` big-endian          |
//! | `ch/` ‖ channel id (32) ‖ `/` ‖ slot  | the canonical encoding of a [`PersistRecord`] |
//! | `prop/` ‖ proposal id (32)            | the canonical encoding of a [`StoredProposal`] |
//! | `memb/` ‖ channel id (32)             | its members ([`super::members`])               |
//! | `peer/`                               | the peers the user added ([`super::node_records`]) |
//! | `addr/` ‖ node id (33)                | where a peer said it listens ([`super::node_records`]) |
//! | `arch/` ‖ channel id (32)             | a closed channel ([`super::archive`])          |
//!
//! A channel has one key per record slot ([`Slot`]: 0 channel, 1 latest, 2 pending, 3 phase,
//! 4 funding; the slot byte equals the record's tag), so each `Persist` effect is one put that
//! replaces its slot, and an update writes about a hundred bytes instead of the whole channel.
//! An empty pending slot is stored as no key at all (the put of `Pending(None)` is a delete), so
//! a restore reads only what exists; likewise ledger funding is no funding key (the put of
//! `Funding(Ledger)` is a delete), so a store written before slot 4 existed holds exactly what
//! this layout gives its ledger-funded channels, and reads unchanged. All keys of a channel
//! share the prefix `ch/` ‖ id ‖ `/`, and all channels the prefix `ch/`: a restore is one
//! ordered scan, and the keys of one channel arrive together.
//! Keys are at most 37 bytes, far below the store's 511-byte limit.
//!
//! Ids are raw bytes, not hex, to keep keys short; [`describe_key`] renders them for messages.
//! The value of a slot repeats the record's tag, which lets a decoder check that each record
//! sits in its own slot.
//!
//! A node refuses a store with a newer schema version; a change to this layout must bump
//! [`SCHEMA_VERSION`] and bring a migration for the older one.
//!
//! Version 2 added the archive: version 1 kept closed channels among the active ones, so they
//! were restored, given a task and their peers redialled forever. Opening a version-1 store
//! archives its closed channels and writes version 2 in one commit
//! ([`super::archive::migrate_from_v1`]).
//!
//! Version 3 replaced the one peer of each channel (`link/` ‖ channel id → a node id) with its
//! members (`memb/` ‖ channel id → the node of each participant index), so that a channel is
//! not assumed to have exactly one other party; it also admits the funding slot (4), which
//! only a channel funded by a parent writes (a node of version 2 would refuse it). Opening a version-2 store turns each link into
//! the members of its two-party channel and writes version 3 in one commit
//! ([`super::members::migrate_from_v2`]). A version-1 store takes both steps, each its own
//! commit, so a crash between them leaves a version-2 store that opens like any other.
//!
//! Version 4 added the addresses peers announce in their handshake (`addr/` ‖ node id). Nothing
//! older changes, so opening a version-3 store writes version 4 alone
//! ([`super::node_records::migrate_from_v3`]); the bump keeps a version-3 node from running on
//! a store whose announced addresses it would drop without a word.
//!
//! Version 5 added the slot of the version a restart spent (5, [`Slot::Spent`]; no key for
//! none). Nothing older changes, so opening a version-4 store writes version 5 alone
//! ([`migrate_from_v4`]); the bump keeps a version-4 node from refusing every channel a
//! version-5 node restarted (an unknown slot) as damaged.

use super::error::StoreError;
use super::proposal::StoredProposal;
use crate::protocol::{ChannelSnapshot, Funding, PersistRecord, ProposalId};
use parley_plugin_api::codec::{Decode, Encode};
use parley_plugin_api::model::{ChannelId, WriteOp};
use std::fmt;

/// The version of the layout this node writes and reads.
pub const SCHEMA_VERSION: u32 = 5;

/// The oldest version this node migrates from (to [`SCHEMA_VERSION`]) when it opens a store.
pub const OLDEST_MIGRATED: u32 = 1;

/// The key of the schema version.
pub const SCHEMA_KEY: &[u8] = b"meta/schema";

/// The prefix of every channel key.
pub const CHANNEL_PREFIX: &[u8] = b"ch/";

/// The prefix of every proposal key.
pub const PROPOSAL_PREFIX: &[u8] = b"prop/";

/// The length of a channel key: prefix, id, separator, slot.
const CHANNEL_KEY_LEN: usize = CHANNEL_PREFIX.len() + 32 + 1 + 1;

/// The length of a proposal key: prefix, id.
const PROPOSAL_KEY_LEN: usize = PROPOSAL_PREFIX.len() + 32;

/// One durable slot of a channel: each [`PersistRecord`] kind replaces its own. The byte value
/// is the record's tag and is part of the key layout: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Slot {
    /// The channel's fixed facts ([`PersistRecord::Opened`]).
    Channel = 0,
    /// The newest state and its signatures ([`PersistRecord::Latest`]).
    Latest = 1,
    /// Our unanswered update ([`PersistRecord::Pending`]).
    Pending = 2,
    /// The phase ([`PersistRecord::Phase`]).
    Phase = 3,
    /// How the channel is funded ([`PersistRecord::Funding`]); absent for ledger funding.
    Funding = 4,
    /// The version the last restart spent ([`PersistRecord::Spent`]); absent for none.
    Spent = 5,
}

impl Slot {
    /// Every slot, in key order.
    pub const ALL: [Slot; 6] = [
        Slot::Channel,
        Slot::Latest,
        Slot::Pending,
        Slot::Phase,
        Slot::Funding,
        Slot::Spent,
    ];

    /// The slot a record replaces.
    pub fn of(record: &PersistRecord) -> Slot {
        match record {
            PersistRecord::Opened(_) => Slot::Channel,
            PersistRecord::Latest(_) => Slot::Latest,
            PersistRecord::Pending(_) => Slot::Pending,
            PersistRecord::Phase(_) => Slot::Phase,
            PersistRecord::Funding(_) => Slot::Funding,
            PersistRecord::Spent(_) => Slot::Spent,
        }
    }

    /// The slot with this key byte, if any.
    pub fn from_byte(byte: u8) -> Option<Slot> {
        Slot::ALL.get(usize::from(byte)).copied()
    }

    /// A lowercase name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Channel => "channel",
            Slot::Latest => "latest",
            Slot::Pending => "pending",
            Slot::Phase => "phase",
            Slot::Funding => "funding",
            Slot::Spent => "spent",
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The prefix shared by every key of one channel: `ch/` ‖ id ‖ `/`.
pub fn channel_prefix(channel_id: &ChannelId) -> Vec<u8> {
    let mut key = Vec::with_capacity(CHANNEL_KEY_LEN);
    key.extend_from_slice(CHANNEL_PREFIX);
    key.extend_from_slice(&channel_id.0);
    key.push(b'/');
    key
}

/// The key of one slot of a channel.
pub fn channel_key(channel_id: &ChannelId, slot: Slot) -> Vec<u8> {
    let mut key = channel_prefix(channel_id);
    key.push(slot as u8);
    key
}

/// The channel id and raw slot byte of a channel key, or `None` if `key` is not shaped like
/// one. The slot byte is returned raw so that a decoder can name an unknown slot.
pub fn parse_channel_key(key: &[u8]) -> Option<(ChannelId, u8)> {
    if key.len() != CHANNEL_KEY_LEN
        || !key.starts_with(CHANNEL_PREFIX)
        || key[CHANNEL_KEY_LEN - 2] != b'/'
    {
        return None;
    }
    let id: [u8; 32] = key[CHANNEL_PREFIX.len()..CHANNEL_PREFIX.len() + 32]
        .try_into()
        .ok()?;
    Some((ChannelId(id), key[CHANNEL_KEY_LEN - 1]))
}

/// The key of a proposal.
pub fn proposal_key(id: &ProposalId) -> Vec<u8> {
    let mut key = Vec::with_capacity(PROPOSAL_KEY_LEN);
    key.extend_from_slice(PROPOSAL_PREFIX);
    key.extend_from_slice(&id.0);
    key
}

/// The proposal id of a proposal key, or `None` if `key` is not one.
pub fn parse_proposal_key(key: &[u8]) -> Option<ProposalId> {
    if key.len() != PROPOSAL_KEY_LEN || !key.starts_with(PROPOSAL_PREFIX) {
        return None;
    }
    Some(ProposalId(key[PROPOSAL_PREFIX.len()..].try_into().ok()?))
}

/// A key rendered for humans: the known layouts with their ids in hex, anything else as text
/// if it is printable and as hex if not.
pub fn describe_key(key: &[u8]) -> String {
    if let Some((id, slot)) = parse_channel_key(key) {
        return match Slot::from_byte(slot) {
            Some(slot) => format!("ch/{id}/{slot}"),
            None => format!("ch/{id}/{slot}"),
        };
    }
    if let Some(id) = parse_proposal_key(key) {
        return format!("prop/{id}");
    }
    match std::str::from_utf8(key) {
        Ok(text) if text.chars().all(|c| c.is_ascii_graphic()) => text.to_string(),
        _ => format!("0x{}", hex::encode(key)),
    }
}

/// The write that stores the current schema version.
pub fn schema_op() -> WriteOp {
    schema_op_of(SCHEMA_VERSION)
}

/// The writes that bring a store of schema version 4 to 5: version 5 only adds the slot
/// [`Slot::Spent`], so the step is the version alone (one write).
pub fn migrate_from_v4() -> Vec<WriteOp> {
    vec![schema_op_of(5)]
}

/// The write that stores schema version `version` (a migration step writes the version it
/// reaches, which need not be the current one).
pub fn schema_op_of(version: u32) -> WriteOp {
    WriteOp::put(SCHEMA_KEY.to_vec(), version.to_be_bytes().to_vec())
}

/// The schema version in the value of [`SCHEMA_KEY`], checked against this node's: this
/// version, or an older one it migrates from (the caller migrates).
pub fn check_schema(value: &[u8]) -> Result<u32, StoreError> {
    let bytes: [u8; 4] = value
        .try_into()
        .map_err(|_| StoreError::MalformedSchema { len: value.len() })?;
    let found = u32::from_be_bytes(bytes);
    if found > SCHEMA_VERSION {
        Err(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        })
    } else if found < OLDEST_MIGRATED {
        Err(StoreError::OlderSchema {
            found,
            supported: SCHEMA_VERSION,
        })
    } else {
        Ok(found)
    }
}

/// The write that replaces one record's slot: a put of its encoding, or a delete for an empty
/// pending slot, for ledger funding and for no version spent by a restart (each stored as no
/// key).
pub fn record_op(channel_id: &ChannelId, record: &PersistRecord) -> WriteOp {
    let key = channel_key(channel_id, Slot::of(record));
    match record {
        PersistRecord::Pending(None)
        | PersistRecord::Funding(Funding::Ledger)
        | PersistRecord::Spent(0) => WriteOp::delete(key),
        record => WriteOp::put(key, record.encode()),
    }
}

/// The writes that persist `records` of one channel, in slot order. The batch is committed
/// atomically, so only the last record of each slot can ever be observed: the others are
/// left out. (The protocol writes the channel record once, so no two differ.)
pub fn ops_for(channel_id: &ChannelId, records: &[PersistRecord]) -> Vec<WriteOp> {
    let mut newest: [Option<&PersistRecord>; Slot::ALL.len()] = [None; Slot::ALL.len()];
    for record in records {
        newest[Slot::of(record) as usize] = Some(record);
    }
    newest
        .iter()
        .flatten()
        .map(|record| record_op(channel_id, record))
        .collect()
}

/// The writes that remove every slot of a channel (deleting a missing key is not an error).
pub fn remove_ops(channel_id: &ChannelId) -> Vec<WriteOp> {
    Slot::ALL
        .iter()
        .map(|slot| WriteOp::delete(channel_key(channel_id, *slot)))
        .collect()
}

/// Key-value pairs in ascending key order, as `Store::scan` returns them.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A scan of [`CHANNEL_PREFIX`], split per channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelGroups {
    /// Each channel's id with its key-value pairs, in key order.
    pub channels: Vec<(ChannelId, Pairs)>,
    /// Keys under the prefix that are not shaped like a channel key.
    pub stray_keys: Vec<Vec<u8>>,
}

/// Splits pairs in ascending key order (as `Store::scan` returns them) into one group per
/// channel. Keys of one channel are adjacent in that order, so one pass suffices.
pub fn group_channels(pairs: Pairs) -> ChannelGroups {
    let mut groups = ChannelGroups::default();
    for (key, value) in pairs {
        let Some((id, _)) = parse_channel_key(&key) else {
            groups.stray_keys.push(key);
            continue;
        };
        match groups.channels.last_mut() {
            Some((last, pairs)) if *last == id => pairs.push((key, value)),
            _ => groups.channels.push((id, vec![(key, value)])),
        }
    }
    groups
}

/// The snapshot stored in one channel's pairs (its keys under [`channel_prefix`]).
///
/// Checks the store's own rules: every key is a known slot of this channel, every value
/// decodes to a record of its slot, the channel record is this channel's, and the records
/// make a snapshot ([`ChannelSnapshot::from_records`]). The protocol's rules on the snapshot
/// are [`Channel::restore`](crate::protocol::Channel::restore)'s to check.
pub fn decode_channel(
    channel_id: &ChannelId,
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> Result<ChannelSnapshot, StoreError> {
    let channel = *channel_id;
    let mut records = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let slot = match parse_channel_key(key) {
            Some((id, slot)) if id == channel => slot,
            _ => {
                return Err(StoreError::KeyOfOtherChannel {
                    channel,
                    key: describe_key(key),
                })
            }
        };
        let slot = Slot::from_byte(slot).ok_or(StoreError::UnknownSlot { channel, slot })?;
        let record =
            PersistRecord::decode(value).map_err(|source| StoreError::MalformedRecord {
                channel,
                slot,
                source,
            })?;
        let found = Slot::of(&record);
        if found != slot {
            return Err(StoreError::RecordInWrongSlot {
                channel,
                slot,
                found,
            });
        }
        check_channel_record(&channel, &record)?;
        records.push(record);
    }
    ChannelSnapshot::from_records(&records)
        .map_err(|source| StoreError::Inconsistent { channel, source })
}

/// What can still be defended of a channel whose records do not decode ([`decode_channel`]
/// failed): its channel record and a fully signed newest state, each read from its own slot,
/// whatever is wrong with the others. Our pending update is left out (the peer may hold it,
/// but it is never needed to refute); an unreadable phase becomes `Closing` for a final state
/// and `Active` otherwise (the channel is then only watched and settled on chain, never used).
/// `None` if no fully signed state of this channel is readable.
///
/// The funding is read from its slot; with no funding key the channel is ledger-funded. A
/// funding key that does not decode leaves only the parameters to go by: a ledger channel is
/// salvaged as ledger-funded, any other is not salvaged (its parent is unknown, and guessing
/// one would register the wrong tree).
pub fn salvage_channel(
    channel_id: &ChannelId,
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> Option<ChannelSnapshot> {
    let record_in = |slot: Slot| {
        let key = channel_key(channel_id, slot);
        let (_, value) = pairs.iter().find(|(k, _)| *k == key)?;
        PersistRecord::decode(value).ok()
    };
    let Some(PersistRecord::Opened(channel)) = record_in(Slot::Channel) else {
        return None;
    };
    let Some(PersistRecord::Latest(latest)) = record_in(Slot::Latest) else {
        return None;
    };
    if channel.channel_id != *channel_id || latest.sigs.iter().any(Option::is_none) {
        return None;
    }
    let phase = match record_in(Slot::Phase) {
        Some(PersistRecord::Phase(phase)) if phase != crate::protocol::Phase::Opening => phase,
        _ if latest.state.is_final => crate::protocol::Phase::Closing,
        _ => crate::protocol::Phase::Active,
    };
    let funding_key = channel_key(channel_id, Slot::Funding);
    let funding = match record_in(Slot::Funding) {
        Some(PersistRecord::Funding(funding)) => funding,
        _ if !pairs.iter().any(|(k, _)| *k == funding_key) => Funding::Ledger,
        _ if channel.params.ledger_channel && !channel.params.virtual_channel => Funding::Ledger,
        _ => return None,
    };
    // The version a restart spent is kept: a salvaged channel proposes nothing, but its
    // snapshot stays what the records say.
    let spent = match record_in(Slot::Spent) {
        Some(PersistRecord::Spent(version)) => version,
        _ => 0,
    };
    Some(ChannelSnapshot {
        channel,
        phase,
        latest,
        pending: None,
        funding,
        spent,
    })
}

/// Refuses a channel record that opens a channel other than the one it is filed under.
pub fn check_channel_record(
    channel_id: &ChannelId,
    record: &PersistRecord,
) -> Result<(), StoreError> {
    match record {
        PersistRecord::Opened(opened) if opened.channel_id != *channel_id => {
            Err(StoreError::RecordOfOtherChannel {
                channel: *channel_id,
                found: opened.channel_id,
            })
        }
        _ => Ok(()),
    }
}

/// The write that stores a proposal under its id.
pub fn proposal_put_op(proposal: &StoredProposal) -> WriteOp {
    WriteOp::put(
        proposal_key(&proposal.proposal.proposal_id),
        proposal.encode(),
    )
}

/// The write that removes a proposal once it is answered or expired.
pub fn proposal_delete_op(id: &ProposalId) -> WriteOp {
    WriteOp::delete(proposal_key(id))
}

/// The proposal stored in one pair under [`PROPOSAL_PREFIX`].
pub fn decode_proposal(key: &[u8], value: &[u8]) -> Result<StoredProposal, StoreError> {
    let id = parse_proposal_key(key).ok_or_else(|| StoreError::MalformedProposalKey {
        key: describe_key(key),
    })?;
    let stored = StoredProposal::decode(value)
        .map_err(|source| StoreError::MalformedProposal { id, source })?;
    let found = stored.proposal.proposal_id;
    if found != id {
        return Err(StoreError::ProposalUnderOtherId { id, found });
    }
    Ok(stored)
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
