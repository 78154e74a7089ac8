//! The demo's story, told through the nodes' JSON-RPC APIs only, as a user's program would:
//! introduce bob to alice, open a channel, pay both ways, settle, and check that the chain paid
//! out exactly the final channel balances. Each step is told to the [`Observer`] as it happens.

use super::payments::{self, Direction};
use super::summary::{AccountCheck, DirectionFigures, Summary};
use super::{DirectionRun, Observer, PaymentRun, Plan, Step};
use crate::api::types::{
    AssetBalances, BalanceRequest, ChannelInfo, ChannelOpenRequest, ChannelRef, OnChainBalance,
    PeerAddRequest, PeerInfo,
};
use crate::lab::figures::{millis, per_second, percentile};
use crate::lab::{LabError, StartedNode};
use crate::protocol::Phase;
use parley_plugin_api::model::Amount;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long bob's side may take to follow a phase change alice has seen (the funding, the
/// settlement): it learns of it from the chain's events.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything after both nodes answer.
pub async fn tell(
    alice: &StartedNode,
    bob: &StartedNode,
    plan: &Plan,
    observer: &mut dyn Observer,
) -> Result<Summary, LabError> {
    let asset = plan.asset.as_str();
    let _: PeerInfo = call(
        alice,
        "peer_add",
        &PeerAddRequest {
            alias: bob.name.to_owned(),
            node_id: bob.info.node_id,
            transport_address: Some(bob.info.listen_address.clone()),
        },
    )
    .await?;

    let before = (on_chain(alice, asset).await?, on_chain(bob, asset).await?);
    observer.step(Step::BalancesBefore {
        plan,
        alice: before.0,
        bob: before.1,
    });

    observer.step(Step::Opening(plan));
    let started = Instant::now();
    let channel: ChannelInfo = call(
        alice,
        "channel_open",
        &ChannelOpenRequest {
            asset: Some(plan.asset.clone()),
            ..ChannelOpenRequest::payment(bob.name, plan.alice_deposit, plan.bob_deposit)
        },
    )
    .await?;
    // Alice's node returns once it saw the channel funded; bob's sees it from the chain's
    // events moments later, and until then refuses updates. Pay only once both see it.
    await_phase(bob, &channel, Phase::Active).await?;
    let open_time = started.elapsed();
    observer.step(Step::Funded {
        channel: channel.id,
        took: open_time,
    });

    observer.step(Step::Paying(plan));
    let directions = [
        Direction {
            label: "alice -> bob".into(),
            payer: alice.clone(),
            amount: plan.alice_pays,
            count: plan.payments,
        },
        Direction {
            label: "bob -> alice".into(),
            payer: bob.clone(),
            amount: plan.bob_pays,
            count: plan.payments,
        },
    ];
    let meter = observer.meter(directions.iter().map(|d| d.count).sum());
    let outcomes = payments::pay(channel.id, asset, &directions, plan.in_flight, meter).await?;
    let run = PaymentRun::of(&directions, outcomes);
    observer.step(Step::Paid(&run));

    observer.step(Step::Settling);
    let started = Instant::now();
    let settled: ChannelInfo =
        call(alice, "channel_settle", &ChannelRef { id: channel.id }).await?;
    let bob_view = await_phase(bob, &settled, Phase::Closed).await?;
    let settle_time = started.elapsed();
    let (alice_final, bob_final) = split(&settled, asset)?;
    observer.step(Step::Settled {
        plan,
        version: settled.version,
        alice: alice_final,
        bob: bob_final,
        took: settle_time,
    });

    let after = (on_chain(alice, asset).await?, on_chain(bob, asset).await?);
    observer.step(Step::BalancesAfter {
        plan,
        before,
        after,
    });

    let accounts = vec![
        AccountCheck {
            party: "alice",
            before: before.0,
            deposit: plan.alice_deposit,
            final_balance: alice_final,
            after: after.0,
        },
        AccountCheck {
            party: "bob",
            before: before.1,
            deposit: plan.bob_deposit,
            final_balance: bob_final,
            after: after.1,
        },
    ];
    let mut mismatches = channel_mismatches(plan, &settled, &bob_view, asset)?;
    mismatches.extend(accounts.iter().filter(|a| !a.holds()).map(|a| a.mismatch()));
    observer.step(Step::Checked(&mismatches));
    Ok(Summary {
        workspace: String::new(),
        kept: false,
        asset: plan.asset.clone(),
        decimals: plan.decimals,
        channel: channel.id.to_string(),
        open_seconds: open_time.as_secs_f64(),
        directions: run.figures(),
        total_updates_per_second: run.rate().round(),
        latency_p50_ms: millis(run.p50),
        latency_p99_ms: millis(run.p99),
        in_flight: plan.in_flight,
        final_version: settled.version,
        settle_seconds: settle_time.as_secs_f64(),
        accounts,
        balance_check_ok: mismatches.is_empty(),
        mismatches,
    })
}

