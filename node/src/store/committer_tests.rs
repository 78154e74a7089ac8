use super::*;
use crate::store::test_support::{eventually, Hold, MemStore};
use std::future::Future;

fn put(key: u32, value: u8) -> WriteOp {
    WriteOp::put(key.to_be_bytes().to_vec(), vec![value])
}

fn start(store: &Arc<MemStore>, limits: CommitterLimits) -> Committer {
    Committer::with_limits(Arc::clone(store) as Arc<dyn Store>, limits).unwrap()
}

/// Holds the store, queues `first` and waits until its commit is in progress, then queues
/// `rest` behind it: they can only go into later groups.
async fn queue_behind_a_commit<'a>(
    store: &'a MemStore,
    committer: &Committer,
    first: Vec<WriteOp>,
    rest: Vec<Vec<WriteOp>>,
) -> (Hold<'a>, Vec<impl Future<Output = Answer>>) {
    let held = store.hold();
    let mut answers = vec![committer.commit(first)];
    eventually("the first commit is in progress", || store.waiting() == 1).await;
    answers.extend(rest.into_iter().map(|ops| committer.commit(ops)));
    (held, answers)
}

async fn all(answers: Vec<impl Future<Output = Answer>>) -> Vec<Answer> {
    let mut out = Vec::new();
    for answer in answers {
        out.push(answer.await);
    }
    out
}

#[tokio::test]
async fn commits_on_the_named_thread() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    committer.commit(vec![put(1, 1)]).await.unwrap();
    assert_eq!(store.committer_threads(), vec![THREAD_NAME.to_string()]);
}

#[tokio::test]
async fn queued_batches_share_one_commit_in_submission_order() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    // 99 batches queue behind the first; batch i writes key i and overwrites key 0.
    let rest: Vec<Vec<WriteOp>> = (1..100).map(|i| vec![put(i, 1), put(0, i as u8)]).collect();
    let (held, answers) =
        queue_behind_a_commit(&store, &committer, vec![put(0, 0)], rest.clone()).await;
    assert_eq!(committer.stats().submitted, 100);
    held.release();
    assert!(all(answers).await.iter().all(Result::is_ok));

    let commits = store.commits();
    assert_eq!(
        commits.len(),
        2,
        "one commit for the first, one for the 99 behind it"
    );
    assert_eq!(
        commits[1],
        rest.concat(),
        "concatenated in submission order"
    );
    assert_eq!(
        store.contents().get(&0u32.to_be_bytes()[..]),
        Some(&vec![99]),
        "the last submitted write to a key wins"
    );
    let stats = committer.stats();
    assert_eq!(
        (
            stats.batches,
            stats.commits,
            stats.failed_commits,
            stats.ops,
            stats.largest_group
        ),
        (100, 2, 0, 1 + 198, 99)
    );
}

#[tokio::test]
async fn a_group_holds_at_most_max_batches() {
    let store = Arc::new(MemStore::default());
    let limits = CommitterLimits {
        max_batches: 3,
        max_bytes: usize::MAX,
        ..CommitterLimits::default()
    };
    let committer = start(&store, limits);
    let rest = (1..=10).map(|i| vec![put(i, 0)]).collect();
    let (held, answers) = queue_behind_a_commit(&store, &committer, vec![put(0, 0)], rest).await;
    held.release();
    assert!(all(answers).await.iter().all(Result::is_ok));
    let sizes: Vec<usize> = store.commits().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![1, 3, 3, 3, 1]);
    assert_eq!(store.contents().len(), 11);
}

#[tokio::test]
async fn a_group_stays_within_the_byte_budget_and_carries_the_rest_over() {
    let store = Arc::new(MemStore::default());
    // Each put is 4 key bytes and 1 value byte; two fit, a third does not. A batch larger
    // than the budget still commits, alone.
    let limits = CommitterLimits {
        max_batches: 1024,
        max_bytes: 10,
        ..CommitterLimits::default()
    };
    let committer = start(&store, limits);
    let rest = vec![
        vec![put(1, 0)],
        vec![put(2, 0)],
        vec![put(3, 0)],
        vec![put(4, 0), put(5, 0), put(6, 0)],
        vec![put(7, 0)],
    ];
    let (held, answers) = queue_behind_a_commit(&store, &committer, vec![put(0, 0)], rest).await;
    held.release();
    assert!(all(answers).await.iter().all(Result::is_ok));
    let keys: Vec<Vec<u32>> = store
        .commits()
        .iter()
        .map(|ops| {
            ops.iter()
                .map(|op| u32::from_be_bytes(op.key().try_into().unwrap()))
                .collect()
        })
        .collect();
    assert_eq!(
        keys,
        vec![vec![0], vec![1, 2], vec![3], vec![4, 5, 6], vec![7]]
    );
}

