//! Test doubles of the store plugin and channel fixtures for the store's tests.

use super::proposal::{Proposer, StoredProposal};
use crate::protocol::{
    ChannelProposal, ChannelRecord, ChannelSnapshot, Funding, PendingUpdate, Phase, ProposalId,
    SignedRecord,
};
use crate::wire::NodeKey;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, Sig, State, WriteOp,
};
use parley_plugin_api::{PluginError, PluginResult, Store};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// An in-memory [`Store`]: a `BTreeMap` behind a mutex, with controls for tests.
///
/// - It logs every batch handed to `commit`, failed ones included.
/// - [`MemStore::hold`] makes commits wait at a gate until its guard is released, so a test
///   can queue batches behind a commit in progress and see what is visible meanwhile.
/// - [`MemStore::fail_commits`] makes commits fail (writing nothing) until switched off;
///   [`MemStore::fail_reads`] does the same for `get` and `scan`.
#[derive(Default)]
pub struct MemStore {
    data: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    commits: Mutex<Vec<Vec<WriteOp>>>,
    failing_commits: AtomicBool,
    failing_reads: AtomicBool,
    gate: Mutex<Gate>,
    gate_changed: Condvar,
    committer_threads: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Gate {
    closed: bool,
    waiting: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemStore {
    /// Commits from now on wait at the gate until the returned guard is released or dropped.
    /// Declare the guard after the committer: if the test fails, the guard's drop (which
    /// runs first) opens the gate, and the committer's drop does not wait forever.
    #[must_use = "dropping the guard releases the gate at once"]
    pub fn hold(&self) -> Hold<'_> {
        lock(&self.gate).closed = true;
        Hold(self)
    }

    fn open_gate(&self) {
        lock(&self.gate).closed = false;
        self.gate_changed.notify_all();
    }

    /// How many commits wait at the gate.
    pub fn waiting(&self) -> usize {
        lock(&self.gate).waiting
    }

    /// Makes every commit fail while `on`.
    pub fn fail_commits(&self, on: bool) {
        self.failing_commits.store(on, Ordering::SeqCst);
    }

    /// Makes every `get` and `scan` fail while `on`.
    pub fn fail_reads(&self, on: bool) {
        self.failing_reads.store(on, Ordering::SeqCst);
    }

    /// Every batch handed to `commit`, in order.
    pub fn commits(&self) -> Vec<Vec<WriteOp>> {
        lock(&self.commits).clone()
    }

    /// The names of the threads `commit` was called on, one per call.
    pub fn committer_threads(&self) -> Vec<String> {
        lock(&self.committer_threads).clone()
    }

    /// How many times `commit` was called.
    pub fn commit_count(&self) -> usize {
        lock(&self.commits).len()
    }

    /// A copy of the stored pairs.
    pub fn contents(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        lock(&self.data).clone()
    }

    /// Writes `key` directly, bypassing `commit` (to plant damaged data).
    pub fn plant(&self, key: &[u8], value: &[u8]) {
        lock(&self.data).insert(key.to_vec(), value.to_vec());
    }

    fn read_check(&self) -> PluginResult<()> {
        if self.failing_reads.load(Ordering::SeqCst) {
            return Err(PluginError::unavailable("test store: reads fail"));
        }
        Ok(())
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        self.read_check()?;
        Ok(lock(&self.data).get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.read_check()?;
        Ok(lock(&self.data)
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|after| k.as_slice() > after))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        {
            let mut gate = lock(&self.gate);
            gate.waiting += 1;
            self.gate_changed.notify_all();
            while gate.closed {
                gate = self
                    .gate_changed
                    .wait(gate)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            gate.waiting -= 1;
        }
        lock(&self.commits).push(batch.to_vec());
        let thread = std::thread::current().name().unwrap_or("").to_string();
        lock(&self.committer_threads).push(thread);
        if self.failing_commits.load(Ordering::SeqCst) {
            return Err(PluginError::unavailable("test store: the disk is full"));
        }
        let mut data = lock(&self.data);
        for op in batch {
            match op {
                WriteOp::Put { key, value } => {
                    data.insert(key.to_vec(), value.to_vec());
                }
                WriteOp::Delete { key } => {
                    data.remove(&key.0);
                }
            }
        }
        Ok(())
    }
}

/// Keeps a [`MemStore`]'s commits waiting; see [`MemStore::hold`].
pub struct Hold<'a>(&'a MemStore);

impl Hold<'_> {
    /// Opens the gate: waiting and later commits go ahead.
    pub fn release(self) {}
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.open_gate();
    }
}

