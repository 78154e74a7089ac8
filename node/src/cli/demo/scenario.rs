//! The demo's story, told through the nodes' JSON-RPC APIs only, as a user's program would:
//! start alice and bob, introduce bob to alice, open a channel, pay both ways, settle, and
//! check that the chain paid out exactly the final channel balances.

use super::payments::{self, Direction};
use super::progress::per_second;
use super::report::{
    format_change, format_units, millis, percentile, took, AccountCheck, DirectionFigures, Summary,
};
use super::Say;
use crate::api::types::{
    AssetBalances, BalanceRequest, ChannelInfo, ChannelOpenRequest, ChannelRef, NodeInfo,
    OnChainBalance, PeerAddRequest, PeerInfo,
};
use crate::cli::CliError;
use crate::lab::{AutoAccept, NodeSettings, Processes, StartedNode};
use crate::protocol::Phase;
use parley_plugin_api::model::Amount;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long bob's side may take to follow a phase change alice has seen (the funding, the
/// settlement): it learns of it from the chain's events.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(60);

/// What the demo pays and deposits, in base units of the chain's first asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The asset's name.
    pub asset: String,
    /// Its decimals.
    pub decimals: u8,
    /// Payments per direction.
    pub payments: u64,
    /// Concurrent calls per direction.
    pub in_flight: usize,
    /// Each payment alice makes (3 thousandths of a unit).
    pub alice_pays: Amount,
    /// Each payment bob makes (1 thousandth).
    pub bob_pays: Amount,
    /// Alice's deposit: enough for all her payments even if none of bob's came first.
    pub alice_deposit: Amount,
    /// Bob's deposit, likewise.
    pub bob_deposit: Amount,
}

impl Plan {
    /// The plan for the chain alice reports: its first asset, in thousandths of a unit so
    /// that the balances before and after read as round numbers (alice ends 2 units down
    /// per 1,000 payments, bob 2 up).
    pub fn new(info: &NodeInfo, payments: u64, in_flight: usize) -> Result<Plan, CliError> {
        let asset = info.chain.assets.first().ok_or_else(|| {
            CliError::new(format!(
                "the chain backend {} has no assets to open a channel in",
                info.chain.backend
            ))
        })?;
        let too_big = || {
            CliError::new(format!(
                "{} has {} decimals; the demo's amounts do not fit",
                asset.name, asset.decimals
            ))
        };
        let thousandth = 10u128
            .checked_pow(u32::from(asset.decimals.saturating_sub(3)))
            .ok_or_else(too_big)?;
        let times = |each: u128, count: u64| each.checked_mul(u128::from(count));
        let alice_pays = thousandth.checked_mul(3).ok_or_else(too_big)?;
        let bob_pays = thousandth;
        Ok(Plan {
            asset: asset.name.clone(),
            decimals: asset.decimals,
            payments,
            in_flight,
            alice_pays: Amount::from_u128(alice_pays),
            bob_pays: Amount::from_u128(bob_pays),
            alice_deposit: Amount::from_u128(times(alice_pays, payments).ok_or_else(too_big)?),
            bob_deposit: Amount::from_u128(times(bob_pays, payments).ok_or_else(too_big)?),
        })
    }

    /// `3 ETH`.
    fn units(&self, amount: &Amount) -> String {
        format!("{} {}", format_units(amount, self.decimals), self.asset)
    }

    /// The final channel balances the payments must lead to: (alice, bob).
    pub fn expected_final(&self) -> Option<(Amount, Amount)> {
        let n = Amount::from(self.payments);
        let times = |each: Amount| {
            each.to_u128()
                .and_then(|e| e.checked_mul(n.to_u128()?))
                .map(Amount::from_u128)
        };
        let (alice_out, bob_out) = (times(self.alice_pays)?, times(self.bob_pays)?);
        let alice = self
            .alice_deposit
            .checked_add(bob_out)?
            .checked_sub(alice_out)?;
        let bob = self
            .bob_deposit
            .checked_add(alice_out)?
            .checked_sub(bob_out)?;
        Some((alice, bob))
    }
}

/// Starts both nodes and runs the story; stops with an error as soon as a node dies.
pub async fn run(
    lab: &mut Processes,
    payments: u64,
    in_flight: usize,
    say: &Say,
) -> Result<Summary, CliError> {
    say.line("starting two nodes (sim chain, QUIC on loopback, LMDB stores)");
    let alice = lab.start("alice", &NodeSettings::default()).await?;
    say.line(&node_line(&alice));
    let plan = Plan::new(&alice.info, payments, in_flight)?;
    // Bob starts second: his policy names alice's node id and covers exactly his deposit
    // (both known once she answers), so he accepts her proposal without anyone asking him.
    let accept = NodeSettings {
        auto_accept: Some(AutoAccept {
            from: alice.info.node_id.to_string(),
            max_deposit: plan.bob_deposit,
        }),
        ..NodeSettings::default()
    };
    let bob = lab.start("bob", &accept).await?;
    say.line(&node_line(&bob));
    let result = tokio::select! {
        summary = story(&alice, &bob, &plan, say) => summary,
        died = lab.watch() => return Err(died.into()),
    };
    match result {
        // A failed call is often the first sign of a node's death: say so if it is.
        Err(error) => match lab.death_within(Duration::from_millis(500)).await {
            Some(death) => Err(CliError::new(format!(
                "{death}\n(the demo was at: {error})"
            ))),
            None => Err(error),
        },
        ok => ok,
    }
}

