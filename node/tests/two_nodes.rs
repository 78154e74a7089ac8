//! Two complete nodes in one process (real QUIC on loopback, LMDB stores, one shared sim-chain
//! ledger: a `parley_node::lab::InProcess` lab) driven through the API methods: the channel life
//! cycle and the refusals the issue names. The multi-process version of these checks is in
//! `tests/scenarios/`.

mod common;
use common::{lab_base, plugin};
use parley_node::api::types::{
    BalanceRequest, ChannelInfo, ChannelListRequest, ChannelOpenRequest, ChannelPayRequest,
    ChannelSettleRequest, ProposalRejectRequest,
};
use parley_node::api::{ApiError, ErrorCategory, NodeApi};
use parley_node::config::NodeConfig;
use parley_node::lab::{AutoAccept, InProcess, NodeSettings, Workspace};
use parley_node::protocol::Phase;
use parley_plugin_api::model::{Amount, ChannelId, WriteOp};
use parley_plugin_api::{PluginKind, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Alice knows Bob as `bob`; Bob accepts Alice's proposals up to 10,000 units if
/// `bob_auto_accepts`, else they wait for his answer.
async fn start(bob_auto_accepts: bool) -> InProcess {
    let workspace = Workspace::create("parley-two-nodes-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    let asks_within_10_s = NodeSettings {
        proposal_timeout_seconds: Some(10),
        ..NodeSettings::default()
    };
    lab.start("alice", &asks_within_10_s).await.unwrap();
    let bob = if bob_auto_accepts {
        NodeSettings {
            auto_accept: Some(AutoAccept::anyone(Amount::from(10_000u64))),
            ..NodeSettings::default()
        }
    } else {
        asks_within_10_s
    };
    lab.start("bob", &bob).await.unwrap();
    lab.introduce("alice", "bob").await.unwrap();
    lab
}

fn open_request(mine: u64, theirs: u64) -> ChannelOpenRequest {
    ChannelOpenRequest {
        challenge_seconds: Some(60),
        ..ChannelOpenRequest::payment("bob", Amount::from(mine), Amount::from(theirs))
    }
}

fn pay(id: ChannelId, amount: u64) -> ChannelPayRequest {
    ChannelPayRequest {
        id,
        amount: Amount::from(amount),
        asset: None,
        payment: None,
    }
}

async fn eth(node: &Arc<dyn NodeApi>) -> Amount {
    node.balance(BalanceRequest {
        asset: Some("ETH".into()),
    })
    .await
    .unwrap()[0]
        .amount
}

/// `start - deposit + payout`, in base units.
fn after(start: Amount, deposit: u64, payout: u64) -> Amount {
    start
        .checked_sub(Amount::from(deposit))
        .and_then(|a| a.checked_add(Amount::from(payout)))
        .expect("in range")
}

fn balances(info: &ChannelInfo) -> (Amount, Amount) {
    (info.balances[0].mine, info.balances[0].theirs)
}

fn category(error: ApiError) -> ErrorCategory {
    error.category
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_pay_both_ways_and_settle_pays_out_the_final_balances_exactly() {
    let mut lab = start(true).await;
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let (a_before, b_before) = (eth(&a).await, eth(&b).await);

    let opened = a.channel_open(open_request(1000, 500)).await.unwrap();
    assert_eq!(opened.phase, Some(Phase::Active));
    assert_eq!(balances(&opened), (Amount::from(1000), Amount::from(500)));
    let id = opened.id;
    // Bob may not have seen the funding on chain yet (he polls); a payment sent now waits at
    // his end until he has.
    let seen_by_bob = b.channel_get(id).await.unwrap();
    assert!(
        matches!(seen_by_bob.phase, Some(Phase::Funding | Phase::Active)),
        "{seen_by_bob:?}"
    );
    assert_eq!(
        balances(&seen_by_bob),
        (Amount::from(500), Amount::from(1000))
    );
    assert_eq!(eth(&a).await, after(a_before, 1000, 0));

    for _ in 0..25 {
        a.channel_pay(pay(id, 7)).await.unwrap();
        b.channel_pay(pay(id, 2)).await.unwrap();
    }
    let info = a.channel_get(id).await.unwrap();
    assert_eq!(info.version, 50);
    assert_eq!(b.channel_get(id).await.unwrap().phase, Some(Phase::Active));
    assert_eq!(balances(&info), (Amount::from(875), Amount::from(625)));

    // An overdraft is refused and changes nothing, on either side.
    let error = a.channel_pay(pay(id, 876)).await.unwrap_err();
    assert_eq!(error.category, ErrorCategory::InsufficientFunds, "{error}");
    assert_eq!(a.channel_get(id).await.unwrap(), info);
    assert_eq!(b.channel_get(id).await.unwrap().version, 50);

    let settled = a
        .channel_settle(ChannelSettleRequest { id, force: false })
        .await
        .unwrap();
    assert_eq!(settled.phase, Some(Phase::Closed));
    assert_eq!(balances(&settled), (Amount::from(875), Amount::from(625)));
    // Bob's side concludes and withdraws on its own once the final state is signed.
    for _ in 0..200 {
        if b.channel_get(id).await.unwrap().phase == Some(Phase::Closed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(b.channel_get(id).await.unwrap().phase, Some(Phase::Closed));
    assert_eq!(eth(&a).await, after(a_before, 1000, 875));
    assert_eq!(eth(&b).await, after(b_before, 500, 625));

    // A restarted node restores the channel and knows its peer.
    lab.stop("alice").await;
    let alice = lab.restart("alice").await.unwrap();
    let restored = alice.channel_get(id).await.unwrap();
    assert_eq!(restored.phase, Some(Phase::Closed));
    // Closed channels are archived: not restored into the active set, still listed as closed.
    let open = alice
        .channel_list(ChannelListRequest::default())
        .await
        .unwrap();
    assert!(open.is_empty(), "a closed channel was restored: {open:?}");
    let closed = alice
        .channel_list(ChannelListRequest { closed: true })
        .await
        .unwrap();
    assert_eq!(closed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(restored.peer_alias.as_deref(), Some("bob"));
    assert_eq!(balances(&restored), (Amount::from(875), Amount::from(625)));
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_clear_and_change_nothing() {
    let mut lab = start(false).await;
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let before = (eth(&a).await, eth(&b).await);

    // Unknown peer, unknown channel, unknown asset, nothing to deposit.
    let mut unknown_peer = open_request(10, 10);
    unknown_peer.peer = "carol".into();
    assert_eq!(
        category(a.channel_open(unknown_peer).await.unwrap_err()),
        ErrorCategory::NotFound
    );
    assert_eq!(
        category(a.channel_get(ChannelId([9; 32])).await.unwrap_err()),
        ErrorCategory::NotFound
    );
    assert_eq!(
        category(a.channel_pay(pay(ChannelId([9; 32]), 1)).await.unwrap_err()),
        ErrorCategory::NotFound
    );
    let mut unknown_asset = open_request(10, 10);
    unknown_asset.asset = Some("DOGE".into());
    assert_eq!(
        category(a.channel_open(unknown_asset).await.unwrap_err()),
        ErrorCategory::InvalidArgument
    );
    // More than the account holds.
    let too_much = open_request(0, 0);
    assert_eq!(
        category(a.channel_open(too_much).await.unwrap_err()),
        ErrorCategory::InvalidArgument
    );
    let mut rich = open_request(1, 0);
    rich.mine = Amount::from_u128(u128::MAX);
    assert_eq!(
        category(a.channel_open(rich).await.unwrap_err()),
        ErrorCategory::InsufficientFunds
    );

    // A proposal Bob rejects.
    let a2 = a.clone();
    let opening = tokio::spawn(async move { a2.channel_open(open_request(100, 100)).await });
    let mut waiting = Vec::new();
    for _ in 0..200 {
        waiting = b.proposal_list().await.unwrap();
        if !waiting.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].balances[0].mine, Amount::from(100));
    b.proposal_reject(ProposalRejectRequest {
        id: waiting[0].id,
        reason: Some("not today".into()),
    })
    .await
    .unwrap();
    let error = opening.await.unwrap().unwrap_err();
    assert_eq!(error.category, ErrorCategory::RejectedByPeer);
    assert!(error.message.contains("not today"), "{error}");
    assert!(b.proposal_list().await.unwrap().is_empty());
    assert!(a
        .channel_list(ChannelListRequest::default())
        .await
        .unwrap()
        .is_empty());
    assert!(b
        .channel_list(ChannelListRequest::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!((eth(&a).await, eth(&b).await), before);

    lab.shutdown().await;
}

async fn balance_of(node: &Arc<dyn NodeApi>, asset: &str) -> Amount {
    node.balance(BalanceRequest {
        asset: Some(asset.into()),
    })
    .await
    .unwrap()[0]
        .amount
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_with_two_assets_pays_and_settles_each_exactly() {
    let mut lab = start(true).await;
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let a_before = (balance_of(&a, "ETH").await, balance_of(&a, "TOK").await);
    let b_before = (balance_of(&b, "ETH").await, balance_of(&b, "TOK").await);
    let mut request = open_request(300, 100);
    request.asset = Some("ETH".into());
    request.more_assets = vec![parley_node::api::types::AssetDeposit {
        asset: "TOK".into(),
        mine: Amount::from(50),
        theirs: Amount::from(700),
    }];
    let opened = a.channel_open(request).await.unwrap();
    let names: Vec<_> = opened.balances.iter().map(|b| b.asset.as_str()).collect();
    assert_eq!(names, ["ETH", "TOK"]);
    let id = opened.id;

    let in_asset = |asset: &str, amount: u64| ChannelPayRequest {
        id,
        amount: Amount::from(amount),
        asset: Some(asset.into()),
        payment: None,
    };
    a.channel_pay(in_asset("ETH", 30)).await.unwrap();
    b.channel_pay(in_asset("TOK", 200)).await.unwrap();
    // Without naming the asset, a payment in a two-asset channel is ambiguous.
    let error = a.channel_pay(pay(id, 1)).await.unwrap_err();
    assert_eq!(error.category, ErrorCategory::InvalidArgument);
    let info = a.channel_get(id).await.unwrap();
    assert_eq!(info.version, 2);
    assert_eq!(
        (info.balances[0].mine, info.balances[1].mine),
        (Amount::from(270), Amount::from(250))
    );

    a.channel_settle(ChannelSettleRequest { id, force: false })
        .await
        .unwrap();
    for _ in 0..200 {
        if b.channel_get(id).await.unwrap().phase == Some(Phase::Closed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(balance_of(&a, "ETH").await, after(a_before.0, 300, 270));
    assert_eq!(balance_of(&a, "TOK").await, after(a_before.1, 50, 250));
    assert_eq!(balance_of(&b, "ETH").await, after(b_before.0, 100, 130));
    assert_eq!(balance_of(&b, "TOK").await, after(b_before.1, 700, 500));
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_resumes_its_active_channel_and_pays_on() {
    let mut lab = start(true).await;
    let id = lab
        .api("alice")
        .channel_open(open_request(100, 100))
        .await
        .unwrap()
        .id;
    lab.api("alice").channel_pay(pay(id, 10)).await.unwrap();
    lab.stop("alice").await;

    // Alice comes back: the channel is restored from her store, she redials Bob (known from
    // her stored peer book), both re-synchronise, and payments go on in both directions.
    let a = lab.restart("alice").await.unwrap();
    let b = lab.api("bob");
    let restored = a.channel_get(id).await.unwrap();
    assert_eq!(restored.phase, Some(Phase::Active));
    assert_eq!(restored.version, 1);
    assert_eq!(balances(&restored), (Amount::from(90), Amount::from(110)));
    let mut paid = None;
    for _ in 0..200 {
        match a.channel_pay(pay(id, 5)).await {
            Ok(info) => {
                paid = Some(info);
                break;
            }
            // Until the peer is back and re-synchronised, the payment is refused.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let paid = paid.expect("the payment went through after the restart");
    // The restart spent version 2 (a proposal may leave before its record is durable).
    assert_eq!(paid.version, 3);
    b.channel_pay(pay(id, 1)).await.unwrap();
    let seen_by_bob = b.channel_get(id).await.unwrap();
    assert_eq!(seen_by_bob.version, 4);
    assert_eq!(
        balances(&seen_by_bob),
        (Amount::from(114), Amount::from(86))
    );
    lab.shutdown().await;
}

/// Moves the shared ledger's chain time forward, as `parley chain advance` does.
fn advance_chain_time(config: &NodeConfig, seconds: u64) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["chain", "advance", &seconds.to_string(), "--config"])
        .arg(&config.file)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "parley chain advance failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settle_the_vanished_peer_cannot_answer_falls_back_to_a_dispute_that_pays_exactly() {
    let mut lab = start(true).await;
    let a = lab.api("alice");
    let a_before = eth(&a).await;
    let id = a.channel_open(open_request(1000, 500)).await.unwrap().id;
    a.channel_pay(pay(id, 100)).await.unwrap();
    lab.api("bob").channel_pay(pay(id, 30)).await.unwrap();
    lab.stop("bob").await;

    // Bob cannot answer the final update: the cooperative settle turns into a dispute.
    let settle = tokio::spawn({
        let a = a.clone();
        async move {
            a.channel_settle(ChannelSettleRequest { id, force: false })
                .await
        }
    });
    let mut registered = None;
    for _ in 0..600 {
        let info = a.channel_get(id).await.unwrap();
        if let Some(dispute) = info.dispute.filter(|d| d.phase == "dispute") {
            registered = Some((info.phase, dispute.version, info.status));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (phase, version, status) = registered.expect("alice registered a state on chain");
    assert_eq!(phase, Some(Phase::Disputed));
    assert_eq!(version, 2, "the newest fully signed state is registered");
    let status = status.unwrap_or_default();
    assert!(status.contains("settling unilaterally"), "{status}");
    assert!(
        !settle.is_finished(),
        "the settle waits for the challenge duration"
    );

    advance_chain_time(lab.config("alice"), 61);
    let settled = tokio::time::timeout(Duration::from_secs(60), settle)
        .await
        .expect("the settle ends once the challenge duration passed")
        .unwrap()
        .unwrap();
    assert_eq!(settled.phase, Some(Phase::Closed));
    assert_eq!(
        settled.dispute.map(|d| d.phase).as_deref(),
        Some("concluded")
    );
    assert_eq!(eth(&a).await, after(a_before, 1000, 930));
    lab.shutdown().await;
}

/// Alice's LMDB store, opened directly while her node is down (build the plugin first).
fn alice_store(config: &NodeConfig) -> (parley_node::host::PluginLibrary, Arc<dyn Store>) {
    use parley_node::host::{instantiate, node_host_context, PluginHandle, PluginLibrary};
    let library = PluginLibrary::open(Path::new(&plugin("libparley_lmdb.so")), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let data = &config.node.data_dir;
    let dir = config
        .file
        .parent()
        .expect("the config is in the node's directory");
    let (sender, _events) = tokio::sync::mpsc::unbounded_channel();
    let context = node_host_context("store", data, dir, sender);
    match instantiate(
        &library,
        "store",
        PluginKind::Store,
        "map_size_mib = 64",
        context,
    ) {
        Ok(PluginHandle::Store(store)) => (library, store),
        Ok(_) => panic!("libparley_lmdb.so is not a store"),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_lost_its_peer_link_stays_watched_and_settles_and_a_damaged_one_is_listed() {
    let mut lab = start(true).await;
    let a_before = eth(&lab.api("alice")).await;
    let id = lab
        .api("alice")
        .channel_open(open_request(1000, 500))
        .await
        .unwrap()
        .id;
    lab.api("alice").channel_pay(pay(id, 100)).await.unwrap();
    lab.stop("alice").await;

    // The channel's members record is lost, and another channel's record is garbage.
    let damaged = ChannelId([0xd4; 32]);
    {
        let (_library, store) = alice_store(lab.config("alice"));
        let members = [&b"memb/"[..], &id.0[..]].concat();
        let mut broken = [&b"ch/"[..], &damaged.0[..], &b"/"[..]].concat();
        broken.push(1);
        store
            .commit(&[
                WriteOp::delete(members),
                WriteOp::put(broken, vec![0xff; 7]),
            ])
            .unwrap();
    }

    let a = lab.restart("alice").await.unwrap();
    let listed = a.channel_list(ChannelListRequest::default()).await.unwrap();
    let peerless = listed
        .iter()
        .find(|c| c.id == id)
        .expect("the channel without its peer link is listed");
    assert_eq!(peerless.peer, None);
    assert_eq!(peerless.phase, Some(Phase::Active));
    assert_eq!(peerless.version, 1);
    let status = peerless.status.clone().unwrap_or_default();
    assert!(
        status.contains("no record of the channel's peer"),
        "{status}"
    );
    let broken = listed
        .iter()
        .find(|c| c.id == damaged)
        .expect("the damaged channel is listed");
    assert_eq!(broken.phase, None);
    assert!(
        broken.status.as_deref().unwrap_or("").contains("DAMAGED"),
        "{broken:?}"
    );
    // It cannot be used, but it can be settled on chain, and pays out exactly.
    let refused = a.channel_pay(pay(id, 1)).await.unwrap_err();
    assert_eq!(refused.category, ErrorCategory::Conflict, "{refused}");
    let settle = tokio::spawn({
        let a = a.clone();
        async move {
            a.channel_settle(ChannelSettleRequest { id, force: true })
                .await
        }
    });
    for _ in 0..600 {
        let info = a.channel_get(id).await.unwrap();
        if info.dispute.is_some_and(|d| d.phase == "dispute") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    advance_chain_time(lab.config("alice"), 61);
    let settled = tokio::time::timeout(Duration::from_secs(60), settle)
        .await
        .expect("the settle ends once the challenge duration passed")
        .unwrap()
        .unwrap();
    assert_eq!(settled.phase, Some(Phase::Closed));
    assert_eq!(eth(&a).await, after(a_before, 1000, 900));
    lab.shutdown().await;
}
