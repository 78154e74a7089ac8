//! Closed channels, kept out of the active set: a channel that reached `Closed` is moved to the
//! archive in the same atomic commit that closes it, so it is never restored, never gets a task
//! and its peer is never redialled, yet `channel list --closed` and `channel show` still find it.
//! Pure functions from records to writes and back; no I/O.
//!
//! | key                        | value                                          |
//! |----------------------------|------------------------------------------------|
//! | `arch/` ‖ channel id (32)  | the canonical encoding of an [`ArchivedChannel`] |
//!
//! Archiving writes the archive record and deletes the channel's slots and its members, all
//! in one batch: a crash leaves the channel either active or archived, never both or neither.

use super::error::StoreError;
use super::members::members_delete_op;
use super::node_records::{decode_links, link_delete_op};
use super::schema::{
    decode_channel, describe_key, group_channels, remove_ops, schema_op_of, Pairs,
};
use crate::protocol::{ChannelSnapshot, Funding, Phase};
use crate::wire::NodeId;
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::{ChainTime, ChannelId, Dispute, WriteOp};

/// The prefix of every archived channel.
pub const ARCHIVE_PREFIX: &[u8] = b"arch/";

/// A closed channel as it was when it closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedChannel {
    /// Everything durable about the channel at its close (phase `Closed`).
    pub snapshot: ChannelSnapshot,
    /// The peer it was with, if the node knew exactly one (the two-party view of its members).
    pub peer: Option<NodeId>,
    /// How it ended (what the node did on chain, or why an opening was abandoned), for
    /// `channel show`.
    pub note: Option<String>,
    /// Its on-chain record as last read, and the chain time of that reading.
    pub dispute: Option<(Dispute, ChainTime)>,
}

/// The archive's encoding keeps the layout archives had before channels recorded their funding:
/// the snapshot's channel, phase, newest state and pending update, then the peer, the note and
/// the dispute, and last, only for a channel that is not ledger-funded, its [`Funding`]. An
/// archive written before the funding slot existed therefore reads as ledger funding, and a
/// ledger-funded channel is archived byte for byte as before. The funding is optional at the
/// end, so an archived channel is always a whole store value, never part of a larger encoding.
impl Encode for ArchivedChannel {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let snapshot = &self.snapshot;
        snapshot.channel.encode_to(out);
        snapshot.phase.encode_to(out);
        snapshot.latest.encode_to(out);
        snapshot.pending.encode_to(out);
        self.peer.encode_to(out);
        self.note.encode_to(out);
        self.dispute.encode_to(out);
        if snapshot.funding != Funding::Ledger {
            snapshot.funding.encode_to(out);
        }
    }
}

impl Decode for ArchivedChannel {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel = Decode::decode_from(reader)?;
        let phase = Decode::decode_from(reader)?;
        let latest = Decode::decode_from(reader)?;
        let pending = Decode::decode_from(reader)?;
        let peer = Decode::decode_from(reader)?;
        let note = Decode::decode_from(reader)?;
        let dispute = Decode::decode_from(reader)?;
        let funding = if reader.remaining() == 0 {
            Funding::Ledger
        } else {
            match Funding::decode_from(reader)? {
                // Ledger funding is written as nothing: one encoding per value.
                Funding::Ledger => {
                    return Err(DecodeError::Invalid {
                        what: "archived channel",
                        reason: "ledger funding is stored as no funding record".to_string(),
                    })
                }
                funding => funding,
            }
        };
        Ok(ArchivedChannel {
            snapshot: ChannelSnapshot {
                channel,
                phase,
                latest,
                pending,
                funding,
                // A closed channel proposes nothing: the version a restart spent is not kept.
                spent: 0,
            },
            peer,
            note,
            dispute,
        })
    }
}

/// The key of an archived channel.
pub fn archive_key(channel_id: &ChannelId) -> Vec<u8> {
    [ARCHIVE_PREFIX, &channel_id.0[..]].concat()
}

/// The writes that move a closed channel from the active set to the archive, atomically.
pub fn archive_ops(archived: &ArchivedChannel) -> Vec<WriteOp> {
    let id = archived.snapshot.channel.channel_id;
    let mut ops = vec![WriteOp::put(archive_key(&id), archived.encode())];
    ops.extend(remove_ops(&id));
    ops.push(members_delete_op(&id));
    ops
}

/// The archived channel in one pair under [`ARCHIVE_PREFIX`]: it must decode, be closed, and be
/// filed under its own id.
pub fn decode_archived(key: &[u8], value: &[u8]) -> Result<ArchivedChannel, StoreError> {
    let malformed = |reason: String| StoreError::MalformedArchive {
        key: describe_key(key),
        reason,
    };
    let id: [u8; 32] = key
        .strip_prefix(ARCHIVE_PREFIX)
        .and_then(|rest| rest.try_into().ok())
        .ok_or_else(|| malformed("not an archive key".to_string()))?;
    let archived =
        ArchivedChannel::decode(value).map_err(|e| malformed(format!("does not decode: {e}")))?;
    let found = archived.snapshot.channel.channel_id;
    if found != ChannelId(id) {
        return Err(malformed(format!("holds channel {found}")));
    }
    if archived.snapshot.phase != Phase::Closed {
        return Err(malformed(format!(
            "holds a channel in phase {}",
            archived.snapshot.phase
        )));
    }
    Ok(archived)
}