fn node_line(node: &StartedNode) -> String {
    format!(
        "  {:<6} pid {:<7} node {}  peers at {}",
        node.name, node.pid, node.info.node_id, node.info.listen_address
    )
}

/// Everything after both nodes answer.
async fn story(
    alice: &StartedNode,
    bob: &StartedNode,
    plan: &Plan,
    say: &Say,
) -> Result<Summary, CliError> {
    let asset = plan.asset.as_str();
    let _: PeerInfo = call(
        alice,
        "peer_add",
        &PeerAddRequest {
            alias: bob.name.to_owned(),
            node_id: bob.info.node_id,
            transport_address: bob.info.listen_address.clone(),
        },
    )
    .await?;

    let before = (on_chain(alice, asset).await?, on_chain(bob, asset).await?);
    say.line("");
    say.line(&format!("on-chain balances before ({asset}):"));
    say.line(&format!(
        "  alice  {}",
        format_units(&before.0, plan.decimals)
    ));
    say.line(&format!(
        "  bob    {}",
        format_units(&before.1, plan.decimals)
    ));

    say.line("");
    say.line(&format!(
        "opening a channel: alice deposits {}, bob deposits {}",
        plan.units(&plan.alice_deposit),
        plan.units(&plan.bob_deposit)
    ));
    let started = Instant::now();
    let channel: ChannelInfo = call(
        alice,
        "channel_open",
        &ChannelOpenRequest {
            peer: bob.name.to_owned(),
            mine: plan.alice_deposit,
            theirs: plan.bob_deposit,
            asset: Some(plan.asset.clone()),
            challenge_seconds: None,
            more_assets: Vec::new(),
        },
    )
    .await?;
    // Alice's node returns once it saw the channel funded; bob's sees it from the chain's
    // events moments later, and until then refuses updates. Pay only once both see it.
    await_phase(bob, &channel, Phase::Active).await?;
    let open_time = started.elapsed();
    say.line(&format!(
        "  channel {} funded on chain in {}",
        channel.id,
        took(open_time)
    ));

    say.line("");
    say.line(&format!(
        "paying: {n} x {} alice -> bob and {n} x {} bob -> alice, both at once, {}",
        plan.units(&plan.alice_pays),
        plan.units(&plan.bob_pays),
        match plan.in_flight {
            1 => "one call at a time each way".to_owned(),
            n => format!("{n} calls in flight each way"),
        },
        n = plan.payments
    ));
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
    let outcomes = payments::pay(channel.id, asset, &directions, plan.in_flight).await?;
    let mut figures = Vec::new();
    let mut latencies = Vec::new();
    for (direction, outcome) in directions.iter().zip(&outcomes) {
        let rate = per_second(direction.count, outcome.elapsed);
        say.line(&format!(
            "  {:<13} {} payments in {:.2} s: {rate:.0} updates/s{}",
            direction.label,
            direction.count,
            outcome.elapsed.as_secs_f64(),
            retried(outcome.retries)
        ));
        figures.push(DirectionFigures {
            direction: direction.label.clone(),
            payments: direction.count,
            amount: direction.amount,
            seconds: outcome.elapsed.as_secs_f64(),
            updates_per_second: rate.round(),
            retries: outcome.retries,
        });
        latencies.extend_from_slice(&outcome.latencies);
    }
    let both = outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default();
    let updates = plan.payments * 2;
    let total_rate = per_second(updates, both);
    latencies.sort_unstable();
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    say.line(&format!(
        "  {:<13} {updates} updates in {:.2} s: {total_rate:.0} updates/s",
        "both ways",
        both.as_secs_f64()
    ));
    say.line(&format!(
        "  latency of one payment (API call to both signatures): p50 {:.2} ms, p99 {:.2} ms",
        millis(p50),
        millis(p99)
    ));

    say.line("");
    say.line("settling: both sign a final state, alice concludes on chain, both withdraw");
    let started = Instant::now();
    let settled: ChannelInfo =
        call(alice, "channel_settle", &ChannelRef { id: channel.id }).await?;
    let bob_view = await_phase(bob, &settled, Phase::Closed).await?;
    let settle_time = started.elapsed();
    let (alice_final, bob_final) = split(&settled, asset)?;
    say.line(&format!(
        "  final state version {}: alice {}, bob {}; both paid out in {}",
        settled.version,
        plan.units(&alice_final),
        plan.units(&bob_final),
        took(settle_time)
    ));

    let after = (on_chain(alice, asset).await?, on_chain(bob, asset).await?);
    say.line("");
    say.line(&format!("on-chain balances after ({asset}):"));
    let shown = [
        (
            "alice",
            format_units(&after.0, plan.decimals),
            &before.0,
            &after.0,
        ),
        (
            "bob",
            format_units(&after.1, plan.decimals),
            &before.1,
            &after.1,
        ),
    ];
    let width = shown
        .iter()
        .map(|(_, text, ..)| text.len())
        .max()
        .unwrap_or(0);
    for (name, text, was, now) in &shown {
        say.line(&format!(
            "  {name:<6} {text:<width$}  ({})",
            format_change(was, now, plan.decimals)
        ));
    }

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
    say.line("");
    if mismatches.is_empty() {
        say.line(
            "balance check: OK (each account changed by exactly its final channel balance \
             minus its deposit, to the base unit)",
        );
    } else {
        say.line("balance check: MISMATCH");
        for mismatch in &mismatches {
            say.line(&format!("  {mismatch}"));
        }
    }
    Ok(Summary {
        workspace: String::new(),
        kept: false,
        asset: plan.asset.clone(),
        decimals: plan.decimals,
        channel: channel.id.to_string(),
        open_seconds: open_time.as_secs_f64(),
        directions: figures,
        total_updates_per_second: total_rate.round(),
        latency_p50_ms: millis(p50),
        latency_p99_ms: millis(p99),
        in_flight: plan.in_flight,
        final_version: settled.version,
        settle_seconds: settle_time.as_secs_f64(),
        accounts,
        balance_check_ok: mismatches.is_empty(),
        mismatches,
    })
}

