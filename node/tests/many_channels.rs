//! A node with more channels to one peer than that peer takes frames at once: after a restart
//! every channel re-synchronises with the peer, and a burst of one request and one answer per
//! channel would go over the peer's `[limits] frames_in_flight`, which disconnects us as a
//! flood, again on every reconnect. The channels re-synchronise in waves instead
//! (`proposals::resync_in_waves`): all of them come back, and payments go through on the
//! first and the last.

mod common;
use common::{lab_base, open_request};
use parley_node::api::types::ChannelPayRequest;
use parley_node::api::NodeApi;
use parley_node::lab::{AutoAccept, InProcess, NodeSettings, Workspace};
use parley_plugin_api::model::{Amount, ChannelId};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// More channels than `FRAMES_IN_FLIGHT`, fewer than twice the re-synchronisation wave.
const CHANNELS: usize = 1_300;
/// The limit both nodes set: below what all channels re-synchronising at once would send.
const FRAMES_IN_FLIGHT: i64 = 1_200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_channels_to_one_peer_all_resynchronise_after_a_restart() {
    let workspace = Workspace::create("parley-many-channels-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    let settings = NodeSettings {
        auto_accept: Some(AutoAccept::anyone(Amount::from(1_000u64))),
        limits: vec![("frames_in_flight", toml::Value::Integer(FRAMES_IN_FLIGHT))],
        ..NodeSettings::default()
    };
    lab.start("a", &settings).await.unwrap();
    lab.start("b", &settings).await.unwrap();
    lab.introduce("a", "b").await.unwrap();
    lab.introduce("b", "a").await.unwrap();
    let a = lab.api("a");
    let mut ids = Vec::with_capacity(CHANNELS);
    while ids.len() < CHANNELS {
        let opens: Vec<_> = (0..100.min(CHANNELS - ids.len()))
            .map(|_| {
                let a = a.clone();
                tokio::spawn(
                    async move { a.channel_open(open_request("b".into(), 10, 10, None)).await },
                )
            })
            .collect();
        for open in opens {
            ids.push(open.await.unwrap().unwrap().id);
        }
    }
    lab.stop("a").await;
    let a = lab.restart("a").await.unwrap();
    let b = lab.api("b");
    // Every channel comes back: a payment goes through on each (a payment that meets its
    // channel still re-synchronising is tried again; a flood's disconnects never end).
    let deadline = Instant::now() + Duration::from_secs(120);
    for id in &ids {
        while let Err(error) = pay(&a, *id).await {
            assert!(
                Instant::now() < deadline,
                "channel {id} takes no payment after the restart: {error}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // A's restart spent version 1 (a proposal may leave before its record is durable): A's
    // payment took 2, B's takes 3.
    for id in [ids[0], ids[CHANNELS - 1]] {
        pay(&b, id).await.unwrap();
        assert_eq!(a.channel_get(id).await.unwrap().version, 3);
        assert_eq!(b.channel_get(id).await.unwrap().version, 3);
    }
    lab.shutdown().await;
}

async fn pay(api: &Arc<dyn NodeApi>, id: ChannelId) -> Result<(), String> {
    api.channel_pay(ChannelPayRequest {
        id,
        amount: Amount::from(1u64),
        asset: None,
        payment: None,
    })
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}
