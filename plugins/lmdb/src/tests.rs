//! Tests of the store's own behaviour beyond the conformance suite: sharing environments,
//! resource limits and the errors an operator sees.

use crate::LmdbStore;
use parley_plugin_api::conformance::TestHost;
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{host_context, ErrorKind, Host, LogLevel, PluginResult, Store};
use std::path::Path;

fn open_in(dir: &Path, table: &str) -> PluginResult<LmdbStore> {
    let context = host_context("store", dir, dir, LogLevel::Warn, |_, _, _| {}, |_| {});
    LmdbStore::new(table, Host::new(context))
}

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("parley-lmdb-")
        .tempdir()
        .unwrap()
}

#[test]
fn the_default_path_is_under_the_data_dir() {
    let host = TestHost::new("store");
    let store = LmdbStore::new("", Host::new(host.context())).unwrap();
    let expected = host.data_dir().join("store").canonicalize().unwrap();
    assert_eq!(store.path(), expected);
    assert!(expected.join("data.mdb").exists());
}

#[test]
fn two_instances_on_different_paths_are_independent() {
    let dir = temp();
    let one = open_in(dir.path(), "path = \"one\"").unwrap();
    let two = open_in(dir.path(), "path = \"two\"\nmap_size_mib = 16").unwrap();
    one.commit(&[WriteOp::put(b"k".to_vec(), b"one".to_vec())])
        .unwrap();
    two.commit(&[WriteOp::put(b"k".to_vec(), b"two".to_vec())])
        .unwrap();
    assert_eq!(one.get(b"k").unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(two.get(b"k").unwrap().as_deref(), Some(&b"two"[..]));
    drop(one);
    assert_eq!(two.get(b"k").unwrap().as_deref(), Some(&b"two"[..]));
}

#[test]
fn two_instances_on_one_path_share_the_environment() {
    let dir = temp();
    let one = open_in(dir.path(), "path = \"shared\"").unwrap();
    // The same directory spelled differently is the same environment.
    let two = open_in(dir.path(), "path = \"./shared/../shared\"").unwrap();
    one.commit(&[WriteOp::put(b"k".to_vec(), b"v".to_vec())])
        .unwrap();
    assert_eq!(two.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    drop(one);
    two.commit(&[WriteOp::put(b"k2".to_vec(), b"v2".to_vec())])
        .unwrap();
    drop(two);
    // Closed by the last drop: reopening works and sees both commits.
    let three = open_in(dir.path(), "path = \"shared\"\nmap_size_mib = 32").unwrap();
    assert_eq!(three.scan_all(b"k").unwrap().len(), 2);
}

#[test]
fn one_path_with_other_settings_is_refused() {
    let dir = temp();
    let _one = open_in(dir.path(), "path = \"shared\"").unwrap();
    let error = open_in(dir.path(), "path = \"shared\"\ndurable = false")
        .err()
        .expect("a second open with other settings must fail");
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(
        error.message().contains("already open in this process"),
        "{error}"
    );
    assert!(error.message().contains("same settings"), "{error}");
}

#[test]
fn a_full_map_names_the_setting_and_writes_nothing() {
    let dir = temp();
    let store = open_in(dir.path(), "map_size_mib = 1\ncommit_log = false").unwrap();
    store
        .commit(&[WriteOp::put(b"small".to_vec(), b"fits".to_vec())])
        .unwrap();
    let error = store
        .commit(&[
            WriteOp::put(b"first".to_vec(), b"would fit".to_vec()),
            WriteOp::put(b"huge".to_vec(), vec![7u8; 2 * 1024 * 1024]),
        ])
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert!(
        error.message().contains("raise map_size_mib in [store]"),
        "{error}"
    );
    assert_eq!(
        store.get(b"first").unwrap(),
        None,
        "a failed commit wrote part of its batch"
    );
    // The store stays usable after the failed commit.
    store
        .commit(&[WriteOp::put(b"after".to_vec(), b"ok".to_vec())])
        .unwrap();
    assert_eq!(store.scan_all(b"").unwrap().len(), 2);
}

#[test]
fn keys_lmdb_cannot_hold_are_refused_before_writing() {
    let dir = temp();
    let store = open_in(dir.path(), "").unwrap();
    for bad in [Vec::new(), vec![1u8; 512]] {
        let error = store
            .commit(&[
                WriteOp::put(b"ok".to_vec(), b"v".to_vec()),
                WriteOp::put(bad.clone(), b"v".to_vec()),
            ])
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument);
        assert!(
            error.message().contains(&format!("{} bytes", bad.len())),
            "{error}"
        );
        assert_eq!(store.get(&bad).unwrap(), None);
    }
    assert_eq!(
        store.get(b"ok").unwrap(),
        None,
        "a refused batch wrote part of itself"
    );
    store
        .commit(&[WriteOp::put(vec![9u8; 511], b"longest".to_vec())])
        .unwrap();
    assert_eq!(
        store.get(&[9u8; 511]).unwrap().as_deref(),
        Some(&b"longest"[..])
    );
}

#[test]
fn scans_with_bounds_lmdb_cannot_seek_to() {
    let dir = temp();
    let store = open_in(dir.path(), "").unwrap();
    let long = vec![5u8; 511];
    store
        .commit(&[
            WriteOp::put(long.clone(), b"a".to_vec()),
            WriteOp::put(vec![5u8; 3], b"b".to_vec()),
            WriteOp::put(vec![6u8], b"c".to_vec()),
        ])
        .unwrap();
    // An `after` and a prefix longer than any key.
    let mut longer = long.clone();
    longer.push(0);
    assert_eq!(store.scan(&[5], Some(&longer), 10).unwrap(), Vec::new());
    assert_eq!(store.scan(&longer, None, 10).unwrap(), Vec::new());
    let mut shorter = long.clone();
    shorter.pop();
    let after_shorter = store.scan(&[], Some(&shorter), 10).unwrap();
    assert_eq!(after_shorter.len(), 2, "{after_shorter:?}");
    assert_eq!(after_shorter[0].0, long);
    // An empty `after` excludes nothing.
    assert_eq!(store.scan(&[], Some(&[]), 10).unwrap().len(), 3);
}

#[test]
fn a_path_that_is_a_file_is_a_config_error() {
    let dir = temp();
    std::fs::write(dir.path().join("occupied"), b"not a directory").unwrap();
    let error = open_in(dir.path(), "path = \"occupied\"").err().unwrap();
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("occupied"), "{error}");
    assert!(error.message().contains("path in [store]"), "{error}");
}