/// ` (12 retried after a concurrent update)`, or nothing.
fn retried(retries: u64) -> String {
    if retries == 0 {
        String::new()
    } else {
        format!(" ({retries} retried after a concurrent update)")
    }
}

/// The checks on the channel itself: the final state is what the payments add up to, and
/// bob's node agrees with alice's on it.
fn channel_mismatches(
    plan: &Plan,
    alice_view: &ChannelInfo,
    bob_view: &ChannelInfo,
    asset: &str,
) -> Result<Vec<String>, CliError> {
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
) -> Result<ChannelInfo, CliError> {
    let deadline = Instant::now() + FOLLOW_TIMEOUT;
    loop {
        let view: ChannelInfo = call(node, "channel_get", &ChannelRef { id: channel.id }).await?;
        if view.phase == Some(phase) {
            return Ok(view);
        }
        if Instant::now() >= deadline {
            return Err(CliError::new(format!(
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
fn split(channel: &ChannelInfo, asset: &str) -> Result<(Amount, Amount), CliError> {
    channel
        .balances
        .iter()
        .find(|b| b.asset == asset)
        .map(|AssetBalances { mine, theirs, .. }| (*mine, *theirs))
        .ok_or_else(|| {
            CliError::new(format!(
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
async fn on_chain(node: &StartedNode, asset: &str) -> Result<Amount, CliError> {
    let request = BalanceRequest {
        asset: Some(asset.to_owned()),
    };
    let balances: Vec<OnChainBalance> = call(node, "balance", &request).await?;
    balances
        .into_iter()
        .find(|b| b.asset == asset)
        .map(|b| b.amount)
        .ok_or_else(|| {
            CliError::new(format!(
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
) -> Result<T, CliError> {
    let params = serde_json::to_value(request)
        .map_err(|e| CliError::new(format!("cannot encode the {method} request: {e}")))?;
    node.client
        .call(method, params)
        .await
        .map_err(|e| CliError::new(format!("{method} on {}'s node failed: {e}", node.name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::model::{Asset, AssetInfo, ChainInfo};

    fn info(decimals: u8) -> NodeInfo {
        NodeInfo {
            node_id: crate::wire::NodeKey::generate().unwrap().node_id(),
            version: "0.1.0".into(),
            chain: ChainInfo {
                chain_id: 1337,
                backend: "sim-chain".into(),
                assets: vec![AssetInfo {
                    name: "ETH".into(),
                    decimals,
                    asset: Asset {
                        chain_id: 1337,
                        holder: Default::default(),
                    },
                }],
            },
            listen_address: "127.0.0.1:1".into(),
        }
    }

    #[test]
    fn the_plan_reads_in_round_units() {
        let plan = Plan::new(&info(18), 1000, 8).unwrap();
        assert_eq!(plan.units(&plan.alice_pays), "0.003 ETH");
        assert_eq!(plan.units(&plan.bob_pays), "0.001 ETH");
        assert_eq!(plan.units(&plan.alice_deposit), "3 ETH");
        assert_eq!(plan.units(&plan.bob_deposit), "1 ETH");
        let (alice, bob) = plan.expected_final().unwrap();
        assert_eq!(plan.units(&alice), "1 ETH");
        assert_eq!(plan.units(&bob), "3 ETH");
    }

    #[test]
    fn few_decimals_pay_single_base_units_and_too_many_are_refused() {
        let plan = Plan::new(&info(0), 10, 1).unwrap();
        assert_eq!(plan.bob_pays, Amount::from(1u64));
        assert_eq!(plan.alice_deposit, Amount::from(30u64));
        assert!(Plan::new(&info(60), 10, 1).is_err());
        let mut empty = info(18);
        empty.chain.assets.clear();
        assert!(Plan::new(&empty, 10, 1).is_err());
    }

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
            }],
            status: None,
            dispute: None,
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