#[tokio::test]
async fn a_failed_commit_fails_every_waiter_of_its_group_and_later_batches_go_on() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    store.fail_commits(true);
    let rest = (1..10).map(|i| vec![put(i, 0)]).collect();
    let (held, answers) = queue_behind_a_commit(&store, &committer, vec![put(0, 0)], rest).await;
    held.release();
    let answers = all(answers).await;
    assert_eq!(answers.len(), 10);
    for answer in &answers {
        match answer {
            Err(CommitError::Failed(error)) => {
                assert_eq!(error.kind, ErrorKind::Unavailable);
                assert!(error.message().contains("disk is full"), "{error}");
            }
            other => panic!("expected the store's error, got {other:?}"),
        }
    }
    assert!(store.contents().is_empty());
    assert_eq!(
        store.commit_count(),
        2,
        "the failure went to the whole group"
    );

    store.fail_commits(false);
    committer.commit(vec![put(20, 0)]).await.unwrap();
    assert_eq!(store.contents().len(), 1);
    let stats = committer.stats();
    assert_eq!((stats.commits, stats.failed_commits), (3, 2));
}

#[tokio::test]
async fn the_answer_waits_for_the_commit() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    let held = store.hold();
    let answer = tokio::spawn(committer.commit(vec![put(1, 1)]));
    eventually("the commit is in progress", || store.waiting() == 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(!answer.is_finished(), "answered before the commit returned");
    held.release();
    answer.await.unwrap().unwrap();
    assert_eq!(store.contents().len(), 1);
}

#[test]
fn blocking_commits_answer_from_a_plain_thread() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    committer.commit_blocking(vec![put(1, 1)]).unwrap();
    assert_eq!(store.contents().len(), 1);
    // A batch with no writes is answered without a store call.
    committer.commit_blocking(Vec::new()).unwrap();
    assert_eq!(store.commit_count(), 1);
    assert_eq!(committer.stats().batches, 2);
}

#[tokio::test]
async fn dropping_the_committer_commits_what_is_queued() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    let answers: Vec<_> = (0..50).map(|i| committer.commit(vec![put(i, 0)])).collect();
    drop(committer);
    assert_eq!(store.contents().len(), 50, "all queued batches are in");
    assert!(all(answers).await.iter().all(Result::is_ok));
}

/// A store whose commits panic.
struct PanickingStore;

impl Store for PanickingStore {
    fn get(&self, _key: &[u8]) -> parley_plugin_api::PluginResult<Option<Vec<u8>>> {
        Ok(None)
    }

    fn scan(
        &self,
        _prefix: &[u8],
        _after: Option<&[u8]>,
        _limit: usize,
    ) -> parley_plugin_api::PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(Vec::new())
    }

    fn commit(&self, _batch: &[WriteOp]) -> parley_plugin_api::PluginResult<()> {
        panic!("test store: commit panics");
    }
}

#[tokio::test]
async fn a_panicking_store_fails_the_commit_and_the_thread_survives() {
    let committer = Committer::start(Arc::new(PanickingStore)).unwrap();
    for _ in 0..2 {
        match committer.commit(vec![put(1, 1)]).await {
            Err(CommitError::Failed(error)) => assert_eq!(error.kind, ErrorKind::Panicked),
            other => panic!("expected a panicked error, got {other:?}"),
        }
    }
    assert_eq!(committer.stats().failed_commits, 2);
}

/// A [`MemStore`] that says its commits are not durable, as the in-memory store does.
struct NotDurable(Arc<MemStore>);

impl Store for NotDurable {
    fn get(&self, key: &[u8]) -> parley_plugin_api::PluginResult<Option<Vec<u8>>> {
        self.0.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> parley_plugin_api::PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.0.scan(prefix, after, limit)
    }

    fn commit(&self, batch: &[WriteOp]) -> parley_plugin_api::PluginResult<()> {
        self.0.commit(batch)
    }

    fn durability(&self) -> Durability {
        Durability::NotDurable
    }
}

