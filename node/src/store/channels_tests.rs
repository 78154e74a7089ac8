use super::*;
use crate::protocol::Phase;
use crate::store::committer::CommitError;
use crate::store::proposal::Proposer;
use crate::store::schema::{channel_key, Slot, SCHEMA_KEY, SCHEMA_VERSION};
use crate::store::test_support::{
    channel_id, channel_record, eventually, signed, snapshot, stored_proposal, MemStore,
};
use parley_plugin_api::ErrorKind;

fn open(store: &Arc<MemStore>) -> ChannelStore {
    ChannelStore::open(Arc::clone(store) as Arc<dyn Store>).unwrap()
}

fn open_err(store: &Arc<MemStore>) -> StoreError {
    match ChannelStore::open(Arc::clone(store) as Arc<dyn Store>) {
        Ok(_) => panic!("the store must be refused"),
        Err(error) => error,
    }
}

#[test]
fn open_writes_the_schema_version_once() {
    let store = Arc::new(MemStore::default());
    drop(open(&store));
    assert_eq!(
        store.contents().get(SCHEMA_KEY),
        Some(&SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    drop(open(&store));
    assert_eq!(store.commit_count(), 1, "a second open writes nothing");
}

#[test]
fn open_refuses_a_newer_schema_and_foreign_data() {
    let store = Arc::new(MemStore::default());
    store.plant(SCHEMA_KEY, &6u32.to_be_bytes());
    let error = open_err(&store);
    assert!(
        matches!(
            error,
            StoreError::NewerSchema {
                found: 6,
                supported: 5
            }
        ),
        "{error}"
    );

    let store = Arc::new(MemStore::default());
    store.plant(b"wallet/key", b"secret");
    let error = open_err(&store);
    assert!(
        matches!(&error, StoreError::NotAParleyStore { key } if key == "wallet/key"),
        "{error}"
    );
    assert_eq!(
        store.commit_count(),
        0,
        "nothing is written into a foreign store"
    );

    let store = Arc::new(MemStore::default());
    store.fail_reads(true);
    let error = open_err(&store);
    assert!(
        matches!(&error, StoreError::Read { key, .. } if key == "meta/schema"),
        "{error}"
    );
}

#[tokio::test]
async fn many_channels_restore_as_persisted() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    let mut expected = Vec::new();
    for n in 0..300 {
        let snapshot = snapshot(n, u64::from(n % 40), n % 3 == 0);
        channels
            .persist(snapshot.channel.channel_id, &snapshot.to_records())
            .await
            .unwrap();
        expected.push(snapshot);
    }
    expected.sort_by_key(|s| s.channel.channel_id);
    drop(channels);

    let channels = open(&store);
    let restored = channels.restore_all().unwrap();
    assert!(restored.broken.is_empty() && restored.stray_keys.is_empty());
    assert_eq!(restored.channels, expected);
    assert_eq!(
        channels.restore_channel(&channel_id(7)).unwrap(),
        Some(snapshot(7, 7, false))
    );
    assert_eq!(channels.restore_channel(&channel_id(1000)).unwrap(), None);
}

#[tokio::test]
async fn later_records_replace_their_slots() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    let id = channel_id(1);
    let opening = snapshot(1, 0, false);
    channels.persist(id, &opening.to_records()).await.unwrap();
    channels
        .persist(
            id,
            &[PersistRecord::Pending(Some(
                crate::store::test_support::pending(1, 0),
            ))],
        )
        .await
        .unwrap();
    channels
        .persist(
            id,
            &[
                PersistRecord::Latest(signed(1, 1)),
                PersistRecord::Pending(None),
            ],
        )
        .await
        .unwrap();
    channels
        .persist(id, &[PersistRecord::Phase(Phase::Closing)])
        .await
        .unwrap();
    let mut want = snapshot(1, 1, false);
    want.phase = Phase::Closing;
    assert_eq!(channels.restore_channel(&id).unwrap(), Some(want));
    assert!(!store
        .contents()
        .contains_key(&channel_key(&id, Slot::Pending)));
}