/// Polls `condition` until it holds; panics naming `what` after ten seconds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A distinct channel id per `n`.
pub fn channel_id(n: u32) -> ChannelId {
    let mut id = [0xc4; 32];
    id[..4].copy_from_slice(&n.to_be_bytes());
    ChannelId(id)
}

fn participants() -> Vec<Participant> {
    vec![Participant(vec![0xa1; 20]), Participant(vec![0xb2; 20])]
}

fn assets() -> Vec<Asset> {
    (1..=2)
        .map(|i| Asset {
            chain_id: 1337,
            holder: Address(vec![i; 20]),
        })
        .collect()
}

/// The channel record of channel `n`.
pub fn channel_record(n: u32) -> ChannelRecord {
    ChannelRecord {
        params: Params {
            participants: participants(),
            challenge_duration: 60,
            nonce: channel_id(n).0,
            app: None,
            ledger_channel: true,
            virtual_channel: false,
        },
        channel_id: channel_id(n),
        my_index: (n % 2) as u16,
    }
}

/// Version `version` of channel `n`: 100 of each asset, `version` moved from party 0 to 1.
pub fn state(n: u32, version: u64) -> State {
    let row = || vec![Amount::from(100 - version), Amount::from(100 + version)];
    State {
        channel_id: channel_id(n),
        version,
        allocation: Allocation {
            assets: assets(),
            balances: vec![row(), row()],
            locked: Vec::new(),
        },
        app_data: Bytes::default(),
        is_final: false,
    }
}

/// A 65-byte signature that names its signer and version.
pub fn sig(signer: u8, version: u64) -> Sig {
    let mut bytes = vec![signer; 65];
    bytes[..8].copy_from_slice(&version.to_be_bytes());
    Sig(bytes)
}

/// Version `version` of channel `n`, signed by both.
pub fn signed(n: u32, version: u64) -> SignedRecord {
    SignedRecord {
        state: state(n, version),
        sigs: vec![Some(sig(0, version)), Some(sig(1, version))],
    }
}

/// Our pending update of channel `n` on top of `version`.
pub fn pending(n: u32, version: u64) -> PendingUpdate {
    PendingUpdate {
        state: state(n, version + 1),
        sig: sig((n % 2) as u8, version + 1),
    }
}

/// An active channel `n` at `version`, with or without a pending update.
pub fn snapshot(n: u32, version: u64, with_pending: bool) -> ChannelSnapshot {
    ChannelSnapshot {
        channel: channel_record(n),
        phase: Phase::Active,
        latest: signed(n, version),
        pending: with_pending.then(|| pending(n, version)),
        funding: Funding::Ledger,
        spent: 0,
    }
}

/// A proposal `n` exchanged with a fixed peer.
pub fn stored_proposal(n: u8, proposer: Proposer) -> StoredProposal {
    let peer = NodeKey::from_secret_bytes(&[7; 32])
        .expect("a valid secret key")
        .node_id();
    StoredProposal {
        proposal: ChannelProposal {
            proposal_id: ProposalId([n; 32]),
            proposer: participants()[0].clone(),
            assets: assets(),
            balances: vec![
                vec![Amount::from(10u64), Amount::from(20u64)],
                vec![Amount::from(0u64), Amount::from(5u64)],
            ],
            locked: Vec::new(),
            challenge_duration: 60,
            nonce_share: [n; 32],
            app: None,
            app_data: Bytes::default(),
            ledger_channel: true,
            virtual_channel: false,
            parent: None,
        },
        peer,
        proposer,
    }
}
