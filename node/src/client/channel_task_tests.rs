//! Two channel tasks wired together by an in-test router (the in-memory transport of
//! `client::peers` is private to that module), each persisting through a real
//! [`ChannelStore`] over an in-memory `Store`, signing with a keccak-based test chain.

use super::*;
use crate::client::channel_policy::{IncomingPolicy, PaymentsToUs, NOT_A_PAYMENT_TO_US};
use crate::client::events::EventSink;
use crate::protocol::channel::race_winner;
use crate::protocol::TransitionError;
use crate::protocol::{ChannelProposal, PaymentError, Phase, ProposalAccept, ProposalId};
use crate::testing::ChannelMisbehaviour;
use crate::wire::NodeKey;
use parley_plugin_api::codec::{Bytes, Encode};
use parley_plugin_api::model::{Address, Asset, ChainInfo, Params, WriteOp};
use parley_plugin_api::model::{Participant, Sig};
use parley_plugin_api::{ChainSigner, PluginError, PluginResult, Store};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

use crate::hash::keccak256 as keccak;

/// A chain backend that only ids, signs and verifies: `sig = keccak(seed, state)`.
struct TestChain {
    seeds: Vec<[u8; 32]>,
}

impl TestChain {
    fn new() -> Arc<TestChain> {
        Arc::new(TestChain {
            seeds: (0..2u8).map(|i| keccak(&[b"seed", &[i]])).collect(),
        })
    }

    fn participant(&self, index: usize) -> Participant {
        Participant(keccak(&[&self.seeds[index]])[..20].to_vec())
    }

    fn seed_of(&self, who: &Participant) -> Option<&[u8; 32]> {
        (0..self.seeds.len())
            .find(|&i| self.participant(i) == *who)
            .map(|i| &self.seeds[i])
    }
}

fn no<T>() -> PluginResult<T> {
    Err(PluginError::unsupported("not in the test chain"))
}

impl ChainSigner for TestChain {
    fn info(&self) -> PluginResult<ChainInfo> {
        no()
    }

    fn accounts(&self) -> PluginResult<Vec<Participant>> {
        Ok((0..self.seeds.len()).map(|i| self.participant(i)).collect())
    }

    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId> {
        Ok(ChannelId(keccak(&[&params.encode()])))
    }

    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig> {
        let seed = self
            .seed_of(account)
            .ok_or_else(|| PluginError::not_found("no such account"))?;
        Ok(Sig(keccak(&[seed, &state.encode()]).to_vec()))
    }

    fn verify_state(&self, state: &State, sig: &Sig, who: &Participant) -> PluginResult<bool> {
        Ok(self
            .seed_of(who)
            .is_some_and(|seed| sig.0 == keccak(&[seed, &state.encode()]).to_vec()))
    }
}

/// A `Store` in a `BTreeMap`; its commits fail (writing nothing) while `failing` is set.
#[derive(Default)]
struct MapStore(
    Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    std::sync::atomic::AtomicBool,
);