impl PaymentRun {
    /// The run of `directions`, which ended with `outcomes` (in the same order).
    fn of(directions: &[Direction], outcomes: Vec<payments::Outcome>) -> PaymentRun {
        let elapsed = outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default();
        let mut latencies: Vec<Duration> = outcomes
            .iter()
            .flat_map(|o| o.latencies.iter().copied())
            .collect();
        latencies.sort_unstable();
        PaymentRun {
            updates: directions.iter().map(|d| d.count).sum(),
            elapsed,
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
            directions: directions
                .iter()
                .zip(outcomes)
                .map(|(direction, outcome)| DirectionRun {
                    label: direction.label.clone(),
                    amount: direction.amount,
                    count: direction.count,
                    outcome,
                })
                .collect(),
        }
    }

    /// Each direction's figures, for the summary.
    fn figures(&self) -> Vec<DirectionFigures> {
        self.directions
            .iter()
            .map(|direction| DirectionFigures {
                direction: direction.label.clone(),
                payments: direction.count,
                amount: direction.amount,
                seconds: direction.outcome.elapsed.as_secs_f64(),
                updates_per_second: direction.rate().round(),
                retries: direction.outcome.retries,
            })
            .collect()
    }

    /// All payments over the time both directions took together.
    pub fn rate(&self) -> f64 {
        per_second(self.updates, self.elapsed)
    }
}

impl DirectionRun {
    /// This direction's payments per second.
    pub fn rate(&self) -> f64 {
        per_second(self.count, self.outcome.elapsed)
    }
}

/// The checks on the channel itself: the final state is what the payments add up to, and
/// bob's node agrees with alice's on it.
fn channel_mismatches(
    plan: &Plan,
    alice_view: &ChannelInfo,
    bob_view: &ChannelInfo,
    asset: &str,
) -> Result<Vec<String>, LabError> {
    let mut mismatches = Vec::new();
    let (alice, bob) = split(alice_view, asset)?;
    if let Some((want_alice, want_bob)) = plan.expected_final() {
        if (alice, bob) != (want_alice, want_bob) {
            mismatches.push(format!(
                "the final channel balances (alice {alice}, bob {bob}) are not what the \
                 payments add up to (alice {want_alice}, bob {want_bob})"
            ));
        }
    }
    let (bob_mine, bob_theirs) = split(bob_view, asset)?;
    if (bob_mine, bob_theirs) != (bob, alice) || bob_view.version != alice_view.version {
        mismatches.push(format!(
            "the nodes disagree on the final state: alice has version {} (alice {alice}, bob \
             {bob}), bob has version {} (alice {bob_theirs}, bob {bob_mine})",
            alice_view.version, bob_view.version
        ));
    }
    Ok(mismatches)
}

