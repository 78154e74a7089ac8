//! The run of `parley bench channels --scenario callers`, small: several callers pay at once on
//! one channel between two complete nodes in one process. The run itself checks that both
//! nodes agree on the channel's version and balances after every payment; this test checks
//! that it succeeds and measured every payment (never how fast).

mod common;
use common::lab_base;
use parley_node::lab::bench::{ChannelBench, Direction, Load};
use parley_node::lab::{InProcess, Workspace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_of_several_callers_on_one_channel_all_land() {
    let workspace = Workspace::create("parley-callers-bench-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    let bench = ChannelBench::start(&mut lab, false, false).await.unwrap();
    let load = Load {
        warmup: 3,
        direction: Direction::OneWay,
    };
    let mut opened = 0;
    let (measured, updates) = bench
        .callers(load, 5, 8, |o| opened = o.count)
        .await
        .unwrap();
    assert_eq!(opened, 1);
    assert_eq!(measured.latencies.as_ref().unwrap().count, 40);
    // Payments that queued up went together: never more updates than payments, at least one.
    assert!((1..=40).contains(&updates), "{updates} updates");
    drop(bench);
    lab.shutdown().await;
}
