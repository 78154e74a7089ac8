//! A hub: one node serving virtual channels ([hub] serve) with a ledger channel with each of
//! 20 users, who open 50 virtual channels between them at the same time, each through the hub,
//! in both directions over the same ledger channels, then pay once on each. Every one opens
//! (none waits in a circle of the hub's channels until its funding times out), each payee sees
//! its payment, and each of the hub's ledger channels locks exactly the virtual channels of its
//! user. Twenty-one complete nodes (QUIC, LMDB, the sim chain), all in this process.

mod common;
use common::{lab_base, open_request as request, wait_active};
use parley_node::api::types::{ChannelInfo, ChannelPayRequest};
use parley_node::lab::{AutoAccept, InProcess, NodeSettings, Workspace};
use parley_plugin_api::model::Amount;
use std::time::{Duration, Instant};

const USERS: usize = 20;
const VIRTUAL_CHANNELS: usize = 50;

/// The two users of virtual channel `n`: the proposer, then the accepter (never the same).
fn pair(n: usize) -> (usize, usize) {
    let from = n % USERS;
    let to = (n * 7 + 3) % USERS;
    (from, if to == from { (to + 1) % USERS } else { to })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_serves_fifty_virtual_channels_between_twenty_users_at_once() {
    let workspace = Workspace::create("parley-hub-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    // The hub holds a lock for an hour: one stuck in a circle of its channels could only end
    // at that deadline, after the user's funding gave up (120 s) and failed the open.
    let user = NodeSettings {
        auto_accept: Some(AutoAccept::anyone(Amount::from(10_000_000u64))),
        durable: Some(false),
        more_policy: vec![("funding_timeout_seconds", toml::Value::Integer(120))],
        ..NodeSettings::default()
    };
    let hub = lab
        .start(
            "hub",
            &NodeSettings {
                serve_hub: true,
                hub_hold_seconds: Some(3600),
                ..user.clone()
            },
        )
        .await
        .unwrap();
    let mut users = Vec::new();
    for n in 0..USERS {
        let name = format!("user{n}");
        users.push(lab.start(&name, &user).await.unwrap());
        lab.introduce(&name, "hub").await.unwrap();
        lab.introduce("hub", &name).await.unwrap();
    }
    let mut ledgers: Vec<ChannelInfo> = Vec::new();
    for api in &users {
        let ledger = api
            .channel_open(request("hub".into(), 1_000_000, 1_000_000, None))
            .await
            .unwrap();
        wait_active(&hub, ledger.id).await;
        ledgers.push(ledger);
    }
    let mut ids = Vec::new();
    for api in &users {
        ids.push(api.node_info().await.unwrap().node_id.to_string());
    }
    let mut opens = Vec::new();
    for n in 0..VIRTUAL_CHANNELS {
        let (from, to) = pair(n);
        let api = users[from].clone();
        let open = request(ids[to].clone(), 1_000, 500, Some(ledgers[from].id));
        opens.push(tokio::spawn(async move { api.channel_open(open).await }));
    }
    let mut virtual_channels = Vec::new();
    for (n, open) in opens.into_iter().enumerate() {
        let opened = open.await.unwrap();
        let opened = opened.unwrap_or_else(|e| panic!("virtual channel {n} did not open: {e}"));
        virtual_channels.push(opened.id);
    }
    for (n, id) in virtual_channels.iter().enumerate() {
        let (from, to) = pair(n);
        wait_active(&users[to], *id).await;
        users[from]
            .channel_pay(ChannelPayRequest {
                id: *id,
                amount: Amount::from(7u64),
                asset: None,
                payment: None,
            })
            .await
            .unwrap_or_else(|e| panic!("payment in virtual channel {n} failed: {e}"));
        let seen = users[to].channel_get(*id).await.unwrap();
        assert_eq!(seen.balances[0].mine, Amount::from(507u64), "payee of {n}");
    }
    for (user, ledger) in ledgers.iter().enumerate() {
        let expected = (0..VIRTUAL_CHANNELS)
            .filter(|n| {
                let (from, to) = pair(*n);
                from == user || to == user
            })
            .count();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let locks = hub.channel_get(ledger.id).await.unwrap().sub_channels.len();
            if locks == expected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the hub's channel with user {user} locks {locks}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    lab.shutdown().await;
}
