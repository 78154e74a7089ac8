//! The plugin-side export adapters and the host-side `Loaded*` wrappers, joined in one process:
//! values survive the boundary encoding, and a panic in plugin code comes back as an error.

use parley_plugin_api::model::{ConnectionId, WriteOp};
use parley_plugin_api::store::export_store;
use parley_plugin_api::transport::export_transport;
use parley_plugin_api::{
    ErrorKind, LoadedStore, LoadedTransport, PluginError, PluginResult, Store, Transport,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A host whose log lines and events go nowhere.
fn test_host() -> parley_plugin_api::Host {
    let dir = std::env::temp_dir();
    parley_plugin_api::Host::new(parley_plugin_api::host_context(
        "test",
        &dir,
        &dir,
        parley_plugin_api::LogLevel::Warn,
        |_, _, _| {},
        |_| {},
    ))
}

#[derive(Default)]
struct MapStore(Mutex<BTreeMap<Vec<u8>, Vec<u8>>>);

impl Store for MapStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        if key == b"panic" {
            panic!("asked to panic");
        }
        Ok(self.0.lock().unwrap().get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        let mut map = self.0.lock().unwrap();
        for op in batch {
            match op {
                WriteOp::Put { key, value } => {
                    map.insert(key.0.clone(), value.0.clone());
                }
                WriteOp::Delete { key } => {
                    map.remove(&key.0);
                }
            }
        }
        Ok(())
    }
}

#[test]
fn store_values_cross_the_boundary_unchanged() {
    let store = LoadedStore::new(export_store(MapStore::default(), test_host()));
    let batch: Vec<WriteOp> = (0..2500u32)
        .map(|i| WriteOp::put(format!("k/{i:05}").into_bytes(), i.to_be_bytes().to_vec()))
        .chain([WriteOp::delete(b"k/00003".to_vec())])
        .collect();
    store.commit(&batch).unwrap();
    assert_eq!(
        store.get(b"k/00007").unwrap(),
        Some(7u32.to_be_bytes().to_vec())
    );
    assert_eq!(store.get(b"k/00003").unwrap(), None);
    let page = store.scan(b"k/", Some(b"k/00010"), 3).unwrap();
    let keys: Vec<_> = page
        .iter()
        .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
        .collect();
    assert_eq!(keys, ["k/00011", "k/00012", "k/00013"]);
    assert_eq!(
        store.scan_all(b"k/").unwrap().len(),
        2499,
        "scan_all pages past 1024"
    );
}

#[test]
fn a_panic_in_plugin_code_is_an_error_and_the_instance_still_works() {
    let store = LoadedStore::new(export_store(MapStore::default(), test_host()));
    let error = store.get(b"panic").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Panicked);
    assert!(
        error.message().contains("store.get") && error.message().contains("asked to panic"),
        "{error}"
    );
    store
        .commit(&[WriteOp::put(b"a".to_vec(), b"1".to_vec())])
        .unwrap();
    assert_eq!(store.get(b"a").unwrap(), Some(b"1".to_vec()));
}

struct RefusingTransport;

impl Transport for RefusingTransport {
    fn listen(&self, addr: &str) -> PluginResult<String> {
        Ok(format!("bound:{addr}"))
    }
    fn dial(&self, addr: &str) -> PluginResult<ConnectionId> {
        Err(PluginError::unavailable(format!("nobody at {addr}")))
    }
    fn send(&self, _: ConnectionId, _: &[u8]) -> PluginResult<()> {
        panic!("send exploded")
    }
    fn close(&self, _: ConnectionId) -> PluginResult<()> {
        Ok(())
    }
    fn max_frame_size(&self) -> usize {
        4096
    }
}

#[test]
fn transport_errors_keep_their_kind_and_message() {
    let transport = LoadedTransport::new(export_transport(RefusingTransport, test_host()));
    assert_eq!(transport.listen("x").unwrap(), "bound:x");
    let error = transport.dial("127.0.0.1:1").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert_eq!(error.message(), "nobody at 127.0.0.1:1");
    assert_eq!(
        transport.send(1, b"x").unwrap_err().kind,
        ErrorKind::Panicked
    );
    assert_eq!(transport.max_frame_size(), 4096);
}