#[tokio::test]
async fn a_broken_channel_is_reported_and_the_others_restored() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    for n in 0..5 {
        let s = snapshot(n, 1, false);
        channels
            .persist(s.channel.channel_id, &s.to_records())
            .await
            .unwrap();
    }
    store.plant(&channel_key(&channel_id(2), Slot::Latest), &[1, 2, 3]);
    store.plant(b"ch/leftover", b"x");
    let restored = channels.restore_all().unwrap();
    let ids: Vec<_> = restored
        .channels
        .iter()
        .map(|s| s.channel.channel_id)
        .collect();
    assert_eq!(
        ids,
        vec![channel_id(0), channel_id(1), channel_id(3), channel_id(4)]
    );
    assert_eq!(restored.broken.len(), 1);
    let broken = &restored.broken[0];
    assert_eq!(broken.channel_id, channel_id(2));
    assert!(
        matches!(
            broken.error,
            StoreError::MalformedRecord {
                slot: Slot::Latest,
                ..
            }
        ),
        "{}",
        broken.error
    );
    assert!(broken
        .error
        .to_string()
        .contains(&channel_id(2).to_string()));
    assert_eq!(restored.stray_keys, vec!["ch/leftover".to_string()]);

    store.fail_reads(true);
    assert!(matches!(
        channels.restore_all(),
        Err(StoreError::Scan { source, .. }) if source.kind == ErrorKind::Unavailable
    ));
}

#[tokio::test]
async fn persist_resolves_only_after_the_records_are_committed() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    let id = channel_id(1);
    let key = channel_key(&id, Slot::Latest);
    let held = store.hold();
    let written = channels.persist(id, &snapshot(1, 0, false).to_records());
    let observer = Arc::clone(&store);
    let observed_key = key.clone();
    let task = tokio::spawn(async move {
        written.await.unwrap();
        // The first thing the driver does after the await: the data must already be there.
        observer.contents().contains_key(&observed_key)
    });
    eventually("the commit is in progress", || store.waiting() == 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(
        !task.is_finished(),
        "persist resolved before the commit returned"
    );
    assert!(!store.contents().contains_key(&key));
    held.release();
    assert!(
        task.await.unwrap(),
        "the records were not in the store when persist resolved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_channels_share_commits() {
    let store = Arc::new(MemStore::default());
    let channels = Arc::new(open(&store));
    // A commit in progress, as when the disk is syncing: 100 channels persist meanwhile.
    let held = store.hold();
    let first = channels.persist(channel_id(1000), &snapshot(1000, 0, false).to_records());
    eventually("the first commit is in progress", || store.waiting() == 1).await;
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let channels = Arc::clone(&channels);
            tokio::spawn(async move {
                let s = snapshot(n, 3, true);
                channels
                    .persist(s.channel.channel_id, &s.to_records())
                    .await
            })
        })
        .collect();
    eventually("all 100 persists are queued", || {
        channels.stats().submitted == 102
    })
    .await;
    held.release();
    first.await.unwrap();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // The schema version, the first persist, and one group for the 100.
    assert_eq!(store.commit_count(), 3);
    assert_eq!(channels.stats().largest_group, 100);
    let restored = channels.restore_all().unwrap();
    assert_eq!(restored.channels.len(), 101);
    for n in 0..100 {
        assert!(
            restored.channels.contains(&snapshot(n, 3, true)),
            "channel {n}"
        );
    }
}

#[tokio::test]
async fn a_failed_commit_names_the_channel_and_writes_nothing() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    store.fail_commits(true);
    let id = channel_id(4);
    let error = channels
        .persist(id, &snapshot(4, 0, false).to_records())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            StoreError::Write {
                target: WriteTarget::Channel(c),
                source: CommitError::Failed(_)
            } if *c == id
        ),
        "{error}"
    );
    assert!(error.to_string().contains(&id.to_string()), "{error}");
    store.fail_commits(false);
    assert_eq!(channels.restore_channel(&id).unwrap(), None);
}

#[tokio::test]
async fn a_channel_record_of_another_channel_is_refused_unwritten() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    let error = channels
        .persist(channel_id(1), &[PersistRecord::Opened(channel_record(2))])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::RecordOfOtherChannel { .. }),
        "{error}"
    );
    assert_eq!(
        channels.stats().submitted,
        1,
        "only the schema version was written"
    );
}

#[tokio::test]
async fn a_removed_channel_is_gone() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    for n in 0..3 {
        let s = snapshot(n, 2, true);
        channels
            .persist(s.channel.channel_id, &s.to_records())
            .await
            .unwrap();
    }
    channels.remove_channel(channel_id(1)).await.unwrap();
    let restored = channels.restore_all().unwrap();
    let ids: Vec<_> = restored
        .channels
        .iter()
        .map(|s| s.channel.channel_id)
        .collect();
    assert_eq!(ids, vec![channel_id(0), channel_id(2)]);
    assert_eq!(channels.restore_channel(&channel_id(1)).unwrap(), None);
}

