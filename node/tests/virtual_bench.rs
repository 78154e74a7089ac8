//! The virtual channel run of `parley bench channels --scenario virtual`, small: three complete
//! nodes in one process, a and b each with a ledger channel with the intermediary i, virtual
//! channels a–b opened through i, payments on one of them. The run itself checks that both of
//! i's ledger channels lock every virtual channel and that both ends agree on the payments'
//! version; this test checks that it succeeds and measured what it was asked to (never how
//! fast).

mod common;
use common::lab_base;
use parley_node::lab::bench::{ChannelBench, Direction, Load};
use parley_node::lab::{InProcess, Workspace};

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
