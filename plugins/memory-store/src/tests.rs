//! The store contract's conformance suite, and what this store adds to it.

use crate::MemoryStore;
use parley_plugin_api::conformance::{self, TestHost};
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{Durability, ErrorKind, Host, Store};

fn open(host: &TestHost, table: &str) -> MemoryStore {
    MemoryStore::new(table, Host::new(host.context())).unwrap()
}

#[test]
fn passes_the_store_conformance_suite() {
    let report = conformance::store::run(&|context| {
        Ok(Box::new(MemoryStore::new("", Host::new(context))?) as Box<dyn Store>)
    });
    report.assert_passed(10);
}

#[test]
fn says_it_is_not_durable() {
    let host = TestHost::new("store");
    assert_eq!(open(&host, "").durability(), Durability::NotDurable);
}

#[test]
fn stores_on_different_paths_are_apart_and_one_path_is_shared() {
    let host = TestHost::new("store");
    let one = open(&host, "path = \"one\"");
    let two = open(&host, "path = \"two\"");
    let one_again = open(&host, "path = \"one\"");
    one.commit(&[WriteOp::put(b"k".to_vec(), b"1".to_vec())])
        .unwrap();
    assert_eq!(two.get(b"k").unwrap(), None);
    assert_eq!(one_again.get(b"k").unwrap(), Some(b"1".to_vec()));
}

#[test]
fn a_batch_with_a_bad_key_writes_nothing() {
    let host = TestHost::new("store");
    let store = open(&host, "");
    let error = store
        .commit(&[
            WriteOp::put(b"good".to_vec(), b"v".to_vec()),
            WriteOp::put(vec![7; 512], b"v".to_vec()),
        ])
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message().contains("1 to 511 bytes"), "{error}");
    assert_eq!(store.get(b"good").unwrap(), None);
}

#[test]
fn an_unknown_key_in_the_table_is_named() {
    let host = TestHost::new("store");
    let error = MemoryStore::new("pth = \"x\"", Host::new(host.context()))
        .err()
        .unwrap();
    assert_eq!(error.kind, ErrorKind::InvalidConfig);
    assert!(error.message().contains("[store] in node.toml"), "{error}");
    assert!(error.message().contains("pth"), "{error}");
}
