//! The store interface: a durable, ordered key-value store the node keeps its channels in.

use crate::abi::ffi::{FfiResult, FfiStore, FfiStoreBox, FfiStore_TO};
use crate::abi::host::Host;
use crate::codec::{Bytes, Decode, Encode};
use crate::error::{PluginError, PluginResult};
use crate::model::WriteOp;
use crate::panic::catch;
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RSlice, RVec},
};

/// A durable, ordered key-value store. The node owns the schema; the store only keeps bytes.
///
/// Contract:
/// - **Blocking.** `get` and `scan` are fast reads and may be called on the hot path; `commit`
///   waits for the disk and is only called from the node's committer thread.
/// - **Atomic.** A `commit` takes effect entirely or not at all, also across a crash (`kill -9`
///   or power loss) at any instant.
/// - **Durable.** When `commit` returns `Ok`, the batch survives a crash and a reopen.
/// - **Ordered.** `scan` returns keys in ascending lexicographic byte order.
/// - **Consistent reads.** A `get` or `scan` that starts after a `commit` returned sees all of
///   that commit; a single `scan` call sees one consistent snapshot.
/// - **Keys.** Keys are 1 to 511 bytes (LMDB's limit, which the node's schema stays within);
///   a store may refuse others with `InvalidArgument`. Values may be empty and up to many MiB.
/// - **Threads.** Calls come from many threads at once: reads from the node's tasks, commits
///   from its one committer thread.
/// - **Errors.** An `Err` from `commit` means the batch is not known to be durable. Answer
///   `Unavailable` when the disk or the database failed; that covers a failed `fsync`, after
///   which the outcome is unknown (the batch may be on disk or not). The node then treats the
///   store as down: it sends nothing that depends on the batch, keeps the channel's state in
///   memory, and commits the same batch again until one commit succeeds. Batches are
///   idempotent (whole values put, keys deleted), so a batch that had in fact landed is
///   harmless to write twice. A store must therefore never leave a partly applied batch
///   behind, also not after an `Err`.
pub trait Store: Send + Sync + 'static {
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>>;

    /// Up to `limit` pairs whose key starts with `prefix`, in ascending key order, starting
    /// after the key `after` (exclusive) or from the first key of the prefix.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>>;

    /// Applies `batch` in order, atomically and durably (see the trait's contract).
    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()>;

    /// Whether a returned `commit` is durable (ABI revision 1). A store configured to skip
    /// syncing (for benchmarks) answers [`Durability::NotDurable`], and the node warns that a
    /// crash can then lose channel states. The default, [`Durability::Durable`], is what the
    /// contract above promises.
    fn durability(&self) -> Durability {
        Durability::Durable
    }

    /// Every pair under `prefix`, paging through [`Store::scan`].
    fn scan_all(&self, prefix: &[u8]) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        const PAGE: usize = 1024;
        let mut all: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        loop {
            let after = all.last().map(|(k, _)| k.clone());
            let page = self.scan(prefix, after.as_deref(), PAGE)?;
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }
}

/// Wraps a plugin's store for export (used by `export_plugin!`); every call runs with `host`
/// bound to the thread.
pub fn export_store<S: Store>(store: S, host: Host) -> FfiStoreBox {
    FfiStore_TO::from_value(ExportedStore { store, host }, TD_Opaque)
}

struct ExportedStore<S> {
    store: S,
    host: Host,
}

impl<S> ExportedStore<S> {
    /// Runs one exported call with the instance bound and panics caught.
    fn serve<R>(&self, what: &str, call: impl FnOnce(&S) -> PluginResult<R>) -> PluginResult<R> {
        self.host.scope(|| catch(what, || call(&self.store)))
    }
}

impl<S: Store> FfiStore for ExportedStore<S> {
    fn get(&self, key: RSlice<'_, u8>) -> RResult<ROption<RVec<u8>>, PluginError> {
        self.serve("store.get", |s| s.get(key.as_slice()))
            .map(|value| value.map(RVec::from).into())
            .into()
    }

    fn scan(
        &self,
        prefix: RSlice<'_, u8>,
        after: ROption<RSlice<'_, u8>>,
        limit: u32,
    ) -> FfiResult {
        self.serve("store.scan", |s| {
            let after = after.as_ref().map(|a| a.as_slice()).into_option();
            let pairs = s.scan(prefix.as_slice(), after, limit as usize)?;
            let pairs: Vec<(Bytes, Bytes)> = pairs
                .into_iter()
                .map(|(k, v)| (Bytes(k), Bytes(v)))
                .collect();
            Ok(RVec::from(pairs.encode()))
        })
        .into()
    }

    fn commit(&self, batch: RSlice<'_, u8>) -> RResult<(), PluginError> {
        self.serve("store.commit", |s| {
            let batch = Vec::<WriteOp>::decode(batch.as_slice())?;
            s.commit(&batch)
        })
        .into()
    }

    fn durability(&self) -> u8 {
        self.serve("store.durability", |s| Ok(s.durability()))
            .unwrap_or(Durability::Unknown) as u8
    }
}

/// What a store says of its commits ([`Store::durability`]). Crosses the boundary as its
/// number; an unknown number reads as `Unknown`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Durability {
    /// The store did not say: it was built before ABI revision 1. The contract promises
    /// durable commits.
    Unknown = 0,
    /// A returned commit survives a crash (the contract).
    Durable = 1,
    /// Commits are not synced: a crash may lose the last ones. For benchmarks only.
    NotDurable = 2,
}

impl Durability {
    /// The durability with code `code`; unknown codes read as `Unknown`.
    pub fn from_code(code: u8) -> Durability {
        match code {
            1 => Durability::Durable,
            2 => Durability::NotDurable,
            _ => Durability::Unknown,
        }
    }
}

/// A store loaded from a plugin library, usable as a [`Store`].
pub struct LoadedStore(FfiStoreBox);

impl LoadedStore {
    /// Wraps the instance a plugin's constructor returned.
    pub fn new(inner: FfiStoreBox) -> Self {
        LoadedStore(inner)
    }
}

impl Store for LoadedStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        self.0
            .get(key.into())
            .into_result()
            .map(|v| v.into_option().map(RVec::into_vec))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let bytes = self
            .0
            .scan(prefix.into(), after.map(RSlice::from).into(), limit)
            .into_result()?;
        let pairs = Vec::<(Bytes, Bytes)>::decode(&bytes).map_err(answer_error)?;
        Ok(pairs.into_iter().map(|(k, v)| (k.0, v.0)).collect())
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        let encoded = batch.encode();
        self.0.commit(encoded.as_slice().into()).into_result()
    }

    fn durability(&self) -> Durability {
        Durability::from_code(self.0.durability())
    }
}

/// A plugin answered with bytes that are not the canonical encoding of the promised type.
pub(crate) fn answer_error(error: crate::codec::DecodeError) -> PluginError {
    PluginError::internal(format!("the plugin returned a malformed answer: {error}"))
}
