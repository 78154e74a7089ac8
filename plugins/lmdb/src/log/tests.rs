//! The log's segments and replay, driven directly: wrapping to the other segment only once
//! LMDB holds it, and a store that opens over batches only the log holds.

use super::checkpoint_file::CheckpointFile;
use super::segments::{self, SEGMENT_BYTES};
use crate::LmdbStore;
use parley_plugin_api::codec::Encode;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{host_context, Host, LogLevel, PluginResult, Store};
use std::path::Path;

fn payload(batch: Vec<WriteOp>) -> Vec<u8> {
    batch.encode()
}

/// The store in `dir` itself, with `table`'s other settings.
fn open_with(dir: &Path, table: &str) -> PluginResult<LmdbStore> {
    let context = host_context("store", dir, dir, LogLevel::Warn, |_, _, _| {}, |_| {});
    LmdbStore::new(&format!("path = \".\"\n{table}"), Host::new(context))
}

fn open_store(dir: &Path) -> LmdbStore {
    open_with(dir, "").unwrap()
}

#[test]
fn a_full_segment_is_left_only_once_lmdb_holds_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = segments::open(dir.path(), None).unwrap().segments;
    let big = vec![0u8; (SEGMENT_BYTES / 4) as usize];
    // Segment 0 fills; segment 1 is empty, so the fifth batch wraps to it.
    for seq in 1..=5 {
        assert_eq!(log.append(&big, 0).unwrap(), seq);
    }
    assert!(log.active_path().ends_with("log-1"));
    for seq in 6..=9 {
        assert_eq!(log.append(&big, 0).unwrap(), seq);
    }
    // Segment 0 still holds batches 1 to 4 that LMDB does not: segment 1 grows instead.
    assert!(log.active_path().ends_with("log-1"));
    // Once LMDB holds up to 4, the next batch goes to the start of segment 0.
    assert_eq!(log.append(b"small", 4).unwrap(), 10);
    assert!(log.active_path().ends_with("log-0"));
    drop(log);

    // Reopened: batch 10 overwrote the start of segment 0's old lap; with the checkpoint at 4,
    // batches 5 to 10 are replayed, in order.
    let opened = segments::open(dir.path(), Some(4)).unwrap();
    let seqs: Vec<u64> = opened.replay.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (5..=10).collect::<Vec<_>>());
    assert_eq!(opened.replay.last().unwrap().1, b"small");
    assert_eq!(opened.segments.next_seq(), 11);
    // Without a checkpoint: the newest unbroken run, the same batches.
    let opened = segments::open(dir.path(), None).unwrap();
    assert_eq!(opened.replay.first().unwrap().0, 5);
}

#[test]
fn a_gap_after_the_checkpoint_is_refused_naming_the_missing_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = segments::open(dir.path(), None).unwrap().segments;
    for _ in 0..3 {
        log.append(b"batch", 0).unwrap();
    }
    drop(log);
    // The checkpoint says LMDB holds only batch 0, yet the log starts at 1: fine. At -1 it
    // would lack nothing; but a checkpoint of 0 with the log's first batch removed is a gap.
    assert_eq!(segments::open(dir.path(), Some(0)).unwrap().replay.len(), 3);
    std::fs::write(dir.path().join("log-0"), []).unwrap();
    let mut log = segments::open(dir.path(), Some(0)).unwrap().segments;
    assert_eq!(log.next_seq(), 1);
    log.append(b"x", 0).unwrap();
    drop(log);
    let mut frames = Vec::new();
    super::frame::encode(5, b"orphan", &mut frames);
    std::fs::write(dir.path().join("log-1"), frames).unwrap();
    let error = match segments::open(dir.path(), Some(0)) {
        Err(error) => error,
        Ok(_) => panic!("a log with a gap opened"),
    };
    assert!(error.message().contains("lacks batch 2"), "{error}");
}

#[test]
fn a_store_opens_over_batches_only_the_log_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    store
        .commit(&[WriteOp::put(b"folded".to_vec(), b"old".to_vec())])
        .unwrap();
    drop(store);
    // Closed cleanly: the checkpoint names the one batch. Two more reach only the log, as
    // they would in a crash before a fold.
    let (_, checkpointed) = CheckpointFile::open(dir.path()).unwrap();
    assert_eq!(checkpointed, Some(1));
    let mut log = segments::open(dir.path(), checkpointed).unwrap().segments;
    log.append(
        &payload(vec![
            WriteOp::put(b"folded".to_vec(), b"new".to_vec()),
            WriteOp::put(b"logged".to_vec(), b"yes".to_vec()),
        ]),
        1,
    )
    .unwrap();
    log.append(&payload(vec![WriteOp::delete(b"logged".to_vec())]), 1)
        .unwrap();
    log.append(
        &payload(vec![WriteOp::put(b"z".to_vec(), b"1".to_vec())]),
        1,
    )
    .unwrap();
    drop(log);

    let store = open_store(dir.path());
    assert_eq!(store.get(b"folded").unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(store.get(b"logged").unwrap(), None);
    let all = store.scan_all(b"").unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    // Replayed into LMDB and checkpointed at once: the next batch is number 5.
    store
        .commit(&[WriteOp::put(b"after".to_vec(), b"1".to_vec())])
        .unwrap();
    drop(store);
    assert_eq!(CheckpointFile::open(dir.path()).unwrap().1, Some(5));
}

