//! The virtual channel run of `parley bench channels --scenario virtual`, small: three complete
//! nodes in one process, a and b each with a ledger channel with the intermediary i, virtual
//! channels a–b opened through i, payments on one of them. The run itself checks that both of
//! i's ledger channels lock every virtual channel and that both ends agree on the payments'
//! version; this test checks that it succeeds and measured what it was asked to (never how
//! fast).

mod common;
use common::{lab_base, open_request, wait_active};
use parley_node::api::NodeApi;
use parley_node::lab::bench::{ChannelBench, Direction, Load};
use parley_node::lab::{AutoAccept, InProcess, NodeSettings, Workspace};
use parley_plugin_api::model::Amount;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_channels_open_through_the_intermediary_and_carry_payments() {
    let workspace = Workspace::create("parley-virtual-bench-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    let bench = ChannelBench::start(&mut lab, false, true).await.unwrap();
    let load = Load {
        warmup: 4,
        direction: Direction::Alternate,
    };
    let mut ledgers = 0;
    let figures = bench
        .virtual_channels(load, 3, 20, |opened| ledgers = opened.count)
        .await
        .unwrap();
    assert_eq!(ledgers, 2, "two ledger channels, a-i and i-b");
    assert_eq!(figures.opens.latencies.as_ref().unwrap().count, 3);
    assert_eq!(figures.payments.latencies.as_ref().unwrap().count, 20);
    drop(bench);
    lab.shutdown().await;
}

/// Opens a ledger channel from `from` to its peer `to` (by alias) and waits until `peer_api`
/// sees it active.
async fn ledger(
    from: &Arc<dyn NodeApi>,
    to: &str,
    peer_api: &Arc<dyn NodeApi>,
) -> parley_node::api::types::ChannelInfo {
    let channel = from
        .channel_open(open_request(to.to_string(), 1_000_000, 1_000_000, None))
        .await
        .unwrap();
    wait_active(peer_api, channel.id).await;
    channel
}

/// Virtual channels opened at the same time both ways through one intermediary: each end's
/// lock waits in the intermediary's channel with it for its twin in the other, and a lock that
/// would wait for a channel busy with a lock waiting for it is declined and proposed again, so
/// every one of them opens (none is stuck until its deadline) and both of the intermediary's
/// channels lock them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_channels_opened_both_ways_at_once_all_open() {
    let workspace = Workspace::create("parley-virtual-both-ways-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    // The intermediary holds a lock for an hour: one stuck in a circle of its channels could
    // only end at that deadline, after the ends' funding gave up (120 s) and failed the open.
    let settings = NodeSettings {
        auto_accept: Some(AutoAccept::anyone(Amount::from(10_000_000u64))),
        durable: Some(false),
        more_policy: vec![("funding_timeout_seconds", toml::Value::Integer(120))],
        ..NodeSettings::default()
    };
    let a = lab.start("a", &settings).await.unwrap();
    let b = lab.start("b", &settings).await.unwrap();
    let hub = NodeSettings {
        serve_hub: true,
        hub_hold_seconds: Some(3600),
        ..settings.clone()
    };
    let i = lab.start("i", &hub).await.unwrap();
    for (from, to) in [("a", "i"), ("i", "a"), ("b", "i"), ("i", "b")] {
        lab.introduce(from, to).await.unwrap();
    }
    let left = ledger(&a, "i", &i).await;
    let right = ledger(&i, "b", &b).await;
    let a_id = a.node_info().await.unwrap().node_id.to_string();
    let b_id = b.node_info().await.unwrap().node_id.to_string();
    let started = Instant::now();
    let mut opens = Vec::new();
    for n in 0..8 {
        let (api, peer, via) = if n % 2 == 0 {
            (a.clone(), b_id.clone(), left.id)
        } else {
            (b.clone(), a_id.clone(), right.id)
        };
        opens.push(tokio::spawn(async move {
            api.channel_open(open_request(peer, 1_000, 1_000, Some(via)))
                .await
        }));
    }
    for open in opens {
        open.await.unwrap().expect("every virtual channel opens");
    }
    for ledger in [left.id, right.id] {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let locks = i.channel_get(ledger).await.unwrap().sub_channels.len();
            if locks == 8 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ledger channel {ledger} locks {locks} of 8"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    println!(
        "8 virtual channels opened both ways in {:?}",
        started.elapsed()
    );
    lab.shutdown().await;
}
