//! The channel store over the real LMDB plugin library, loaded through the node's host (build
//! it first: `cargo build -p parley-plugin-lmdb`).
//!
//! Proves that what concurrent channels persist through group commits survives dropping the
//! store and reopening the directory in a new instance, and prints (never asserts) what group
//! commit does for durable throughput: run with `--nocapture` to see the figures.

use parley_node::host::{instantiate, node_host_context, PluginHandle, PluginLibrary};
use parley_node::protocol::{
    Channel, ChannelRecord, ChannelSnapshot, PendingUpdate, PersistRecord, Phase, SignedRecord,
};
use parley_node::store::ChannelStore;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, Sig, State,
};
use parley_plugin_api::{PluginKind, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn lmdb_library() -> PluginLibrary {
    let dir = Path::new(env!("CARGO_BIN_EXE_parley"))
        .parent()
        .expect("the binary has a directory")
        .to_path_buf();
    let path: PathBuf = dir.join("libparley_lmdb.so");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p parley-plugin-lmdb` before this test",
        path.display()
    );
    PluginLibrary::open(&path, None).unwrap_or_else(|e| panic!("{e}"))
}

/// A new LMDB store instance on `data_dir` (the plugin's default path under it), durable.
fn lmdb_store(library: &PluginLibrary, data_dir: &Path) -> Arc<dyn Store> {
    let (sender, _events) = tokio::sync::mpsc::unbounded_channel();
    let context = node_host_context("store", data_dir, data_dir, sender);
    match instantiate(library, "store", PluginKind::Store, "", context) {
        Ok(PluginHandle::Store(store)) => store,
        Ok(_) => panic!("libparley_lmdb.so is not a store"),
        Err(e) => panic!("{e}"),
    }
}

fn channel_id(n: u32) -> ChannelId {
    let mut id = [0x5e; 32];
    id[..4].copy_from_slice(&n.to_be_bytes());
    ChannelId(id)
}

fn record(n: u32) -> ChannelRecord {
    ChannelRecord {
        params: Params {
            participants: vec![Participant(vec![0xa1; 20]), Participant(vec![0xb2; 20])],
            challenge_duration: 3600,
            nonce: channel_id(n).0,
            app: None,
            ledger_channel: true,
            virtual_channel: false,
        },
        channel_id: channel_id(n),
        my_index: (n % 2) as u16,
    }
}

fn state(n: u32, version: u64) -> State {
    let row = || vec![Amount::from(1_000 - version), Amount::from(1_000 + version)];
    State {
        channel_id: channel_id(n),
        version,
        allocation: Allocation {
            assets: (1..=2)
                .map(|i| Asset {
                    chain_id: 1337,
                    holder: Address(vec![i; 20]),
                })
                .collect(),
            balances: vec![row(), row()],
            locked: Vec::new(),
        },
        app_data: Bytes::default(),
        is_final: false,
    }
}

fn sig(signer: u32, version: u64) -> Sig {
    let mut bytes = vec![signer as u8; 65];
    bytes[..8].copy_from_slice(&version.to_be_bytes());
    Sig(bytes)
}

fn signed(n: u32, version: u64, both: bool) -> SignedRecord {
    let me = (n % 2) as usize;
    let mut sigs = vec![None, None];
    sigs[me] = Some(sig(me as u32, version));
    if both {
        sigs[1 - me] = Some(sig(1 - me as u32, version));
    }
    SignedRecord {
        state: state(n, version),
        sigs,
    }
}

/// The effect runs of channel `n`'s life: open, fund, `updates` updates (each a pending
/// update, then the accepted state), and for every fifth channel one more unanswered update.
fn life(n: u32, updates: u64) -> Vec<Vec<PersistRecord>> {
    let mut runs = vec![
        vec![
            PersistRecord::Opened(record(n)),
            PersistRecord::Latest(signed(n, 0, false)),
            PersistRecord::Phase(Phase::Opening),
        ],
        vec![
            PersistRecord::Latest(signed(n, 0, true)),
            PersistRecord::Phase(Phase::Funding),
        ],
        vec![PersistRecord::Phase(Phase::Active)],
    ];
    let pending = |version| {
        PersistRecord::Pending(Some(PendingUpdate {
            state: state(n, version),
            sig: sig(n % 2, version),
        }))
    };
    for version in 1..=updates {
        runs.push(vec![pending(version)]);
        runs.push(vec![
            PersistRecord::Latest(signed(n, version, true)),
            PersistRecord::Pending(None),
        ]);
    }
    if n % 5 == 0 {
        runs.push(vec![pending(updates + 1)]);
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_channels_survive_a_reopen() {
    let library = lmdb_library();
    let data = tempfile::tempdir().unwrap();

    let channels = Arc::new(ChannelStore::open(lmdb_store(&library, data.path())).unwrap());
    let tasks: Vec<_> = (0..50u32)
        .map(|n| {
            let channels = Arc::clone(&channels);
            tokio::spawn(async move {
                let runs = life(n, u64::from(n % 7) + 1);
                for run in &runs {
                    channels.persist(channel_id(n), run).await.unwrap();
                }
                ChannelSnapshot::from_records(runs.iter().flatten()).unwrap()
            })
        })
        .collect();
    let mut expected = Vec::new();
    for task in tasks {
        expected.push(task.await.unwrap());
    }
    expected.sort_by_key(|s| s.channel.channel_id);
    let stats = channels.stats();
    assert_eq!(stats.failed_commits, 0);
    drop(Arc::into_inner(channels).expect("no task holds the store any more"));

    // A new instance on the same directory: the environment was closed with the last handle.
    let channels = ChannelStore::open(lmdb_store(&library, data.path())).unwrap();
    let restored = channels.restore_all().unwrap();
    assert!(restored.broken.is_empty(), "{:?}", restored.broken);
    assert!(restored.stray_keys.is_empty(), "{:?}", restored.stray_keys);
    assert_eq!(restored.channels, expected);
    for snapshot in restored.channels {
        let id = snapshot.channel.channel_id;
        let channel = Channel::restore(snapshot).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(channel.id(), id);
    }
    println!(
        "50 channels persisted {} effect runs in {} LMDB commits",
        stats.batches - 1,
        stats.commits - 1
    );
}

/// A measurement, not a test of speed: run it with
/// `cargo test -p parley-node --test store_lmdb -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn group_commit_throughput_is_printed() {
    const SEQUENTIAL: u64 = 500;
    const CHANNELS: u32 = 100;
    const PER_CHANNEL: u64 = 50;

    let library = lmdb_library();
    let data = tempfile::tempdir().unwrap();
    let channels = Arc::new(ChannelStore::open(lmdb_store(&library, data.path())).unwrap());
    for n in 0..=CHANNELS {
        channels
            .persist(channel_id(n), &life(n, 0)[0])
            .await
            .unwrap();
    }

    let before = channels.stats();
    let started = Instant::now();
    for version in 1..=SEQUENTIAL {
        let run = [PersistRecord::Latest(signed(CHANNELS, version, true))];
        channels.persist(channel_id(CHANNELS), &run).await.unwrap();
    }
    let sequential = started.elapsed();
    let after_sequential = channels.stats();

    let started = Instant::now();
    let tasks: Vec<_> = (0..CHANNELS)
        .map(|n| {
            let channels = Arc::clone(&channels);
            tokio::spawn(async move {
                for version in 1..=PER_CHANNEL {
                    let run = [PersistRecord::Latest(signed(n, version, true))];
                    channels.persist(channel_id(n), &run).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let concurrent = started.elapsed();
    let after = channels.stats();

    let total = u64::from(CHANNELS) * PER_CHANNEL;
    let commits = after.commits - after_sequential.commits;
    println!(
        "durable LMDB, group commit:\n  1 channel, sequential:    {SEQUENTIAL} persists in \
         {:.1} ms = {:.0} persists/s ({} commits)\n  {CHANNELS} channels, concurrent: {total} \
         persists in {:.1} ms = {:.0} persists/s ({commits} commits, {:.1} batches per commit, \
         largest group {})",
        sequential.as_secs_f64() * 1e3,
        SEQUENTIAL as f64 / sequential.as_secs_f64(),
        after_sequential.commits - before.commits,
        concurrent.as_secs_f64() * 1e3,
        total as f64 / concurrent.as_secs_f64(),
        total as f64 / commits as f64,
        after.largest_group,
    );
    assert_eq!(after.failed_commits, 0);
    assert_eq!(after.batches - after_sequential.batches, total);
}