#[test]
fn a_batch_that_does_not_decode_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_store(dir.path()));
    let mut log = segments::open(dir.path(), Some(0)).unwrap().segments;
    log.append(b"\xff\xff\xff\xffnot a batch", 0).unwrap();
    drop(log);
    let error = match open_with(dir.path(), "") {
        Err(error) => error,
        Ok(_) => panic!("a store with a malformed logged batch opened"),
    };
    assert!(error.message().contains("is not a batch"), "{error}");
}

#[test]
fn a_fold_that_fails_refuses_later_commits_and_loses_no_logged_one() {
    let dir = tempfile::tempdir().unwrap();
    let open = |table: &str| open_with(dir.path(), table);
    let store = open("map_size_mib = 1").unwrap();
    // The log takes it, but LMDB's map cannot: the fold fails.
    store
        .commit(&[WriteOp::put(b"huge".to_vec(), vec![7u8; 2 << 20])])
        .unwrap();
    assert_eq!(store.get(b"huge").unwrap().map(|v| v.len()), Some(2 << 20));
    let refused = (0..200).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        store
            .commit(&[WriteOp::put(b"later".to_vec(), b"x".to_vec())])
            .err()
    });
    let error = refused.expect("commits go on while the fold fails");
    assert!(
        error.message().contains("raise map_size_mib"),
        "the refusal says what to do: {error}"
    );
    drop(store);
    // Too small a map still cannot take the log: opening says so, and loses nothing.
    let error = match open("map_size_mib = 1") {
        Err(error) => error,
        Ok(_) => panic!("a store too small for its log opened"),
    };
    assert!(error.message().contains("raise map_size_mib"), "{error}");
    let store = open("map_size_mib = 8").unwrap();
    assert_eq!(store.get(b"huge").unwrap().map(|v| v.len()), Some(2 << 20));
}

#[test]
fn reads_stay_consistent_while_folds_run() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_store(dir.path()));
    let number = |i: u64| i.to_be_bytes().to_vec();
    let key = |i: u64| format!("c-{i:06}").into_bytes();
    let done = Arc::new(AtomicBool::new(false));
    let reader = std::thread::spawn({
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        move || {
            let (mut last, mut reads) = (0u64, 0u32);
            while !done.load(Ordering::Acquire) || reads == 0 {
                // Batch i puts a = b = i and c-i, and deletes c-(i-3): one scan must see
                // one batch whole, never an older one than the last scan saw.
                let pairs = store.scan_all(b"").unwrap();
                let value = |k: &[u8]| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                let (Some(a), Some(b)) = (value(b"a"), value(b"b")) else {
                    continue;
                };
                assert_eq!(a, b, "a scan saw two batches");
                let at = u64::from_be_bytes(a.as_slice().try_into().unwrap());
                assert!(at >= last, "a scan went back from batch {last} to {at}");
                let cs: Vec<Vec<u8>> = pairs
                    .iter()
                    .filter(|(k, _)| k.starts_with(b"c-"))
                    .map(|(k, _)| k.clone())
                    .collect();
                let expected: Vec<Vec<u8>> = (at.saturating_sub(2).max(1)..=at).map(key).collect();
                assert_eq!(cs, expected, "batch {at}");
                let got = store.get(b"a").unwrap().unwrap();
                assert!(got >= number(at), "a get went back below batch {at}");
                last = at;
                reads += 1;
            }
            reads
        }
    });
    for i in 1..=1500u64 {
        let mut batch = vec![
            WriteOp::put(b"a".to_vec(), number(i)),
            WriteOp::put(b"b".to_vec(), number(i)),
            WriteOp::put(key(i), b"x".to_vec()),
        ];
        if i > 3 {
            batch.push(WriteOp::delete(key(i - 3)));
        }
        store.commit(&batch).unwrap();
        if i % 100 == 0 {
            // Let a fold or two run between commits, not only beside them.
            std::thread::sleep(std::time::Duration::from_millis(7));
        }
    }
    done.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    // Everything folded and reopened: the last batch, whole.
    drop(Arc::try_unwrap(store).ok().expect("the reader let go"));
    let store = open_store(dir.path());
    assert_eq!(store.get(b"a").unwrap(), Some(number(1500)));
    assert_eq!(store.scan_all(b"c-").unwrap().len(), 3);
}