impl MapStore {
    fn fail(&self, on: bool) {
        self.1.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Store for MapStore {
    fn get(&self, key: &[u8]) -> PluginResult<Option<Vec<u8>>> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> PluginResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let map = self.0.lock().unwrap();
        Ok(map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn commit(&self, batch: &[WriteOp]) -> PluginResult<()> {
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PluginError::unavailable(
                "No space left on device (os error 28)",
            ));
        }
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

/// Sends to whichever task currently serves the peer's side; `None` is a disconnected peer.
/// While held, messages queue up in order and leave on `release`, so a test can make both
/// sides propose before either sees the other's proposal.
#[derive(Clone, Default)]
struct TestLink(Arc<Mutex<LinkState>>);

#[derive(Default)]
struct LinkState {
    target: Option<ChannelHandle>,
    held: Option<Vec<ChannelMessage>>,
    /// The participant index of the channel that sends through this link.
    from: usize,
}

impl TestLink {
    /// Marks the link as the one participant `from` sends through.
    fn set_sender(&self, from: usize) {
        self.0.lock().unwrap().from = from;
    }

    fn set(&self, handle: Option<ChannelHandle>) {
        self.0.lock().unwrap().target = handle;
    }

    fn hold(&self) {
        self.0.lock().unwrap().held = Some(Vec::new());
    }

    /// The messages held so far.
    fn held(&self) -> Vec<ChannelMessage> {
        self.0.lock().unwrap().held.clone().unwrap_or_default()
    }

    fn release(&self) {
        let mut state = self.0.lock().unwrap();
        let held = state.held.take().unwrap_or_default();
        let target = state.target.as_ref().expect("a connected peer");
        for message in held {
            target.deliver(state.from, message).unwrap();
        }
    }
}

impl PeerLink for TestLink {
    fn send(
        &self,
        peer: NodeId,
        message: &ChannelMessage,
    ) -> impl Future<Output = Result<(), PeerError>> + Send {
        let mut guard = self.0.lock().unwrap();
        let state = &mut *guard;
        let sent = match (&mut state.held, &state.target) {
            (Some(held), Some(_)) => {
                held.push(message.clone());
                Ok(())
            }
            (None, Some(handle)) => handle
                .deliver(state.from, message.clone())
                .map_err(|_| PeerError::NotConnected(peer)),
            (_, None) => Err(PeerError::NotConnected(peer)),
        };
        async move { sent }
    }
}

fn node_id(n: u8) -> NodeId {
    NodeKey::from_secret_bytes(&[n; 32]).unwrap().node_id()
}

/// Events a test subscribes to.
#[derive(Clone)]
struct TestEvents(tokio::sync::broadcast::Sender<Event>);

impl TestEvents {
    fn new() -> TestEvents {
        TestEvents(tokio::sync::broadcast::channel(1024).0)
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.0.subscribe()
    }
}

impl EventSink for TestEvents {
    fn publish(&self, event: Event) {
        let _ = self.0.send(event);
    }
}

/// One side: its task, its store and the link its messages leave by.
struct Side {
    handle: ChannelHandle,
    task: JoinHandle<()>,
    /// The size of the task's future: what an idle channel's task costs besides its state.
    future_bytes: usize,
    store: Arc<ChannelStore>,
    /// The store plugin under `store`, to make its commits fail.
    raw: Arc<MapStore>,
    events: TestEvents,
    /// The channel's status as the registry would show it.
    status: crate::client::registry::StatusCell,
    /// What the task reports to the node.
    reports: UnboundedReceiver<(ChannelId, ChannelReport)>,
    /// Where this side's messages go (to the other side's handle).
    out: TestLink,
    peer: NodeId,
}

/// A channel store over a fresh [`MapStore`].
fn stores() -> (Arc<MapStore>, Arc<ChannelStore>) {
    let raw = Arc::new(MapStore::default());
    let store = Arc::new(ChannelStore::open(raw.clone()).unwrap());
    (raw, store)
}

impl Side {
    async fn view(&self) -> ChannelView {
        timeout(WAIT, self.handle.snapshot())
            .await
            .expect("in time")
            .unwrap()
    }

    /// The newest state the store holds.
    /// Whether this side's store holds `version`: fully signed, or as its own pending
    /// proposal (a payer's completed update may still be on its way to the disk when the
    /// payment returns: `ChannelTask::may_defer`).
    fn durably_holds(&self, version: u64) -> bool {
        let stored = self
            .store
            .restore_channel(&self.handle.id())
            .unwrap()
            .expect("stored");
        stored.latest.state.version >= version
            || stored.pending.is_some_and(|p| p.state.version == version)
    }

    fn durable_version(&self) -> u64 {
        self.store
            .restore_channel(&self.handle.id())
            .unwrap()
            .expect("stored")
            .latest
            .state
            .version
    }
}

struct Pair {
    chain: Arc<TestChain>,
    a: Side,
    b: Side,
}

fn spawn(
    channel: Channel,
    initial: Vec<Effect>,
    chain: &Arc<TestChain>,
    (raw, store): (Arc<MapStore>, Arc<ChannelStore>),
    out: TestLink,
    peer: NodeId,
    policy: SharedPolicy,
) -> Side {
    let honest = ChannelMisbehaviour::default();
    spawn_misbehaving(
        channel,
        initial,
        chain,
        (raw, store),
        out,
        peer,
        policy,
        honest,
    )
}

#[allow(clippy::too_many_arguments)]
fn spawn_misbehaving(
    channel: Channel,
    initial: Vec<Effect>,
    chain: &Arc<TestChain>,
    (raw, store): (Arc<MapStore>, Arc<ChannelStore>),
    out: TestLink,
    peer: NodeId,
    policy: SharedPolicy,
    misbehaviour: ChannelMisbehaviour,
) -> Side {
    let events = TestEvents::new();
    let (reports_tx, reports) = unbounded_channel();
    out.set_sender(channel.my_index());
    let status = crate::client::registry::status_cell(channel.phase());
    let deps = ChannelDeps {
        status: Some(status.clone()),
        members: ChannelMembers::two_party(channel.my_index(), peer),
        link: out.clone(),
        chain: chain.clone(),
        store: store.clone(),
        events: Arc::new(events.clone()),
        policy,
        reports: Some(reports_tx),
        keep_history: false,
        first_writes: Vec::new(),
        restored_payments: None,
        misbehaviour,
        assets: Arc::from([]),
        virtual_holds: None,
    };
    let (handle, task) = channel_task(channel, initial, deps);
    let future_bytes = std::mem::size_of_val(&task);
    let task = tokio::spawn(task);
    Side {
        handle,
        task,
        future_bytes,
        store,
        raw,
        events,
        status,
        reports,
        out,
        peer,
    }
}

/// Stops `side`'s task and starts it again from its store with `misbehaviour`, as a node
/// restarted with new `[testing]` switches; `other` sends to the new task from then on.
async fn restart_misbehaving(
    side: Side,
    other: &Side,
    chain: &Arc<TestChain>,
    misbehaviour: ChannelMisbehaviour,
) -> Side {
    other.out.set(None);
    let Side {
        handle,
        task,
        store,
        raw,
        peer,
        out,
        ..
    } = side;
    drop(handle);
    timeout(WAIT, task).await.unwrap().unwrap();
    let snapshot = store
        .restore_channel(&other.handle.id())
        .unwrap()
        .expect("stored");
    let channel = Channel::restore(snapshot).unwrap();
    let side = spawn_misbehaving(
        channel,
        Vec::new(),
        chain,
        (raw, store),
        out,
        peer,
        default_policy(),
        misbehaviour,
    );
    other.out.set(Some(side.handle.clone()));
    side
}

fn asset(n: u8) -> Asset {
    Asset {
        chain_id: 31337,
        holder: Address(vec![n; 20]),
    }
}

/// Opens a channel with `balances` (one asset) between A (index 0) and B, funds it on both
/// sides and waits until both are `Active`.
async fn active_pair(balances: [u64; 2], policy_a: SharedPolicy, policy_b: SharedPolicy) -> Pair {
    let pair = funding_pair(balances, policy_a, policy_b).await;
    for side in [&pair.a, &pair.b] {
        side.handle.funded().await.unwrap();
        assert_eq!(side.view().await.snapshot.phase, Phase::Active);
    }
    pair
}

/// The proposal and accept of a one-asset channel between participants 0 and 1 of `chain`.
fn opening(chain: &TestChain, balances: [u64; 2]) -> (ChannelProposal, ProposalAccept) {
    let proposal = ChannelProposal {
        proposal_id: ProposalId([1; 32]),
        proposer: chain.participant(0),
        assets: vec![asset(0)],
        balances: vec![balances.iter().map(|&b| Amount::from(b)).collect()],
        locked: Vec::new(),
        challenge_duration: 3600,
        nonce_share: [2; 32],
        app: None,
        app_data: Bytes::default(),
        ledger_channel: true,
        virtual_channel: false,
        parent: None,
    };
    let accept = ProposalAccept {
        proposal_id: ProposalId([1; 32]),
        nonce_share: [3; 32],
        participant: chain.participant(1),
    };
    (proposal, accept)
}

/// Opens a channel like [`active_pair`], but leaves both sides in `Funding`.
async fn funding_pair(balances: [u64; 2], policy_a: SharedPolicy, policy_b: SharedPolicy) -> Pair {
    let chain = TestChain::new();
    let (proposal, accept) = opening(&chain, balances);
    let crypto: &TestChain = &chain;
    let (a, a_fx) =
        Channel::open(&proposal, &accept, &chain.participant(0), crypto, crypto).unwrap();
    let (b, b_fx) =
        Channel::open(&proposal, &accept, &chain.participant(1), crypto, crypto).unwrap();
    let (to_b, to_a) = (TestLink::default(), TestLink::default());
    // B's opening effects are executed here by hand (persist, then its signature is handed to
    // A below), because A's task does not exist yet when B opens.
    let b_store = stores();
    let b_id = b.id();
    b_store.1.persist(b_id, &records(&b_fx)).await.unwrap();
    let b_side = spawn(
        b,
        Vec::new(),
        &chain,
        b_store,
        to_a.clone(),
        node_id(1),
        policy_b,
    );
    to_b.set(Some(b_side.handle.clone()));
    let a_side = spawn(a, a_fx, &chain, stores(), to_b, node_id(2), policy_a);
    to_a.set(Some(a_side.handle.clone()));
    for effect in b_fx {
        if let Effect::Send { message, .. } = effect {
            // From B, participant 1.
            a_side.handle.deliver(1, message).unwrap();
        }
    }
    let pair = Pair {
        chain,
        a: a_side,
        b: b_side,
    };
    for side in [&pair.a, &pair.b] {
        wait_for(side, |v| v.snapshot.phase == Phase::Funding).await;
    }
    pair
}

#[tokio::test]
async fn an_update_that_arrives_before_we_see_the_funding_waits_for_it() {
    let pair = funding_pair([10, 10], default_policy(), default_policy()).await;
    // A sees the funding first and pays at once; B has not seen it yet.
    pair.a.handle.funded().await.unwrap();
    let handle = pair.a.handle.clone();
    let payment = tokio::spawn(async move { handle.pay(0, Amount::from(3)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let b = pair.b.view().await;
    assert_eq!(b.snapshot.phase, Phase::Funding);
    assert_eq!(b.snapshot.latest.state.version, 0);
    assert!(!payment.is_finished(), "the payment must wait for B");
    // B's lifecycle sees the funding: the held update is answered.
    pair.b.handle.funded().await.unwrap();
    assert_eq!(timeout(WAIT, payment).await.unwrap().unwrap(), Ok(1));
    let b = wait_for(&pair.b, |v| v.snapshot.latest.state.version == 1).await;
    assert_eq!(balances(&b), vec![Amount::from(7), Amount::from(13)]);
}

fn records(effects: &[Effect]) -> Vec<PersistRecord> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

async fn wait_for(side: &Side, done: impl Fn(&ChannelView) -> bool) -> ChannelView {
    timeout(WAIT, async {
        loop {
            let view = side.view().await;
            if done(&view) {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the condition in time")
}

fn balances(view: &ChannelView) -> Vec<Amount> {
    view.snapshot.latest.state.allocation.balances[0].clone()
}

/// Asserts `side`'s view of its channel holds `expected` (participant 0's, then 1's).
async fn assert_balances(side: &Side, expected: [u64; 2]) {
    assert_eq!(
        balances(&side.view().await),
        expected.map(Amount::from).to_vec()
    );
}

fn default_policy() -> SharedPolicy {
    Arc::new(PaymentsToUs)
}

/// Until `side`'s store holds `version` fully signed.
async fn wait_until_durable(side: &Side, version: u64) {
    timeout(WAIT, async {
        while side.durable_version() < version {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the write lands in time")
}

async fn pay(side: &Side, amount: u64) -> Result<u64, CommandError> {
    timeout(WAIT, side.handle.pay(0, Amount::from(amount)))
        .await
        .expect("the payment settles in time")
}

#[tokio::test]
async fn payments_both_ways_conserve_totals_and_agree() {
    let pair = active_pair([1_000, 1_000], default_policy(), default_policy()).await;
    for i in 0..200u64 {
        let (payer, amount) = if i % 2 == 0 {
            (&pair.a, 3)
        } else {
            (&pair.b, 1)
        };
        let version = pay(payer, amount).await.expect("payment accepted");
        assert_eq!(version, i + 1);
        // The reply comes only once the payee's store holds the new state fully signed, and
        // the payer's at least its own signed proposal of it.
        let payee = if i % 2 == 0 { &pair.b } else { &pair.a };
        assert!(payee.durable_version() >= version);
        assert!(payer.durably_holds(version));
    }
    let a = wait_for(&pair.a, |v| v.snapshot.latest.state.version == 200).await;
    let b = wait_for(&pair.b, |v| v.snapshot.latest.state.version == 200).await;
    assert_eq!(a.snapshot.latest, b.snapshot.latest);
    assert_eq!(balances(&a), vec![Amount::from(800), Amount::from(1_200)]);
    // B made the last payment: its own write of A's accept lands once flushed.
    timeout(WAIT, pair.b.handle.flush()).await.unwrap().unwrap();
    assert_eq!(pair.b.durable_version(), 200);
    assert!(!pair.a.task.is_finished());
}

#[tokio::test]
async fn every_reply_follows_the_payees_durable_state_and_is_published() {
    let pair = active_pair([50, 50], default_policy(), default_policy()).await;
    let mut events = pair.a.events.subscribe();
    for expected in 1..=5 {
        let version = pay(&pair.a, 1).await.unwrap();
        assert_eq!(version, expected);
        let stored = pair
            .b
            .store
            .restore_channel(&pair.b.handle.id())
            .unwrap()
            .unwrap();
        assert_eq!(stored.latest.state.version, version);
        assert!(stored.latest.sigs.iter().all(Option::is_some));
        assert!(pair.a.durably_holds(version));
    }
    // Once flushed, the payer's own write of the last one is there too, nothing pending.
    timeout(WAIT, pair.a.handle.flush()).await.unwrap().unwrap();
    assert_eq!(pair.a.durable_version(), 5);
    let stored = pair
        .a
        .store
        .restore_channel(&pair.a.handle.id())
        .unwrap()
        .unwrap();
    assert!(stored.latest.sigs.iter().all(Option::is_some));
    assert_eq!(stored.pending, None);
    let mut accepted = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::UpdateAccepted { version, .. } = event {
            accepted.push(version);
        }
    }
    assert_eq!(accepted, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_channel_changed_event_carries_the_channels_status_line() {
    let pair = active_pair([50, 50], default_policy(), default_policy()).await;
    let mut events = pair.a.events.subscribe();
    pair.a
        .status
        .send_modify(|status| status.note = Some("settling soon".to_string()));
    pay(&pair.a, 1).await.unwrap();
    let mut changed = None;
    while let Ok(event) = events.try_recv() {
        if let Event::ChannelChanged(overview) = event {
            changed = Some(overview);
        }
    }
    let changed = changed.expect("the payment published the changed channel");
    assert_eq!(changed.status.as_deref(), Some("settling soon"));
    assert_eq!(changed.snapshot.map(|s| s.latest.state.version), Some(1));
}

#[tokio::test]
async fn an_overdraft_fails_and_changes_nothing() {
    let pair = active_pair([10, 10], default_policy(), default_policy()).await;
    let before = pair.a.view().await;
    let error = pay(&pair.a, 11).await.unwrap_err();
    assert!(
        matches!(
            error,
            CommandError::Channel(ChannelError::Payment(PaymentError::Overdraft { .. }))
        ),
        "{error:?}"
    );
    assert_eq!(pair.a.view().await, before);
    assert_eq!(pair.a.durable_version(), 0);
    // The channel still works afterwards.
    assert_eq!(pay(&pair.a, 10).await, Ok(1));
}

#[tokio::test]
async fn a_declined_update_fails_the_proposers_payment_with_the_reason() {
    let decline: SharedPolicy =
        Arc::new(|_: usize, _: &State, _: &State| Decision::Reject("no thanks".to_string()));
    let pair = active_pair([10, 10], default_policy(), decline).await;
    let error = pay(&pair.a, 4).await.unwrap_err();
    assert_eq!(
        error,
        CommandError::Rejected(RejectReason::Declined("no thanks".to_string()))
    );
    assert_balances(&pair.a, [10, 10]).await;
    // The default policy accepts a cooperative settlement: the same balances, final.
    let version = timeout(WAIT, pair.b.handle.propose_final())
        .await
        .unwrap()
        .unwrap();
    // Version 1 went to the declined payment: spent.
    assert_eq!(version, 2);
    let view = pair.a.view().await;
    assert!(view.snapshot.latest.state.is_final);
    assert_eq!(view.snapshot.phase, Phase::Closing);
}

#[tokio::test]
async fn an_update_can_wait_for_the_apis_decision() {
    let ask: SharedPolicy = Arc::new(|_: usize, _: &State, _: &State| Decision::Ask {
        within: Duration::from_secs(60),
    });
    let pair = active_pair([10, 10], default_policy(), ask).await;
    let handle = pair.a.handle.clone();
    let payment = tokio::spawn(async move { handle.pay(0, Amount::from(2)).await });
    let view = wait_for(&pair.b, |v| v.awaiting_decision.is_some()).await;
    assert_eq!(view.awaiting_decision.unwrap().version, 1);
    pair.b.handle.accept(None).await.unwrap();
    assert_eq!(timeout(WAIT, payment).await.unwrap().unwrap(), Ok(1));
    assert_eq!(
        pair.b.handle.accept(None).await,
        Err(CommandError::Answer(AnswerError::NothingAwaits))
    );
}

fn asking(within: Duration) -> SharedPolicy {
    Arc::new(move |_: usize, _: &State, _: &State| Decision::Ask { within })
}

#[tokio::test]
async fn the_users_rejection_reaches_the_proposer_with_its_reason() {
    let pair = active_pair([10, 10], default_policy(), asking(Duration::from_secs(60))).await;
    let handle = pair.a.handle.clone();
    let payment = tokio::spawn(async move { handle.pay(0, Amount::from(2)).await });
    let view = wait_for(&pair.b, |v| v.awaiting_decision.is_some()).await;
    assert!(
        view.answer_by.is_some(),
        "the user was asked, with a deadline"
    );
    assert_eq!(
        pair.b.handle.accept(Some(2)).await,
        Err(CommandError::Answer(AnswerError::OtherVersion {
            awaiting: 1,
            given: 2
        }))
    );
    pair.b.handle.reject(Some(1), "too much").await.unwrap();
    assert_eq!(
        timeout(WAIT, payment).await.unwrap().unwrap(),
        Err(CommandError::Rejected(RejectReason::Declined(
            "too much".into()
        )))
    );
    assert_eq!(
        pair.b.handle.accept(Some(1)).await,
        Err(CommandError::Answer(AnswerError::AlreadyAnswered {
            version: 1,
            how: Answered::Rejected
        }))
    );
    let view = pair.b.view().await;
    assert_eq!(view.snapshot.latest.state.version, 0);
    assert_eq!((view.awaiting_decision, view.answer_by), (None, None));
}

#[tokio::test]
async fn an_update_nobody_answers_is_declined_at_its_deadline() {
    let pair = active_pair(
        [10, 10],
        default_policy(),
        asking(Duration::from_millis(300)),
    )
    .await;
    let started = std::time::Instant::now();
    let payment = pair.a.handle.pay(0, Amount::from(2));
    assert_eq!(
        timeout(WAIT, payment).await.unwrap(),
        Err(CommandError::Rejected(RejectReason::Declined(
            NOT_ANSWERED.into()
        )))
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        pair.b.handle.reject(Some(1), "late").await,
        Err(CommandError::Answer(AnswerError::AlreadyAnswered {
            version: 1,
            how: Answered::Lapsed
        }))
    );
    // The channel goes on: the next update is asked about afresh.
    let handle = pair.a.handle.clone();
    let payment = tokio::spawn(async move { handle.pay(0, Amount::from(3)).await });
    wait_for(&pair.b, |v| v.awaiting_decision.is_some()).await;
    // Above version 1, which the lapsed update spent.
    pair.b.handle.accept(Some(2)).await.unwrap();
    assert_eq!(timeout(WAIT, payment).await.unwrap().unwrap(), Ok(2));
    let view = pair.b.view().await;
    assert_eq!(
        view.snapshot.latest.state.allocation.balances[0],
        vec![Amount::from(7), Amount::from(13)]
    );
}

#[tokio::test]
async fn concurrent_payments_from_both_sides_both_succeed() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    for round in 0..10u64 {
        // Both proposals of the same version are out before either side sees the other's:
        // the race's winner proposes its payment again one version up, the loser's is
        // superseded and retried on top of it.
        let race = 3 * round + 1;
        pair.a.out.hold();
        pair.b.out.hold();
        let (a, b) = (pair.a.handle.clone(), pair.b.handle.clone());
        let from_a = tokio::spawn(async move { a.pay(0, Amount::from(2)).await });
        let from_b = tokio::spawn(async move { b.pay(0, Amount::from(1)).await });
        for side in [&pair.a, &pair.b] {
            let view = wait_for(side, |v| v.snapshot.pending.is_some()).await;
            assert_eq!(view.snapshot.pending.unwrap().state.version, race);
        }
        pair.a.out.release();
        pair.b.out.release();
        let from_a = timeout(WAIT, from_a).await.unwrap().unwrap();
        let from_b = timeout(WAIT, from_b).await.unwrap().unwrap();
        let (won, lost) = (Ok(race + 1), Ok(race + 2));
        if race_winner(race) == 0 {
            assert_eq!((from_a, from_b), (won, lost), "race {race}");
        } else {
            assert_eq!((from_b, from_a), (won, lost), "race {race}");
        }
    }
    // And without holding: whatever the interleaving, both settle.
    for _ in 0..10 {
        let (a, b) = (pair.a.handle.clone(), pair.b.handle.clone());
        let (from_a, from_b) = tokio::join!(
            tokio::spawn(async move { a.pay(0, Amount::from(2)).await }),
            tokio::spawn(async move { b.pay(0, Amount::from(1)).await }),
        );
        assert!(from_a.unwrap().is_ok());
        assert!(from_b.unwrap().is_ok());
    }
    let settled = |v: &ChannelView| balances(v) == vec![Amount::from(80), Amount::from(120)];
    let a = wait_for(&pair.a, settled).await;
    let b = wait_for(&pair.b, settled).await;
    assert_eq!(a.snapshot.latest, b.snapshot.latest);
    assert_eq!(balances(&a), vec![Amount::from(80), Amount::from(120)]);
}

#[tokio::test]
async fn a_restarted_task_continues_at_the_same_version() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    for _ in 0..3 {
        pay(&pair.a, 5).await.unwrap();
        pay(&pair.b, 1).await.unwrap();
    }
    // Stop A: drop its every handle (B's link points at it too) and wait for the task.
    let Pair { chain, a, b } = pair;
    b.out.set(None);
    let Side {
        handle,
        task,
        store,
        raw,
        peer,
        out,
        ..
    } = a;
    drop(handle);
    timeout(WAIT, task).await.unwrap().unwrap();

    let restored = store.restore_all().unwrap();
    assert!(restored.broken.is_empty());
    let [snapshot] = <[ChannelSnapshot; 1]>::try_from(restored.channels).unwrap();
    assert_eq!(snapshot.latest.state.version, 6);
    let channel = Channel::restore(snapshot).unwrap();
    let a = spawn(
        channel,
        Vec::new(),
        &chain,
        (raw, store),
        out,
        peer,
        default_policy(),
    );
    b.out.set(Some(a.handle.clone()));
    a.handle.peer_connected().unwrap();
    b.handle.peer_connected().unwrap();
    wait_for(&a, |v| !v.syncing).await;
    // The restart spent version 7 (a proposal may leave before its record is durable); A's
    // request told B so.
    assert_eq!(pay(&a, 5).await, Ok(8));
    assert_eq!(pay(&b, 1).await, Ok(9));
    let view = wait_for(&a, |v| v.snapshot.latest.state.version == 9).await;
    assert_eq!(
        balances(&view),
        vec![Amount::from(100 - 20 + 4), Amount::from(100 + 20 - 4)]
    );
}

#[test]
fn the_default_policy_accepts_only_payments_to_us() {
    let state = |mine: u64, theirs: u64, is_final: bool| State {
        channel_id: ChannelId([1; 32]),
        version: 1,
        allocation: parley_plugin_api::model::Allocation {
            assets: vec![asset(0)],
            balances: vec![vec![Amount::from(mine), Amount::from(theirs)]],
            locked: Vec::new(),
        },
        app_data: Bytes::default(),
        is_final,
    };
    let policy = PaymentsToUs;
    assert_eq!(
        policy.decide(0, &state(5, 5, false), &state(6, 4, false)),
        Decision::Accept
    );
    assert_eq!(
        policy.decide(0, &state(5, 5, false), &state(4, 6, false)),
        Decision::Reject(NOT_A_PAYMENT_TO_US.to_string())
    );
    assert_eq!(
        policy.decide(1, &state(5, 5, false), &state(6, 4, false)),
        Decision::Reject(NOT_A_PAYMENT_TO_US.to_string())
    );
    // Cooperative settlement: the same balances, final.
    assert_eq!(
        policy.decide(0, &state(5, 5, false), &state(5, 5, true)),
        Decision::Accept
    );
    // A final state that also moves funds away from us is declined.
    assert_eq!(
        policy.decide(0, &state(5, 5, false), &state(4, 6, true)),
        Decision::Reject(NOT_A_PAYMENT_TO_US.to_string())
    );
}

/// Waits out the probe interval (a few times) until `done`.
async fn after_probe(side: &Side, done: impl Fn(&ChannelView) -> bool) -> ChannelView {
    timeout(WAIT + PROBE * 3, async {
        loop {
            let view = side.view().await;
            if done(&view) {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the condition after the store recovered")
}

#[tokio::test]
async fn a_store_failing_under_a_payment_leaves_it_uncertain_and_the_channel_catches_up() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    assert_eq!(pay(&pair.a, 5).await, Ok(1));
    wait_until_durable(&pair.a, 1).await;
    pair.a.raw.fail(true);
    // The proposal goes out while its record is written (issue #15), so when the write
    // fails the payment may be made: the answer says so, not that it did not happen.
    let error = pay(&pair.a, 7).await.unwrap_err();
    assert!(
        matches!(&error, CommandError::Uncertain { version: 2, error } if error.contains("No space left")),
        "{error:?}"
    );
    // The task is alive: the channel is still shown, at its durable state.
    let view = pair.a.view().await;
    assert_eq!(view.snapshot.latest.state.version, 1);
    // While the store fails, payments are refused at once with its error: they did not
    // happen.
    let refused = pay(&pair.a, 1).await.unwrap_err();
    assert!(
        matches!(refused, CommandError::StoreFailed { .. }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("did not happen"), "{refused}");
    assert!(pair.a.view().await.outage.is_some());
    pair.a.raw.fail(false);
    after_probe(&pair.a, |v| v.outage.is_none() && !v.syncing).await;
    // Re-synchronised with B: the uncertain payment is settled the same on both sides (B
    // accepted it if it arrived), and the channel pays again.
    let made = pair.b.view().await.snapshot.latest.state.version == 2;
    let version = pay(&pair.a, 7).await.unwrap();
    assert!(version >= 3, "{version}");
    let settled = |v: &ChannelView| v.snapshot.latest.state.version == version;
    let a = wait_for(&pair.a, settled).await;
    let b = wait_for(&pair.b, settled).await;
    assert_eq!(a.snapshot.latest, b.snapshot.latest);
    let paid = if made { 5 + 7 + 7 } else { 5 + 7 };
    assert_eq!(
        balances(&b),
        vec![Amount::from(100 - paid), Amount::from(100 + paid)]
    );
    timeout(WAIT, pair.a.handle.flush()).await.unwrap().unwrap();
    assert_eq!(pair.a.durable_version(), version);
    assert!(!pair.a.task.is_finished());
}

#[tokio::test]
async fn a_payment_whose_accept_cannot_be_stored_is_made_and_the_payer_catches_up() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    // A's proposal is persisted and sent; the store fails before B's accept is stored.
    pair.a.out.hold();
    let handle = pair.a.handle.clone();
    let payment = tokio::spawn(async move { handle.pay(0, Amount::from(4)).await });
    wait_for(&pair.a, |v| v.snapshot.pending.is_some()).await;
    pair.a.raw.fail(true);
    pair.a.out.release();
    // B holds the payment fully signed and durable, and A its signed proposal: the payment
    // is made, whatever becomes of A's own write of B's signature.
    let version = timeout(WAIT, payment).await.unwrap().unwrap().unwrap();
    assert_eq!(version, 1);
    assert_eq!(pair.b.durable_version(), 1);
    // That write fails: A's channel falls back to what its store holds, its proposal on top
    // of version 0, until the store works and the re-synchronisation brings B's signature.
    after_probe(&pair.a, |v| v.outage.is_some()).await;
    pair.a.raw.fail(false);
    let a = after_probe(&pair.a, |v| {
        v.snapshot.latest.state.version == 1 && !v.syncing
    })
    .await;
    assert_eq!(balances(&a), vec![Amount::from(96), Amount::from(104)]);
    assert_eq!(pair.a.durable_version(), 1);
}

#[tokio::test]
async fn a_chain_fact_goes_on_while_the_store_fails_and_is_written_later() {
    let pair = funding_pair([10, 10], default_policy(), default_policy()).await;
    pair.a.raw.fail(true);
    // The chain says the channel is funded: the channel moves on in memory (the watcher and
    // disputes must not wait for a disk), and the phase is written once the store works.
    timeout(WAIT, pair.a.handle.funded())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pair.a.view().await.snapshot.phase, Phase::Active);
    let stored = |side: &Side| {
        side.store
            .restore_channel(&side.handle.id())
            .unwrap()
            .unwrap()
            .phase
    };
    assert_eq!(stored(&pair.a), Phase::Funding);
    timeout(WAIT, pair.a.handle.dispute())
        .await
        .unwrap()
        .unwrap();
    pair.a.raw.fail(false);
    after_probe(&pair.a, |_| stored(&pair.a) == Phase::Disputed).await;
}

#[tokio::test]
async fn an_opening_whose_first_write_fails_sends_nothing_until_it_is_durable_with_its_link() {
    use crate::store::members::{members_key, members_op};
    let chain = TestChain::new();
    let (proposal, accept) = opening(&chain, [5, 5]);
    let crypto: &TestChain = &chain;
    let (a, a_fx) =
        Channel::open(&proposal, &accept, &chain.participant(0), crypto, crypto).unwrap();
    let id = a.id();
    let (raw, store) = stores();
    raw.fail(true);
    // Messages to the peer are held in the link, so the test sees whether any left.
    let out = TestLink::default();
    let sink = TestLink::default();
    let (peer_handle, _peer_task) = spawn_channel_task(
        Channel::open(&proposal, &accept, &chain.participant(1), crypto, crypto)
            .unwrap()
            .0,
        Vec::new(),
        ChannelDeps {
            status: None,
            members: ChannelMembers::two_party(1, node_id(2)),
            link: sink,
            chain: chain.clone(),
            store: stores().1,
            events: Arc::new(TestEvents::new()),
            policy: default_policy(),
            reports: None,
            keep_history: false,
            first_writes: Vec::new(),
            restored_payments: None,
            misbehaviour: ChannelMisbehaviour::default(),
            assets: Arc::from([]),
            virtual_holds: None,
        },
    );
    out.set(Some(peer_handle));
    out.hold();
    let (reports, mut reported) = unbounded_channel();
    let (handle, _task) = spawn_channel_task(
        a,
        a_fx,
        ChannelDeps {
            status: None,
            members: ChannelMembers::two_party(0, node_id(1)),
            link: out.clone(),
            chain: chain.clone(),
            store: store.clone(),
            events: Arc::new(TestEvents::new()),
            policy: default_policy(),
            reports: Some(reports),
            keep_history: false,
            first_writes: vec![members_op(&id, &ChannelMembers::two_party(0, node_id(1)))],
            restored_payments: None,
            misbehaviour: ChannelMisbehaviour::default(),
            assets: Arc::from([]),
            virtual_holds: None,
        },
    );
    let (_, report) = timeout(WAIT, reported.recv()).await.unwrap().unwrap();
    assert!(
        matches!(&report, ChannelReport::StoreFailed(why) if why.contains("No space left")),
        "{report:?}"
    );
    // Still shown (in memory), nothing durable, nothing sent.
    assert_eq!(
        handle.snapshot().await.unwrap().snapshot.phase,
        Phase::Opening
    );
    assert_eq!(store.restore_channel(&id).unwrap(), None);
    assert!(out.held().is_empty(), "sent before the opening was durable");
    raw.fail(false);
    let (_, report) = timeout(WAIT + PROBE * 3, reported.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report, ChannelReport::StoreRecovered);
    // The channel and its peer link became durable together, then the opening went out.
    assert!(store.restore_channel(&id).unwrap().is_some());
    assert!(raw.0.lock().unwrap().contains_key(&members_key(&id)));
    let kinds: Vec<&str> = out.held().iter().map(ChannelMessage::kind).collect();
    assert_eq!(kinds, vec!["opening_sig", "sync_request"]);
}

#[tokio::test]
async fn a_concluded_channel_moves_to_the_archive_and_its_task_ends() {
    let pair = active_pair([10, 10], default_policy(), default_policy()).await;
    assert_eq!(pay(&pair.a, 3).await, Ok(1));
    let id = pair.a.handle.id();
    timeout(WAIT, pair.a.handle.concluded(Ending::default()))
        .await
        .unwrap()
        .unwrap();
    let Side {
        handle,
        task,
        store,
        ..
    } = pair.a;
    // Archived in the commit that closed it: out of the active set, nothing left to run.
    timeout(WAIT, task).await.unwrap().unwrap();
    assert_eq!(handle.snapshot().await, Err(CommandError::Stopped));
    assert!(store.restore_all().unwrap().channels.is_empty());
    let archived = store.archived(&id).unwrap().expect("archived");
    assert_eq!(archived.snapshot.phase, Phase::Closed);
    assert_eq!(archived.snapshot.latest.state.version, 1);
    assert_eq!(archived.peer, Some(node_id(2)));
}

#[tokio::test]
async fn a_peer_that_answers_resync_with_a_fork_is_disputed_with_the_reason_reported() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    for _ in 0..3 {
        pay(&pair.a, 5).await.unwrap();
        pay(&pair.b, 1).await.unwrap();
    }
    let Pair { chain, a, b } = pair;
    let newest = a.view().await.snapshot.latest;
    let mut events = a.events.subscribe();
    // B comes back forking: its answer to A's re-synchronisation moves every coin to B,
    // signed by B, next to A's signature on the real state.
    let fork = ChannelMisbehaviour {
        fork_on_sync: true,
        ..ChannelMisbehaviour::default()
    };
    let mut a = a;
    let b = restart_misbehaving(b, &a, &chain, fork).await;
    a.handle.peer_connected().unwrap();
    b.handle.peer_connected().unwrap();
    let view = wait_for(&a, |v| v.snapshot.phase == Phase::Disputed).await;
    // Nothing of the fork was adopted; the sync is over, and the newest state is ours.
    assert_eq!(view.snapshot.latest, newest);
    assert!(!view.syncing);
    // The node hears why before it hears of the dispute, and the API's subscribers too.
    let id = a.handle.id();
    let reason = loop {
        match timeout(WAIT, a.reports.recv()).await.unwrap().unwrap() {
            // The phases of the opening.
            (channel, ChannelReport::Phase(Phase::Funding | Phase::Active)) => {
                assert_eq!(channel, id)
            }
            (channel, ChannelReport::PeerFault(reason)) => {
                assert_eq!(channel, id);
                break reason;
            }
            other => panic!("expected the fault before the dispute, got {other:?}"),
        }
    };
    assert!(
        reason.contains("a signature of ours that does not verify"),
        "{reason}"
    );
    assert!(reason.contains("disputing"), "{reason}");
    assert_eq!(
        timeout(WAIT, a.reports.recv()).await.unwrap().unwrap(),
        (id, ChannelReport::Phase(Phase::Disputed))
    );
    let mut published = None;
    while let Ok(event) = events.try_recv() {
        if let Event::PeerFault { channel, reason } = event {
            published = Some((channel, reason));
        }
    }
    assert_eq!(published, Some((id, reason)));
    // The dispute is durable: a restart resumes it.
    let stored = a.store.restore_channel(&id).unwrap().unwrap();
    assert_eq!(stored.phase, Phase::Disputed);
    // And no payment goes over the disputed channel.
    assert!(pay(&a, 1).await.is_err());
}

#[tokio::test]
async fn an_update_that_breaks_a_rule_is_refused_and_the_proposer_hears_why() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    pay(&pair.a, 5).await.unwrap();
    let Pair { chain, a, mut b } = pair;
    let newest = a.view().await.snapshot.latest;
    for (misbehaviour, rule) in [
        (
            ChannelMisbehaviour {
                update_locked: true,
                ..ChannelMisbehaviour::default()
            },
            TransitionError::TreeChange {
                child: crate::testing::tamper::testing_sub_channel(),
                reason: "this node holds no fully signed opening state of it".to_string(),
            },
        ),
        (
            ChannelMisbehaviour {
                update_app_data: true,
                ..ChannelMisbehaviour::default()
            },
            TransitionError::AppDataChanged,
        ),
    ] {
        // B pays from a node that tampers with its proposals and signs what it tampered with,
        // so only the rule can refuse them.
        b = restart_misbehaving(b, &a, &chain, misbehaviour).await;
        a.handle.peer_connected().unwrap();
        b.handle.peer_connected().unwrap();
        let error = pay(&b, 1).await.unwrap_err();
        assert_eq!(
            error,
            CommandError::Rejected(RejectReason::Invalid(rule.to_string()))
        );
        assert_eq!(a.view().await.snapshot.latest, newest, "A signed nothing");
        assert_eq!(b.view().await.snapshot.latest, newest);
        // B's proposal is withdrawn: at most kept in the pending slot, its version spent.
        let kept = b.view().await.snapshot.pending;
        assert!(kept.is_none_or(|p| p.state.version > newest.state.version));
    }
}

#[tokio::test]
async fn a_peer_message_holds_its_place_in_the_peers_budget_until_the_task_handled_it() {
    use crate::client::peers::{Inbound, Intake, PeerLimits};
    use parley_plugin_api::model::TransportEvent;
    let pair = funding_pair([10, 10], default_policy(), default_policy()).await;
    // A's update reaches B while B still waits to see the funding: B keeps it for later, and
    // it must keep its place in A's budget as long as B does.
    pair.a.out.hold();
    pair.a.handle.funded().await.unwrap();
    let handle = pair.a.handle.clone();
    let payment = tokio::spawn(async move { handle.pay(0, Amount::from(3)).await });
    let update = timeout(WAIT, async {
        loop {
            if let Some(message) = pair
                .a
                .out
                .0
                .lock()
                .unwrap()
                .held
                .as_mut()
                .and_then(Vec::pop)
            {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("A sends its update");
    assert!(matches!(update, ChannelMessage::UpdateProposal(_)));

    let (intake, mut inbound) = Intake::new(PeerLimits::default());
    intake.admit(TransportEvent::Connected {
        connection: 1,
        remote: "test".into(),
        inbound: true,
    });
    intake.admit(TransportEvent::Frame {
        connection: 1,
        frame: Bytes(vec![0; 40]),
    });
    let ticket = std::iter::from_fn(|| inbound.try_recv().ok())
        .find_map(|event| match event {
            Inbound::Frame { ticket, .. } => Some(ticket),
            _ => None,
        })
        .expect("the frame was admitted");
    pair.b.handle.deliver_held(0, update, ticket).unwrap();
    assert_eq!(pair.b.view().await.snapshot.phase, Phase::Funding);
    assert_eq!(
        intake.in_flight(1),
        Some((1, 40)),
        "held while B keeps the update"
    );

    // B sees the funding and answers the update: only then is the place given back.
    pair.a.out.0.lock().unwrap().held = None;
    pair.b.handle.funded().await.unwrap();
    assert_eq!(timeout(WAIT, payment).await.unwrap().unwrap(), Ok(1));
    assert_eq!(intake.in_flight(1), Some((0, 0)));
}

/// Stores in `side`'s store an invoice of `amount` of the channel's asset under `id`, expiring
/// at `expires_at` (Unix seconds).
async fn issue_invoice(side: &Side, id: PaymentId, amount: u64, expires_at: u64) {
    let key = NodeKey::from_secret_bytes(&[7; 32]).unwrap();
    let invoice = crate::client::invoices::Invoice {
        id,
        payee: key.node_id(),
        asset: asset(0),
        amount: Amount::from(amount),
        expires_at,
        memo: String::new(),
    };
    let signed = crate::client::invoices::SignedInvoice::sign(invoice, &key);
    let op = crate::store::payments::invoice_op(&id, signed.encode());
    side.store.commit(vec![op]).await.unwrap();
}

/// A payment of `amount` of asset 0 under `id`, asked now.
fn payment_tag(id: PaymentId, amount: u64) -> PaymentTag {
    PaymentTag {
        id,
        asset: 0,
        amount: Amount::from(amount),
        memo: String::new(),
        asked_ms: unix_ms(),
    }
}

async fn pay_under(side: &Side, id: PaymentId, amount: u64) -> Result<u64, CommandError> {
    timeout(WAIT, side.handle.pay_tracked(payment_tag(id, amount)))
        .await
        .unwrap()
}

/// The peer's reason for declining a payment that was declined.
fn declined(outcome: Result<u64, CommandError>) -> String {
    match outcome {
        Err(CommandError::Rejected(RejectReason::Declined(reason))) => reason,
        other => panic!("expected a decline, got {other:?}"),
    }
}

#[tokio::test]
async fn the_payee_refuses_an_expired_invoice_or_one_paid_short() {
    let pair = active_pair([10, 10], default_policy(), default_policy()).await;
    let now = unix_ms() / 1000;
    let (expired, short, good) = (PaymentId([1; 16]), PaymentId([2; 16]), PaymentId([3; 16]));
    issue_invoice(&pair.b, expired, 2, now - 5).await;
    issue_invoice(&pair.b, short, 5, now + 600).await;
    issue_invoice(&pair.b, good, 2, now + 600).await;
    let reason = declined(pay_under(&pair.a, expired, 2).await);
    assert!(reason.contains("expired"), "{reason}");
    let reason = declined(pay_under(&pair.a, short, 2).await);
    assert!(reason.contains("asks for 5"), "{reason}");
    // Paid in full and in time: accepted, like any payment to it.
    // Versions 1 and 2 went to the declined payments.
    assert_eq!(pay_under(&pair.a, good, 2).await, Ok(3));
    assert_balances(&pair.b, [8, 12]).await;
}

#[tokio::test]
async fn an_idle_channel_costs_little_memory_beyond_its_state() {
    let pair = active_pair([10, 10], default_policy(), default_policy()).await;
    // The future holds the loop's own state only: the task lives in its own box and the
    // handling of an input in another, made while it runs (`ChannelTask::run`).
    assert!(pair.a.future_bytes <= 512, "{} bytes", pair.a.future_bytes);
    assert!(
        std::mem::size_of::<ChannelTask<TestLink>>() <= 4096,
        "{} bytes",
        std::mem::size_of::<ChannelTask<TestLink>>()
    );
}

/// Asks `side` for all `payments` (id, amount) at once, before its task handles the first;
/// their outcomes, in order.
async fn pay_all(
    side: &Side,
    payments: impl Iterator<Item = (PaymentId, u64)>,
) -> Vec<Result<u64, CommandError>> {
    let calls: Vec<_> = payments
        .map(|(id, amount)| {
            let handle = side.handle.clone();
            let tag = payment_tag(id, amount);
            tokio::spawn(async move { handle.pay_tracked(tag).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(timeout(WAIT, call).await.unwrap().unwrap());
    }
    outcomes
}

#[tokio::test]
async fn payments_queued_together_go_as_one_update_recorded_payment_by_payment() {
    let pair = active_pair([1_000, 1_000], default_policy(), default_policy()).await;
    let ids: Vec<PaymentId> = (1..=10u8).map(|n| PaymentId([n; 16])).collect();
    let paid = pay_all(&pair.a, ids.iter().copied().zip(1u64..)).await;
    let mut versions: Vec<u64> = paid
        .into_iter()
        .map(|v| v.expect("every payment made"))
        .collect();
    versions.dedup();
    assert!(
        versions.len() < ids.len(),
        "the payments that queued went together: {versions:?}"
    );
    assert_balances(&pair.b, [945, 1_055]).await;
    timeout(WAIT, pair.a.handle.flush()).await.unwrap().unwrap();
    for (id, amount) in ids.iter().zip(1u64..) {
        for (side, direction) in [(&pair.a, Direction::Sent), (&pair.b, Direction::Received)] {
            let record = side.store.payment(id).unwrap().expect("recorded");
            assert_eq!(
                (record.amount, record.direction, &record.status),
                (Amount::from(amount), direction, &PaymentStatus::Completed),
                "{id}"
            );
        }
    }
}

#[tokio::test]
async fn a_batch_with_an_invoice_the_payee_refuses_goes_again_one_by_one() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    let now = unix_ms() / 1000;
    let expired = PaymentId([9; 16]);
    issue_invoice(&pair.b, expired, 2, now - 5).await;
    // The first goes alone; the three behind it queue up and go together, and the payee's
    // refusal of the expired invoice sends them again one at a time.
    let ids = [
        PaymentId([1; 16]),
        PaymentId([2; 16]),
        expired,
        PaymentId([3; 16]),
    ];
    let paid = pay_all(&pair.a, ids.iter().map(|id| (*id, 2))).await;
    // Version 2 was the batch the payee refused (spent); 4 the invoice's own refused update.
    assert_eq!(
        (&paid[0], &paid[1], &paid[3]),
        (&Ok(1), &Ok(3), &Ok(5)),
        "{paid:?}"
    );
    let reason = declined(paid[2].clone());
    assert!(reason.contains("expired"), "{reason}");
    assert_balances(&pair.b, [94, 106]).await;
}

#[tokio::test]
async fn a_second_payment_under_an_id_on_its_way_is_refused() {
    let pair = active_pair([100, 100], default_policy(), default_policy()).await;
    let id = PaymentId([5; 16]);
    let paid = pay_all(
        &pair.a,
        [(PaymentId([4; 16]), 1), (id, 2), (id, 3)].into_iter(),
    )
    .await;
    assert!(paid[0].is_ok() && paid[1].is_ok(), "{paid:?}");
    assert_eq!(paid[2], Err(CommandError::PaymentUnderWay(id)));
    assert_balances(&pair.b, [97, 103]).await;
}