#[test]
fn not_durable_still_commits_and_reopens() {
    let dir = temp();
    let store = open_in(dir.path(), "durable = false").unwrap();
    store
        .commit(&[WriteOp::put(b"k".to_vec(), b"v".to_vec())])
        .unwrap();
    drop(store);
    let store = open_in(dir.path(), "").unwrap();
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn concurrent_readers_and_writers_from_many_threads() {
    let dir = temp();
    let store = open_in(dir.path(), "max_readers = 16").unwrap();
    std::thread::scope(|scope| {
        for t in 0..8u8 {
            let store = &store;
            scope.spawn(move || {
                for i in 0..20u8 {
                    store.commit(&[WriteOp::put(vec![t, i], vec![i])]).unwrap();
                    assert_eq!(store.get(&[t, i]).unwrap(), Some(vec![i]));
                    assert_eq!(
                        store.scan(&[t], None, 100).unwrap().len(),
                        usize::from(i) + 1
                    );
                }
            });
        }
    });
    assert_eq!(store.scan_all(&[]).unwrap().len(), 160);
}

#[test]
fn a_map_larger_than_the_address_space_is_a_config_error() {
    let dir = temp();
    // 2^60 bytes: more than any 64-bit machine maps today.
    let error = open_in(dir.path(), &format!("map_size_mib = {}", 1u64 << 40))
        .err()
        .expect("a 1 EiB map cannot be opened");
    assert_eq!(error.kind, ErrorKind::InvalidConfig, "{error}");
    assert!(error.message().contains("lower map_size_mib"), "{error}");
}
