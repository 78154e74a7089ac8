//! The demo: two nodes as separate processes on one simulated chain (a [`Processes`] lab) open
//! a channel, pay each other both ways, settle, and the chain's balances are checked against
//! the channel's. `parley demo` runs it and tells the story as it goes.
//!
//! - [`plan`]: what is paid and deposited, from the chain's first asset.
//! - [`story`]: the story, told through the nodes' JSON-RPC APIs.
//! - [`payments`]: the concurrent payment load and its latencies.
//! - [`summary`]: the balance check, and the figures and checks as one document.
//!
//! Whoever runs the demo hears of each step through an [`Observer`], with the figures it needs
//! to show it; this module prints nothing.

pub mod payments;
pub mod plan;
pub mod story;
pub mod summary;

pub use plan::Plan;
pub use summary::Summary;

use super::{AutoAccept, LabError, NodeSettings, Processes, StartedNode};
use parley_plugin_api::model::{Amount, ChannelId};
use std::time::Duration;

/// How long after a failed call a node's death still explains it: the call may fail a few
/// milliseconds before the exit can be seen.
const DEATH_PATIENCE: Duration = Duration::from_millis(500);

/// What the demo tells whoever runs it, as it happens.
pub trait Observer {
    /// The demo reached `step`.
    fn step(&mut self, step: Step<'_>);

    /// The payments start, `total` of them: the meter hears how many are done about ten times
    /// a second, and is dropped when they end, however they end.
    fn meter(&mut self, total: u64) -> Box<dyn Meter>;
}

/// Hears how far the payments are.
pub trait Meter {
    /// `done` payments are answered, `elapsed` after the first was made.
    fn update(&mut self, done: u64, elapsed: Duration);
}

/// A step of the demo, with what there is to show about it.
#[derive(Debug)]
pub enum Step<'a> {
    /// The nodes are about to start.
    Starting,
    /// A node answers on its API.
    Started(&'a StartedNode),
    /// The on-chain balances of the plan's asset before the channel is opened.
    BalancesBefore {
        /// The plan.
        plan: &'a Plan,
        /// Alice's.
        alice: Amount,
        /// Bob's.
        bob: Amount,
    },
    /// Alice proposes the channel of the plan.
    Opening(&'a Plan),
    /// Both nodes see the channel funded.
    Funded {
        /// The channel.
        channel: ChannelId,
        /// From the proposal until both saw it funded.
        took: Duration,
    },
    /// The payments of the plan start, both ways at once.
    Paying(&'a Plan),
    /// Every payment is made.
    Paid(&'a PaymentRun),
    /// Alice settles.
    Settling,
    /// The chain paid out both sides.
    Settled {
        /// The plan.
        plan: &'a Plan,
        /// The final state's version.
        version: u64,
        /// Alice's final channel balance.
        alice: Amount,
        /// Bob's.
        bob: Amount,
        /// From asking to settle until both were paid out.
        took: Duration,
    },
    /// The on-chain balances after settlement: (alice, bob) before and after.
    BalancesAfter {
        /// The plan.
        plan: &'a Plan,
        /// Before the channel.
        before: (Amount, Amount),
        /// After settlement.
        after: (Amount, Amount),
    },
    /// The balance check: every check that failed, one sentence each (none: it held).
    Checked(&'a [String]),
}

/// What the payments achieved.
#[derive(Debug, Clone)]
pub struct PaymentRun {
    /// Each direction, alice's first.
    pub directions: Vec<DirectionRun>,
    /// All payments, both ways.
    pub updates: u64,
    /// Until the slower direction's last payment was answered.
    pub elapsed: Duration,
    /// Median latency of one payment (API call to both signatures).
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// What one direction of payments achieved.
#[derive(Debug, Clone)]
pub struct DirectionRun {
    /// `alice -> bob`.
    pub label: String,
    /// Each payment, in base units.
    pub amount: Amount,
    /// How many.
    pub count: u64,
    /// Time, latencies and retries.
    pub outcome: payments::Outcome,
}

/// Starts alice and bob in `lab`, and runs the demo with `payments` per direction and
/// `in_flight` calls outstanding per direction; stops with an error as soon as a node dies.
pub async fn run(
    lab: &mut Processes,
    payments: u64,
    in_flight: usize,
    observer: &mut dyn Observer,
) -> Result<Summary, LabError> {
    observer.step(Step::Starting);
    let alice = lab.start("alice", &NodeSettings::default()).await?;
    observer.step(Step::Started(&alice));
    let plan = Plan::new(&alice.info, payments, in_flight)?;
    // Bob starts second: his policy names alice's node id and covers exactly his deposit
    // (both known once she answers), so he accepts her proposal without anyone asking him.
    let bob_settings = NodeSettings {
        auto_accept: Some(AutoAccept {
            from: alice.info.node_id.to_string(),
            max_deposit: plan.bob_deposit,
        }),
        ..NodeSettings::default()
    };
    let bob = lab.start("bob", &bob_settings).await?;
    observer.step(Step::Started(&bob));
    let result = tokio::select! {
        summary = story::tell(&alice, &bob, &plan, observer) => summary,
        died = lab.watch() => return Err(died),
    };
    match result {
        // A failed call is often the first sign of a node's death: say so if it is.
        Err(error) => match lab.death_within(DEATH_PATIENCE).await {
            Some(death) => Err(LabError::failed(format!(
                "{death}\n(the demo was at: {error})"
            ))),
            None => Err(error),
        },
        ok => ok,
    }
}
