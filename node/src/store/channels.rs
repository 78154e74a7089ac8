//! [`ChannelStore`]: what the client persists and restores channels and proposals through.

use super::archive::{self, ArchivedChannel};
use super::committer::{CommitStats, Committer, CommitterLimits};
use super::error::{StoreError, WriteTarget};
use super::members;
use super::node_records::LINK_PREFIX;
use super::payments::{self, PaymentId, PaymentRecord};
use super::proposal::StoredProposal;
use super::schema::{self, describe_key};
use crate::protocol::{ChannelSnapshot, PersistRecord, ProposalId};
use parley_plugin_api::codec::Decode;
use parley_plugin_api::model::{ChannelId, WriteOp};
use parley_plugin_api::Store;
use std::future::Future;
use std::sync::Arc;

/// Everything [`ChannelStore::restore_all`] found.
#[derive(Debug, Default)]
pub struct Restored {
    /// The channels that decoded, in channel id order.
    pub channels: Vec<ChannelSnapshot>,
    /// The channels whose records do not make a channel, each with the reason: the node logs
    /// them and goes on with the others.
    pub broken: Vec<BrokenChannel>,
    /// Keys under `ch/` that name no channel slot at all (readable, for the log).
    pub stray_keys: Vec<String>,
}

/// A channel whose stored records could not be restored.
#[derive(Debug)]
pub struct BrokenChannel {
    /// The channel.
    pub channel_id: ChannelId,
    /// Why.
    pub error: StoreError,
}

/// The node's persistence of channels and proposals over a [`Store`], with the layout of
/// [`schema`] and every write through one group [`Committer`].
///
/// Reads (`restore_*`, `proposals`) call the store directly on the caller's thread: they are
/// fast and meant for startup. Writes return futures that resolve once the write is durable;
/// each write is queued when the method is called, so writes of one caller are applied in call
/// order even if their futures are awaited later or together.
pub struct ChannelStore {
    store: Arc<dyn Store>,
    committer: Committer,
}

impl ChannelStore {
    /// Opens the store with the default group-commit limits: checks its schema version, or
    /// writes it if the store is empty. Refuses a store with another schema version, and a
    /// non-empty store without one.
    pub fn open(store: Arc<dyn Store>) -> Result<ChannelStore, StoreError> {
        ChannelStore::open_with_limits(store, CommitterLimits::default())
    }

    /// [`ChannelStore::open`] with `limits` for the committer.
    pub fn open_with_limits(
        store: Arc<dyn Store>,
        limits: CommitterLimits,
    ) -> Result<ChannelStore, StoreError> {
        let found = store
            .get(schema::SCHEMA_KEY)
            .map_err(|source| StoreError::Read {
                key: describe_key(schema::SCHEMA_KEY),
                source,
            })?;
        let stored_version = found.as_deref().map(schema::check_schema).transpose()?;
        if stored_version.is_none() {
            if let Some((key, _)) = store
                .scan(b"", None, 1)
                .map_err(|source| StoreError::Scan {
                    prefix: "the whole store".to_string(),
                    source,
                })?
                .first()
            {
                return Err(StoreError::NotAParleyStore {
                    key: describe_key(key),
                });
            }
        }
        let committer = Committer::with_limits(Arc::clone(&store), limits)
            .map_err(StoreError::StartCommitter)?;
        let commit = |ops: Vec<WriteOp>| {
            committer
                .commit_blocking(ops)
                .map_err(|source| StoreError::Write {
                    target: WriteTarget::Schema,
                    source,
                })
        };
        match stored_version {
            None => commit(vec![schema::schema_op()])?,
            // One commit per step, each read from what the step before left: a crash between
            // steps leaves a store of the version in between, which opens like any other.
            Some(mut version) => {
                while version < schema::SCHEMA_VERSION {
                    commit(migration_step(&*store, version)?)?;
                    version += 1;
                }
            }
        }
        Ok(ChannelStore { store, committer })
    }