#[tokio::test]
async fn proposals_are_stored_listed_and_deleted() {
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    let ours = stored_proposal(1, Proposer::Us);
    let theirs = stored_proposal(2, Proposer::Peer);
    channels.put_proposal(&theirs).await.unwrap();
    channels.put_proposal(&ours).await.unwrap();
    store.plant(b"prop/garbage", b"x");
    let listed = channels.proposals().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].as_ref().unwrap(), &ours, "listed in id order");
    assert_eq!(listed[1].as_ref().unwrap(), &theirs);
    assert!(matches!(
        listed[2],
        Err(StoreError::MalformedProposalKey { .. })
    ));

    // Accepting a proposal: the channel's first records and the proposal's removal land
    // together.
    let opened = snapshot(9, 0, false);
    let mut ops = schema::ops_for(&opened.channel.channel_id, &opened.to_records());
    ops.push(schema::proposal_delete_op(&ours.proposal.proposal_id));
    channels.commit(ops).await.unwrap();
    channels
        .delete_proposal(theirs.proposal.proposal_id)
        .await
        .unwrap();
    let listed = channels.proposals().unwrap();
    assert_eq!(listed.len(), 1, "only the garbage is left");
    assert_eq!(
        channels
            .restore_channel(&opened.channel.channel_id)
            .unwrap(),
        Some(opened)
    );
}

/// Plants `channels` with their version-2 peer links (all with `peer`) and schema `version`,
/// as an older node left them.
fn plant_old_store(
    store: &MemStore,
    version: u32,
    channels: &[&ChannelSnapshot],
    peer: &crate::wire::NodeId,
) {
    use crate::store::node_records::link_op;
    store.plant(SCHEMA_KEY, &version.to_be_bytes());
    for channel in channels {
        let id = channel.channel.channel_id;
        for record in channel.to_records() {
            if let Some(WriteOp::Put { key, value }) = schema::ops_for(&id, &[record]).pop() {
                store.plant(&key.0, &value.0);
            }
        }
        if let WriteOp::Put { key, value } = link_op(&id, peer) {
            store.plant(&key.0, &value.0);
        }
    }
}

