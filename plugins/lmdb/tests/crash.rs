//! A process that dies (`abort`, as `kill -9`) right after its commits returned: a reopened
//! store holds every one of them, whether the fold thread had written them into LMDB or they
//! were only in the commit log.

use parley_lmdb::LmdbStore;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{host_context, Host, LogLevel, Store};
use std::path::Path;
use std::process::Command;

/// Where the child commits; set only in the child.
const CHILD_DIR: &str = "PARLEY_LMDB_CRASH_CHILD_DIR";

/// Batches the child commits before it dies.
const BATCHES: u32 = 300;

fn open(dir: &Path) -> LmdbStore {
    let context = host_context("store", dir, dir, LogLevel::Warn, |_, _, _| {}, |_| {});
    LmdbStore::new("", Host::new(context)).unwrap()
}

/// The child: commits, then aborts without closing the store (no final fold).
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = open(Path::new(&dir));
    for i in 0..BATCHES {
        store
            .commit(&[
                WriteOp::put(format!("key-{i:04}").into_bytes(), vec![i as u8; 600]),
                WriteOp::put(b"newest".to_vec(), i.to_le_bytes().to_vec()),
                WriteOp::delete(format!("key-{:04}", i.wrapping_sub(7)).into_bytes()),
            ])
            .unwrap();
    }
    std::process::abort();
}

#[test]
fn every_returned_commit_survives_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .status()
            .unwrap();
        assert!(!status.success(), "round {round}: the child was to abort");

        let store = open(dir.path());
        let newest = store.get(b"newest").unwrap().expect("the newest batch");
        assert_eq!(newest, (BATCHES - 1).to_le_bytes(), "round {round}");
        let keys = store.scan_all(b"key-").unwrap();
        // Each batch deleted the key of the batch seven before it: the last seven remain.
        let expected: Vec<Vec<u8>> = (BATCHES - 7..BATCHES)
            .map(|i| format!("key-{i:04}").into_bytes())
            .collect();
        assert_eq!(
            keys.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            expected,
            "round {round}"
        );
        for (i, (_, value)) in (BATCHES - 7..).zip(&keys) {
            assert_eq!(value, &vec![i as u8; 600], "round {round}: key-{i:04}");
        }
        // Cleanly closed now: the next round's child starts from a folded store.
        drop(store);
    }
}