    /// Persists the records of one effect run of channel `channel_id` as one atomic batch,
    /// grouped with other channels' writes. Resolves once they are durable: only then may the
    /// driver execute the effects that follow them (write-ahead).
    ///
    /// Refuses, without writing, a channel record of another channel.
    pub fn persist(
        &self,
        channel_id: ChannelId,
        records: &[PersistRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let checked = records
            .iter()
            .try_for_each(|record| schema::check_channel_record(&channel_id, record));
        let queued = checked.map(|()| self.committer.commit(schema::ops_for(&channel_id, records)));
        write(WriteTarget::Channel(channel_id), queued)
    }

    /// [`ChannelStore::persist`], with `also` (writes built with the [`schema`] or
    /// [`super::node_records`] functions) in the same atomic batch: a channel's first records
    /// go with its peer link, so that no crash leaves a channel without its peer.
    pub fn persist_with(
        &self,
        channel_id: ChannelId,
        records: &[PersistRecord],
        also: Vec<WriteOp>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        self.persist_by(channel_id, records, also, None)
    }

    /// [`ChannelStore::persist_with`] for records nobody waits for now: they go with the next
    /// commit the node makes for any channel, or on their own `within` from now
    /// ([`Committer::commit_within`]).
    pub fn persist_lazily(
        &self,
        channel_id: ChannelId,
        records: &[PersistRecord],
        also: Vec<WriteOp>,
        within: std::time::Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        self.persist_by(channel_id, records, also, Some(within))
    }

    fn persist_by(
        &self,
        channel_id: ChannelId,
        records: &[PersistRecord],
        also: Vec<WriteOp>,
        lazily_within: Option<std::time::Duration>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let checked = records
            .iter()
            .try_for_each(|record| schema::check_channel_record(&channel_id, record));
        let queued = checked.map(|()| {
            let mut ops = schema::ops_for(&channel_id, records);
            ops.extend(also);
            self.committer.commit_within(ops, lazily_within)
        });
        write(WriteTarget::Channel(channel_id), queued)
    }

    /// Moves a closed channel to the archive: one atomic batch writes its archive record and
    /// removes its slots and its link (see [`archive`]).
    pub fn archive(
        &self,
        archived: &ArchivedChannel,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let id = archived.snapshot.channel.channel_id;
        let queued = self.committer.commit(archive::archive_ops(archived));
        write(WriteTarget::Channel(id), Ok(queued))
    }

    /// The archived (closed) channel `channel_id`, if there is one.
    pub fn archived(&self, channel_id: &ChannelId) -> Result<Option<ArchivedChannel>, StoreError> {
        let key = archive::archive_key(channel_id);
        let value = self.store.get(&key).map_err(|source| StoreError::Read {
            key: describe_key(&key),
            source,
        })?;
        value
            .map(|value| archive::decode_archived(&key, &value))
            .transpose()
    }

    /// The newest state this node holds of virtual channel `id`, which it carries as an
    /// intermediary (see [`carried`](super::carried)).
    pub fn carried(
        &self,
        id: &ChannelId,
    ) -> Result<Option<parley_plugin_api::model::SignedState>, StoreError> {
        let key = super::carried::carried_key(id);
        let value = self.store.get(&key).map_err(|source| StoreError::Read {
            key: describe_key(&key),
            source,
        })?;
        value
            .map(|value| super::carried::decode_carried(&key, &value))
            .transpose()
    }

    /// Every archived channel in id order, each decoded or with the reason it does not decode.
    pub fn archived_all(&self) -> Result<Vec<Result<ArchivedChannel, StoreError>>, StoreError> {
        Ok(self
            .scan_prefix(archive::ARCHIVE_PREFIX)?
            .iter()
            .map(|(key, value)| archive::decode_archived(key, value))
            .collect())
    }

    /// Removes every record of a channel (after it closed and its funds were withdrawn).
    pub fn remove_channel(
        &self,
        channel_id: ChannelId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let queued = self.committer.commit(schema::remove_ops(&channel_id));
        write(WriteTarget::Channel(channel_id), Ok(queued))
    }

    /// Every stored channel, from one scan, grouped and decoded per channel. A channel that
    /// does not decode is returned in [`Restored::broken`] and does not stop the others; only
    /// a failing scan fails the whole restore.
    pub fn restore_all(&self) -> Result<Restored, StoreError> {
        let pairs = self
            .store
            .scan_all(schema::CHANNEL_PREFIX)
            .map_err(|source| StoreError::Scan {
                prefix: describe_key(schema::CHANNEL_PREFIX),
                source,
            })?;
        let groups = schema::group_channels(pairs);
        let mut restored = Restored {
            channels: Vec::with_capacity(groups.channels.len()),
            broken: Vec::new(),
            stray_keys: groups.stray_keys.iter().map(|k| describe_key(k)).collect(),
        };
        for (channel_id, pairs) in &groups.channels {
            match schema::decode_channel(channel_id, pairs) {
                Ok(snapshot) => restored.channels.push(snapshot),
                Err(error) => restored.broken.push(BrokenChannel {
                    channel_id: *channel_id,
                    error,
                }),
            }
        }
        Ok(restored)
    }

    /// One channel's snapshot, or `None` if nothing is stored for it.
    pub fn restore_channel(
        &self,
        channel_id: &ChannelId,
    ) -> Result<Option<ChannelSnapshot>, StoreError> {
        let prefix = schema::channel_prefix(channel_id);
        let pairs = self
            .store
            .scan_all(&prefix)
            .map_err(|source| StoreError::Scan {
                prefix: format!("ch/{channel_id}/"),
                source,
            })?;
        if pairs.is_empty() {
            return Ok(None);
        }
        schema::decode_channel(channel_id, &pairs).map(Some)
    }

    /// Records the version each restored channel's restart spent ([`PersistRecord::Spent`]),
    /// all in one commit. Resolves once they are durable.
    pub fn record_restart_spent(
        &self,
        spent: &[(ChannelId, u64)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let ops: Vec<WriteOp> = spent
            .iter()
            .map(|(id, version)| schema::record_op(id, &PersistRecord::Spent(*version)))
            .collect();
        let target = WriteTarget::Batch { ops: ops.len() };
        write(target, Ok(self.committer.commit(ops)))
    }

    /// Stores a proposal awaiting an answer, replacing one with the same id.
    pub fn put_proposal(
        &self,
        proposal: &StoredProposal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let queued = self
            .committer
            .commit(vec![schema::proposal_put_op(proposal)]);
        write(
            WriteTarget::Proposal(proposal.proposal.proposal_id),
            Ok(queued),
        )
    }

    /// Removes a proposal (answered or expired); removing a missing one is not an error.
    pub fn delete_proposal(
        &self,
        id: ProposalId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let queued = self.committer.commit(vec![schema::proposal_delete_op(&id)]);
        write(WriteTarget::Proposal(id), Ok(queued))
    }

    /// Every stored proposal in id order, each decoded or with the reason it does not decode
    /// (the node logs those and keeps the others).
    pub fn proposals(&self) -> Result<Vec<Result<StoredProposal, StoreError>>, StoreError> {
        let pairs = self
            .store
            .scan_all(schema::PROPOSAL_PREFIX)
            .map_err(|source| StoreError::Scan {
                prefix: describe_key(schema::PROPOSAL_PREFIX),
                source,
            })?;
        Ok(pairs
            .iter()
            .map(|(key, value)| schema::decode_proposal(key, value))
            .collect())
    }

    /// Commits a batch built with the [`schema`] functions as one atomic write, for changes
    /// that must land together (for example a channel's first records and the deletion of
    /// the proposal that opened it).
    pub fn commit(
        &self,
        ops: Vec<WriteOp>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let target = WriteTarget::Batch { ops: ops.len() };
        write(target, Ok(self.committer.commit(ops)))
    }

    /// Every pair under `prefix`, in key order: for the node's own records
    /// ([`super::node_records`]), read at startup.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<schema::Pairs, StoreError> {
        self.store
            .scan_all(prefix)
            .map_err(|source| StoreError::Scan {
                prefix: describe_key(prefix),
                source,
            })
    }

    /// The encoded invoice this node issued under `id`, if any (see
    /// [`payments::INVOICE_PREFIX`]).
    pub fn invoice(&self, id: &PaymentId) -> Result<Option<Vec<u8>>, StoreError> {
        let key = payments::invoice_key(id);
        self.store.get(&key).map_err(|source| StoreError::Read {
            key: describe_key(&key),
            source,
        })
    }

    /// Every payment record, newest first, and a readable reason for each stored pair that
    /// is not one (see [`payments`]).
    pub fn payments(&self) -> Result<(Vec<PaymentRecord>, Vec<String>), StoreError> {
        Ok(payments::decode_payments(
            &self.scan_prefix(payments::PAYMENT_PREFIX)?,
        ))
    }

    /// Payment `id`'s record, if there is one.
    pub fn payment(&self, id: &PaymentId) -> Result<Option<PaymentRecord>, StoreError> {
        let key = payments::payment_key(id);
        let value = self.store.get(&key).map_err(|source| StoreError::Read {
            key: describe_key(&key),
            source,
        })?;
        let Some(value) = value else { return Ok(None) };
        PaymentRecord::decode(&value)
            .map(Some)
            .map_err(|error| StoreError::MalformedPayment {
                key: describe_key(&key),
                reason: error.to_string(),
            })
    }

    /// Deletes all but the newest `keep` payment records, at startup (the history is bounded,
    /// see [`payments`]); returns how many it deleted. Blocks until that is durable.
    pub fn prune_payments(&self, keep: usize) -> Result<usize, StoreError> {
        let (records, _) = self.payments()?;
        let ops = payments::prune_ops(&records, keep);
        let count = ops.len();
        if count > 0 {
            self.committer
                .commit_blocking(ops)
                .map_err(|source| StoreError::Write {
                    target: WriteTarget::Batch { ops: count },
                    source,
                })?;
        }
        Ok(count)
    }

    /// Stores `record` on its own (a payment's outcome that comes with no channel write:
    /// rejected or failed).
    pub fn put_payment(
        &self,
        record: &PaymentRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        self.commit(vec![payments::payment_op(record)])
    }

    /// Whether the store commits on the caller's thread (it is not durable; see
    /// [`Committer::commits_inline`]): then nothing is gained by writing later.
    pub fn commits_inline(&self) -> bool {
        self.committer.commits_inline()
    }

    /// The committer's counters.
    pub fn stats(&self) -> CommitStats {
        self.committer.stats()
    }
}

/// Awaits a queued write and names its target in the error.
async fn write(
    target: WriteTarget,
    queued: Result<impl Future<Output = Result<(), super::committer::CommitError>>, StoreError>,
) -> Result<(), StoreError> {
    queued?
        .await
        .map_err(|source| StoreError::Write { target, source })
}

/// The writes that bring a store of schema `version` to `version + 1`, read from the store.
fn migration_step(store: &dyn Store, version: u32) -> Result<Vec<WriteOp>, StoreError> {
    let scan = |prefix: &[u8]| {
        store.scan_all(prefix).map_err(|source| StoreError::Scan {
            prefix: describe_key(prefix),
            source,
        })
    };
    Ok(match version {
        1 => archive::migrate_from_v1(scan(schema::CHANNEL_PREFIX)?, &scan(LINK_PREFIX)?),
        2 => members::migrate_from_v2(&scan(schema::CHANNEL_PREFIX)?, &scan(LINK_PREFIX)?),
        3 => super::node_records::migrate_from_v3(),
        _ => schema::migrate_from_v4(),
    })
}

#[cfg(test)]
#[path = "channels_tests.rs"]
mod tests;