/// Waits until `node`'s side of `channel` is in `phase` (as alice's is), and returns it.
async fn await_phase(
    node: &StartedNode,
    channel: &ChannelInfo,
    phase: Phase,
) -> Result<ChannelInfo, LabError> {
    let deadline = Instant::now() + FOLLOW_TIMEOUT;
    loop {
        let view: ChannelInfo = call(node, "channel_get", &ChannelRef { id: channel.id }).await?;
        if view.phase == Some(phase) {
            return Ok(view);
        }
        if Instant::now() >= deadline {
            return Err(LabError::failed(format!(
                "{}'s side of channel {} is still {} {} s after the other side saw it {}; see \
                 {}.log",
                node.name,
                channel.id,
                view.phase_name(),
                FOLLOW_TIMEOUT.as_secs(),
                phase.as_str(),
                node.name
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// (mine, theirs) of `asset` in `channel`.
fn split(channel: &ChannelInfo, asset: &str) -> Result<(Amount, Amount), LabError> {
    channel
        .balances
        .iter()
        .find(|b| b.asset == asset)
        .map(|AssetBalances { mine, theirs, .. }| (*mine, *theirs))
        .ok_or_else(|| {
            LabError::failed(format!(
                "channel {} holds no {asset}; it holds {}",
                channel.id,
                channel
                    .balances
                    .iter()
                    .map(|b| b.asset.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// `node`'s on-chain balance of `asset`.
async fn on_chain(node: &StartedNode, asset: &str) -> Result<Amount, LabError> {
    let request = BalanceRequest {
        asset: Some(asset.to_owned()),
    };
    let balances: Vec<OnChainBalance> = call(node, "balance", &request).await?;
    balances
        .into_iter()
        .find(|b| b.asset == asset)
        .map(|b| b.amount)
        .ok_or_else(|| {
            LabError::failed(format!(
                "{}'s node reported no on-chain balance of {asset}",
                node.name
            ))
        })
}

/// Calls `method` on `node` with the API's own request type as parameters.
async fn call<T: DeserializeOwned>(
    node: &StartedNode,
    method: &str,
    request: &impl Serialize,
) -> Result<T, LabError> {
    let params = serde_json::to_value(request)
        .map_err(|e| LabError::failed(format!("cannot encode the {method} request: {e}")))?;
    node.client
        .call(method, params)
        .await
        .map_err(|e| LabError::failed(format!("{method} on {}'s node failed: {e}", node.name)))
}

#[cfg(test)]
mod tests {
    use super::super::plan::info;
    use super::*;

    fn view(version: u64, mine: u64, theirs: u64) -> ChannelInfo {
        ChannelInfo {
            id: parley_plugin_api::model::ChannelId([1; 32]),
            peer: Some(crate::wire::NodeKey::generate().unwrap().node_id()),
            peer_alias: None,
            phase: Some(Phase::Closed),
            version,
            challenge_seconds: 600,
            balances: vec![AssetBalances {
                asset: "ETH".into(),
                mine: mine.into(),
                theirs: theirs.into(),
                by_participant: Vec::new(),
            }],
            participants: Vec::new(),
            status: None,
            dispute: None,
            app: None,
            funding: None,
            sub_channels: Vec::new(),
        }
    }

    #[test]
    fn the_channel_checks_catch_a_lost_payment_and_a_disagreement() {
        let plan = Plan::new(&info(0), 10, 1).unwrap();
        // Alice deposits 30 and pays 10 x 3; bob deposits 10 and pays 10 x 1.
        let good = channel_mismatches(&plan, &view(21, 10, 30), &view(21, 30, 10), "ETH");
        assert_eq!(good.unwrap(), Vec::<String>::new());
        let lost = channel_mismatches(&plan, &view(21, 13, 27), &view(21, 27, 13), "ETH");
        let lost = lost.unwrap();
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert!(lost[0].contains("add up to"), "{lost:?}");
        let split_brain = channel_mismatches(&plan, &view(21, 10, 30), &view(20, 30, 10), "ETH");
        assert!(split_brain.unwrap()[0].contains("disagree"));
        assert!(channel_mismatches(&plan, &view(21, 10, 30), &view(21, 30, 10), "TOK").is_err());
    }
}
