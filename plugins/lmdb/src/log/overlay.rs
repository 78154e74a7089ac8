//! The batches the log holds that LMDB may not hold yet, as the newest value of each key they
//! wrote: reads look here first, then in LMDB.

use parley_plugin_api::model::WriteOp;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A key's newest write: the batch that made it, and the value (`None`: deleted).
#[derive(Clone, Debug)]
struct Pending {
    seq: u64,
    value: Option<Vec<u8>>,
}

#[derive(Default)]
struct Writes {
    by_key: BTreeMap<Vec<u8>, Pending>,
    /// The bytes of keys and values held, to bound how far the log may run ahead.
    bytes: usize,
    /// The newest batch applied.
    applied: u64,
}

/// A key and its pending value (`None`: deleted).
pub type PendingWrite = (Vec<u8>, Option<Vec<u8>>);

/// What a checkpoint folds into LMDB: every pending write, and the newest batch they cover.
pub struct Fold {
    /// Every batch up to this one is in `writes`.
    pub upto: u64,
    /// Each key's newest value (`None`: delete it), in key order.
    pub writes: Vec<PendingWrite>,
}

/// The pending writes, shared by the committer, the readers and the checkpoint thread.
#[derive(Default)]
pub struct Overlay {
    writes: RwLock<Writes>,
}

impl Overlay {
    fn read(&self) -> RwLockReadGuard<'_, Writes> {
        // Every change below is made whole before the guard drops, so a poisoned map is still
        // consistent.
        self.writes.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Writes> {
        self.writes.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Records batch `seq` (already durable in the log); answers whether the overlay was
    /// empty before.
    pub fn apply(&self, seq: u64, batch: &[WriteOp]) -> bool {
        let mut writes = self.write();
        let was_empty = writes.by_key.is_empty();
        writes.applied = seq;
        for op in batch {
            let (key, value) = match op {
                WriteOp::Put { key, value } => (key, Some(value.0.clone())),
                WriteOp::Delete { key } => (key, None),
            };
            let added = key.len() + value.as_ref().map_or(0, Vec::len);
            let pending = Pending { seq, value };
            let removed = match writes.by_key.insert(key.0.clone(), pending) {
                Some(old) => key.len() + old.value.map_or(0, |v| v.len()),
                None => 0,
            };
            writes.bytes = writes.bytes + added - removed;
        }
        was_empty
    }

    /// `Some(value)` if a pending write decides `key` (`Some(None)`: deleted), `None` if only
    /// LMDB knows it.
    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.read().by_key.get(key).map(|p| p.value.clone())
    }

    /// Every pending write of a key from `start` on (`exclusive`: after it) that starts with
    /// `prefix`, in key order (all of them: a pending delete hides a key from LMDB but makes
    /// no pair, so a count cannot be cut here); taken under the same lock as `then` runs, so
    /// what `then` opens (an LMDB read transaction) sees LMDB as of this instant.
    pub fn range_with<T>(
        &self,
        prefix: &[u8],
        start: &[u8],
        exclusive: bool,
        then: impl FnOnce() -> T,
    ) -> (Vec<PendingWrite>, T) {
        let writes = self.read();
        let lower = if exclusive {
            Bound::Excluded(start)
        } else {
            Bound::Included(start)
        };
        let pending = writes
            .by_key
            .range::<[u8], _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, p)| (key.clone(), p.value.clone()))
            .collect();
        (pending, then())
    }

    /// Every pending write, for a checkpoint; `None` when there is none.
    pub fn fold(&self) -> Option<Fold> {
        let writes = self.read();
        if writes.by_key.is_empty() {
            return None;
        }
        let upto = writes.applied;
        let writes = writes
            .by_key
            .iter()
            .map(|(key, p)| (key.clone(), p.value.clone()))
            .collect();
        Some(Fold { upto, writes })
    }

    /// Forgets the writes of batches up to `upto`, which LMDB now holds; a key written again
    /// since stays.
    pub fn retire(&self, upto: u64) {
        let mut writes = self.write();
        let mut freed = 0;
        writes.by_key.retain(|key, p| {
            let keep = p.seq > upto;
            if !keep {
                freed += key.len() + p.value.as_ref().map_or(0, Vec::len);
            }
            keep
        });
        writes.bytes -= freed;
    }

    /// The bytes of keys and values pending.
    pub fn bytes(&self) -> usize {
        self.read().bytes
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.read().by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str) -> WriteOp {
        WriteOp::put(key.as_bytes().to_vec(), value.as_bytes().to_vec())
    }

    #[test]
    fn the_newest_write_decides_and_retiring_keeps_later_ones() {
        let overlay = Overlay::default();
        assert!(overlay.apply(1, &[put("a", "1"), put("b", "1")]));
        assert!(!overlay.apply(2, &[put("a", "2"), WriteOp::delete(b"c".to_vec())]));
        assert_eq!(overlay.get(b"a"), Some(Some(b"2".to_vec())));
        assert_eq!(overlay.get(b"c"), Some(None));
        assert_eq!(overlay.get(b"d"), None);
        assert_eq!(overlay.bytes(), 4 + 1);

        let fold = overlay.fold().unwrap();
        assert_eq!(fold.upto, 2);
        assert_eq!(fold.writes.len(), 3);
        overlay.apply(3, &[put("b", "3")]);
        overlay.retire(fold.upto);
        // b was written again after the fold: LMDB has not got it yet.
        assert_eq!(overlay.get(b"a"), None);
        assert_eq!(overlay.get(b"b"), Some(Some(b"3".to_vec())));
        assert_eq!(overlay.bytes(), 2);
        overlay.retire(3);
        assert!(overlay.is_empty());
        assert_eq!(overlay.bytes(), 0);
        assert!(overlay.fold().is_none());
    }

    #[test]
    fn a_range_keeps_to_its_prefix_and_start() {
        let overlay = Overlay::default();
        overlay.apply(
            1,
            &[
                put("p/1", "x"),
                put("p/2", "y"),
                put("p/3", "z"),
                put("q", "w"),
            ],
        );
        let keys = |pending: Vec<(Vec<u8>, Option<Vec<u8>>)>| {
            pending
                .into_iter()
                .map(|(k, _)| String::from_utf8(k).unwrap())
                .collect::<Vec<_>>()
        };
        let (all, ()) = overlay.range_with(b"p/", b"p/", false, || ());
        assert_eq!(keys(all), ["p/1", "p/2", "p/3"]);
        let (after, ()) = overlay.range_with(b"p/", b"p/1", true, || ());
        assert_eq!(keys(after), ["p/2", "p/3"]);
    }
}