#[tokio::test]
async fn opening_a_version_1_store_archives_its_closed_channels_then_migrates_its_links() {
    use crate::store::members::{decode_members, MEMBERS_PREFIX};
    use crate::store::node_records::{link_key, LINK_PREFIX};
    use crate::wire::NodeKey;
    let peer = NodeKey::from_secret_bytes(&[5; 32]).unwrap().node_id();
    let store = Arc::new(MemStore::default());
    // A version-1 store as an older node left it: one active and one closed channel, each with
    // its link, all in the active set.
    let active = snapshot(1, 4, false);
    let mut closed = snapshot(2, 9, false);
    closed.phase = Phase::Closed;
    plant_old_store(&store, 1, &[&active, &closed], &peer);

    let channels = open(&store);
    assert_eq!(
        store.commit_count(),
        4,
        "each migration step is one atomic commit (1 to 2, 2 to 3, 3 to 4, then 4 to 5)"
    );
    let commits = store.commits();
    assert!(
        commits[0].iter().any(|op| op.key() == SCHEMA_KEY
            && matches!(op, WriteOp::Put { value, .. } if value.0 == 2u32.to_be_bytes())),
        "the first step writes version 2"
    );
    assert_eq!(
        store.contents().get(SCHEMA_KEY),
        Some(&SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    let restored = channels.restore_all().unwrap();
    assert_eq!(restored.channels, vec![active.clone()]);
    let closed_id = closed.channel.channel_id;
    let archived = channels.archived(&closed_id).unwrap().expect("archived");
    assert_eq!(archived.snapshot, closed);
    assert_eq!(archived.peer, Some(peer));
    assert!(!store.contents().contains_key(&link_key(&closed_id)));
    assert!(channels.scan_prefix(LINK_PREFIX).unwrap().is_empty());
    let (members, _) = decode_members(&channels.scan_prefix(MEMBERS_PREFIX).unwrap());
    assert_eq!(members.len(), 1, "only the active channel has members");
    assert_eq!(members[&active.channel.channel_id].peer(), Some(peer));
    assert_eq!(channels.archived_all().unwrap().len(), 1);

    // Opening it again changes nothing.
    drop(channels);
    drop(open(&store));
    assert_eq!(store.commit_count(), 4);
}

#[tokio::test]
async fn opening_a_version_2_store_turns_its_links_into_members_in_one_commit() {
    use crate::store::members::{decode_members, MEMBERS_PREFIX};
    use crate::store::node_records::LINK_PREFIX;
    use crate::wire::NodeKey;
    let peer = NodeKey::from_secret_bytes(&[5; 32]).unwrap().node_id();
    let store = Arc::new(MemStore::default());
    let mut mine_first = snapshot(1, 4, false);
    mine_first.channel.my_index = 0;
    let mut mine_second = snapshot(2, 7, false);
    mine_second.channel.my_index = 1;
    plant_old_store(&store, 2, &[&mine_first, &mine_second], &peer);

    let channels = open(&store);
    assert_eq!(
        store.commit_count(),
        3,
        "each step is one atomic commit (2 to 3, 3 to 4, then 4 to 5)"
    );
    assert_eq!(
        store.contents().get(SCHEMA_KEY),
        Some(&SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    assert!(channels.scan_prefix(LINK_PREFIX).unwrap().is_empty());
    let (members, broken) = decode_members(&channels.scan_prefix(MEMBERS_PREFIX).unwrap());
    assert!(broken.is_empty());
    assert_eq!(
        members[&mine_first.channel.channel_id].nodes,
        vec![None, Some(peer)]
    );
    assert_eq!(
        members[&mine_second.channel.channel_id].nodes,
        vec![Some(peer), None]
    );
    let restored = channels.restore_all().unwrap();
    assert_eq!(
        restored.channels.len(),
        2,
        "the channels themselves are untouched"
    );

    drop(channels);
    drop(open(&store));
    assert_eq!(store.commit_count(), 3, "a second open writes nothing");
}

#[tokio::test]
async fn opening_a_version_3_store_writes_versions_4_and_5_alone_and_survives_a_failed_attempt() {
    use crate::store::node_records::{decode_peers, peer_op, StoredPeer, PEER_PREFIX};
    use crate::wire::NodeKey;
    let peer = NodeKey::from_secret_bytes(&[5; 32]).unwrap().node_id();
    let store = Arc::new(MemStore::default());
    let channel = snapshot(1, 4, false);
    let id = channel.channel.channel_id;
    store.plant(SCHEMA_KEY, &3u32.to_be_bytes());
    for op in schema::ops_for(&id, &channel.to_records()) {
        if let WriteOp::Put { key, value } = op {
            store.plant(&key.0, &value.0);
        }
    }
    let bob = StoredPeer {
        alias: "bob".into(),
        node_id: peer,
        transport_address: "127.0.0.1:9740".into(),
    };
    if let WriteOp::Put { key, value } = peer_op(&bob) {
        store.plant(&key.0, &value.0);
    }
    let before = store.contents();

    // A crash during the step (here: its commit fails) leaves the version-3 store as it was.
    store.fail_commits(true);
    assert!(ChannelStore::open(store.clone()).is_err());
    assert_eq!(store.contents(), before);
    store.fail_commits(false);

    let attempts = store.commit_count();
    let channels = open(&store);
    assert_eq!(
        store.commit_count(),
        attempts + 2,
        "one commit a step (3 to 4, 4 to 5)"
    );
    let mut after = store.contents();
    assert_eq!(
        after.remove(SCHEMA_KEY),
        Some(SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    let mut unchanged = before.clone();
    unchanged.remove(SCHEMA_KEY);
    assert_eq!(after, unchanged, "only the version changes");
    let (peers, broken) = decode_peers(&channels.scan_prefix(PEER_PREFIX).unwrap());
    assert!(broken.is_empty());
    assert_eq!(peers, vec![bob]);
    assert_eq!(channels.restore_all().unwrap().channels, vec![channel]);
}

#[tokio::test]
async fn a_channel_and_its_members_share_one_commit() {
    use crate::store::members::{members_key, members_op, ChannelMembers};
    use crate::wire::NodeKey;
    let peer = NodeKey::from_secret_bytes(&[5; 32]).unwrap().node_id();
    let members = ChannelMembers::two_party(0, peer);
    let store = Arc::new(MemStore::default());
    let channels = open(&store);
    let first = snapshot(3, 0, false);
    let id = first.channel.channel_id;
    store.fail_commits(true);
    let failed = channels
        .persist_with(id, &first.to_records(), vec![members_op(&id, &members)])
        .await;
    assert!(failed.is_err());
    assert!(!store.contents().contains_key(&members_key(&id)));
    assert_eq!(channels.restore_channel(&id).unwrap(), None);
    store.fail_commits(false);
    channels
        .persist_with(id, &first.to_records(), vec![members_op(&id, &members)])
        .await
        .unwrap();
    let last = store.commits().pop().unwrap();
    assert!(last
        .iter()
        .any(|op| op.key() == members_key(&id).as_slice()));
    assert!(last
        .iter()
        .any(|op| op.key() == channel_key(&id, Slot::Channel).as_slice()));
}