#[test]
fn a_store_that_is_not_durable_is_committed_on_the_callers_thread_in_order() {
    let store = Arc::new(MemStore::default());
    let committer = Committer::start(Arc::new(NotDurable(Arc::clone(&store)))).unwrap();
    let caller = std::thread::Builder::new()
        .name("the-caller".into())
        .spawn(move || {
            // Made before the future is polled: the write is in once `commit` returns.
            let answer = committer.commit(vec![put(1, 1), put(0, 1)]);
            let in_at_once = store.contents().len() == 2;
            committer.commit_blocking(vec![put(0, 2)]).unwrap();
            (committer, store, answer, in_at_once)
        })
        .unwrap();
    let (committer, store, answer, in_at_once) = caller.join().unwrap();
    assert!(in_at_once, "the batch was committed before commit returned");
    futures_ready(answer).unwrap();
    assert_eq!(
        store.contents().get(&0u32.to_be_bytes()[..]),
        Some(&vec![2])
    );
    assert_eq!(
        store.committer_threads(),
        vec!["the-caller".to_string(); 2],
        "no committer thread"
    );
    let stats = committer.stats();
    assert_eq!((stats.submitted, stats.batches, stats.commits), (2, 2, 2));
}

/// The answer of a future that is already resolved.
fn futures_ready(answer: impl Future<Output = Answer>) -> Answer {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(answer)
}

#[test]
fn the_committer_lingers_only_after_groups_of_four_or_more() {
    assert_eq!(
        [0, 1, 2, 3, 4, 5, 40].map(linger_target),
        [1, 1, 1, 1, 8, 10, 80]
    );
}

#[tokio::test]
async fn while_many_write_the_committer_lingers_to_gather_a_group() {
    let store = Arc::new(MemStore::default());
    // A linger far longer than the batches below take to arrive.
    let limits = CommitterLimits {
        max_linger: Duration::from_secs(2),
        ..CommitterLimits::default()
    };
    let committer = start(&store, limits);
    // A group of 8 (many writers), so the next group waits for up to 16 batches.
    let rest = (1..=8).map(|i| vec![put(i, 0)]).collect();
    let (held, answers) = queue_behind_a_commit(&store, &committer, vec![put(0, 0)], rest).await;
    held.release();
    assert!(all(answers).await.iter().all(Result::is_ok));
    let mut answers = Vec::new();
    for i in 10..14 {
        answers.push(committer.commit(vec![put(i, 0)]));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(all(answers).await.iter().all(Result::is_ok));
    let sizes: Vec<usize> = store.commits().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![1, 8, 4],
        "the four batches, 20 ms apart, went into one commit"
    );
}

#[tokio::test]
async fn a_lone_writer_never_waits_for_company() {
    let store = Arc::new(MemStore::default());
    let limits = CommitterLimits {
        max_linger: Duration::from_secs(30),
        ..CommitterLimits::default()
    };
    let committer = start(&store, limits);
    for i in 0..5 {
        committer.commit(vec![put(i, 0)]).await.unwrap();
    }
    assert_eq!(store.commit_count(), 5);
}

#[tokio::test]
async fn a_lazy_batch_rides_with_the_next_commit_in_submission_order() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    let lazy = committer.commit_within(vec![put(1, 1), put(0, 1)], Some(Duration::from_secs(60)));
    // Nothing commits it on its own for a minute: it waits for company.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.commits().is_empty());
    committer.commit(vec![put(2, 2), put(0, 2)]).await.unwrap();
    lazy.await.unwrap();
    let commits = store.commits();
    assert_eq!(commits.len(), 1, "one commit for both: {commits:?}");
    assert_eq!(
        commits[0],
        vec![put(1, 1), put(0, 1), put(2, 2), put(0, 2)],
        "the lazy batch first: it was submitted first"
    );
}

#[tokio::test]
async fn a_lazy_batch_alone_is_committed_when_its_time_is_up() {
    let store = Arc::new(MemStore::default());
    let committer = start(&store, CommitterLimits::default());
    let lazy = committer.commit_within(vec![put(1, 1)], Some(Duration::from_millis(5)));
    lazy.await.unwrap();
    assert_eq!(store.commits(), vec![vec![put(1, 1)]]);
    // A second one alone goes the same way.
    let more = committer.commit_within(vec![put(2, 2)], Some(Duration::from_millis(5)));
    more.await.unwrap();
    assert_eq!(store.commits().len(), 2);
}