/// The writes that bring a version-1 store to version 2: every closed channel among `channels`
/// (a scan of `ch/`) is archived with its peer from `links` (a scan of `link/`), and the schema
/// version becomes 2 (the links of the archived channels go with them). Channels that do not decode stay where they are (the node reports them
/// when it restores). The caller commits the writes as one batch.
pub fn migrate_from_v1(channels: Pairs, links: &Pairs) -> Vec<WriteOp> {
    let (links, _) = decode_links(links);
    let mut ops = Vec::new();
    for (id, pairs) in group_channels(channels).channels {
        if let Ok(snapshot) = decode_channel(&id, &pairs) {
            if snapshot.phase == Phase::Closed {
                ops.extend(archive_ops(&ArchivedChannel {
                    snapshot,
                    peer: links.get(&id).copied(),
                    note: None,
                    dispute: None,
                }));
                ops.push(link_delete_op(&id));
            }
        }
    }
    ops.push(schema_op_of(2));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{channel_key, Slot};
    use crate::store::test_support::snapshot;

    #[test]
    fn archiving_puts_the_record_and_removes_the_slots_and_the_members_in_one_batch() {
        let mut closed = snapshot(7, 3, false);
        closed.phase = Phase::Closed;
        let archived = ArchivedChannel {
            snapshot: closed.clone(),
            peer: None,
            note: Some("abandoned".to_string()),
            dispute: None,
        };
        let id = closed.channel.channel_id;
        let ops = archive_ops(&archived);
        let (key, value) = match &ops[0] {
            WriteOp::Put { key, value } => (key.0.clone(), value.0.clone()),
            other => panic!("expected the archive put first, got {other:?}"),
        };
        assert_eq!(decode_archived(&key, &value).unwrap(), archived);
        let deleted: Vec<Vec<u8>> = ops[1..]
            .iter()
            .map(|op| match op {
                WriteOp::Delete { key } => key.0.clone(),
                other => panic!("expected deletes after the put, got {other:?}"),
            })
            .collect();
        for slot in Slot::ALL {
            assert!(deleted.contains(&channel_key(&id, slot)), "{slot} kept");
        }
        assert!(deleted.contains(&crate::store::members::members_key(&id)));
    }

    fn closed_archive(funding: Funding) -> ArchivedChannel {
        let mut snapshot = snapshot(7, 3, false);
        snapshot.phase = Phase::Closed;
        snapshot.funding = funding;
        ArchivedChannel {
            snapshot,
            peer: None,
            note: Some("settled".to_string()),
            dispute: None,
        }
    }

    #[test]
    fn a_ledger_funded_archive_keeps_the_layout_from_before_the_funding_slot() {
        let archived = closed_archive(Funding::Ledger);
        let s = &archived.snapshot;
        // The encoding archives had before: the four snapshot fields, peer, note, dispute.
        let mut before = Vec::new();
        s.channel.encode_to(&mut before);
        s.phase.encode_to(&mut before);
        s.latest.encode_to(&mut before);
        s.pending.encode_to(&mut before);
        archived.peer.encode_to(&mut before);
        archived.note.encode_to(&mut before);
        archived.dispute.encode_to(&mut before);
        assert_eq!(archived.encode(), before);
        let key = archive_key(&s.channel.channel_id);
        assert_eq!(decode_archived(&key, &before).unwrap(), archived);
    }

    #[test]
    fn a_sub_channel_archive_keeps_its_funding_and_ledger_funding_has_one_encoding() {
        let archived = closed_archive(Funding::SubChannel {
            parent: ChannelId([3; 32]),
        });
        let key = archive_key(&archived.snapshot.channel.channel_id);
        assert_eq!(decode_archived(&key, &archived.encode()).unwrap(), archived);

        let ledger = closed_archive(Funding::Ledger);
        let mut explicit = ledger.encode();
        Funding::Ledger.encode_to(&mut explicit);
        assert!(ArchivedChannel::decode(&explicit).is_err());
    }

    #[test]
    fn an_archive_record_of_another_channel_or_an_open_one_is_refused() {
        let mut closed = snapshot(7, 3, false);
        closed.phase = Phase::Closed;
        let archived = ArchivedChannel {
            snapshot: closed,
            peer: None,
            note: None,
            dispute: None,
        };
        let other = archive_key(&ChannelId([9; 32]));
        assert!(decode_archived(&other, &archived.encode()).is_err());
        let mut open = archived.clone();
        open.snapshot.phase = Phase::Active;
        let key = archive_key(&open.snapshot.channel.channel_id);
        let error = decode_archived(&key, &open.encode()).unwrap_err();
        assert!(error.to_string().contains("phase active"), "{error}");
    }
}
