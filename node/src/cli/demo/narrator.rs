//! The demo's story as lines on stdout (amounts in whole units, rates, percentiles), told from
//! the steps [`crate::lab::demo`] reports, and its progress bar on stderr.

use super::progress::Progress;
use crate::lab::demo::{Meter, Observer, PaymentRun, Plan, Step};
use crate::lab::figures::millis;
use crate::lab::StartedNode;
use crate::units::format_units;
use parley_plugin_api::model::Amount;
use std::io::Write;
use std::time::Duration;

/// Tells the story on stdout, unless `--json` keeps stdout for the one document.
pub struct Narrator {
    /// Nothing on stdout but the document: the progress still goes to stderr.
    pub quiet: bool,
}

impl Narrator {
    /// Prints one line of the story. A closed stdout (`parley demo | head`) does not stop
    /// the demo: the story is commentary, the exit status carries the result.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }

    fn lines(&self, lines: &[String]) {
        for line in lines {
            self.line(line);
        }
    }
}

impl Observer for Narrator {
    fn step(&mut self, step: Step<'_>) {
        self.lines(&lines(step));
    }

    fn meter(&mut self, total: u64) -> Box<dyn Meter> {
        Box::new(Progress::stderr(total))
    }
}

/// The lines that tell `step`.
fn lines(step: Step<'_>) -> Vec<String> {
    match step {
        Step::Starting => {
            vec!["starting two nodes (sim chain, QUIC on loopback, LMDB stores)".to_owned()]
        }
        Step::Started(node) => vec![node_line(node)],
        Step::BalancesBefore { plan, alice, bob } => vec![
            String::new(),
            format!("on-chain balances before ({}):", plan.asset),
            format!("  alice  {}", format_units(&alice, plan.decimals)),
            format!("  bob    {}", format_units(&bob, plan.decimals)),
        ],
        Step::Opening(plan) => vec![
            String::new(),
            format!(
                "opening a channel: alice deposits {}, bob deposits {}",
                units(plan, &plan.alice_deposit),
                units(plan, &plan.bob_deposit)
            ),
        ],
        Step::Funded {
            channel,
            took: time,
        } => {
            vec![format!(
                "  channel {channel} funded on chain in {}",
                took(time)
            )]
        }
        Step::Paying(plan) => vec![
            String::new(),
            format!(
                "paying: {n} x {} alice -> bob and {n} x {} bob -> alice, both at once, {}",
                units(plan, &plan.alice_pays),
                units(plan, &plan.bob_pays),
                match plan.in_flight {
                    1 => "one call at a time each way".to_owned(),
                    n => format!("{n} calls in flight each way"),
                },
                n = plan.payments
            ),
        ],
        Step::Paid(run) => paid(run),
        Step::Settling => vec![
            String::new(),
            "settling: both sign a final state, alice concludes on chain, both withdraw".to_owned(),
        ],
        Step::Settled {
            plan,
            version,
            alice,
            bob,
            took: time,
        } => vec![format!(
            "  final state version {version}: alice {}, bob {}; both paid out in {}",
            units(plan, &alice),
            units(plan, &bob),
            took(time)
        )],
        Step::BalancesAfter {
            plan,
            before,
            after,
        } => balances_after(plan, before, after),
        Step::Checked(mismatches) => {
            let mut lines = vec![String::new()];
            if mismatches.is_empty() {
                lines.push(
                    "balance check: OK (each account changed by exactly its final channel \
                     balance minus its deposit, to the base unit)"
                        .to_owned(),
                );
            } else {
                lines.push("balance check: MISMATCH".to_owned());
                lines.extend(mismatches.iter().map(|mismatch| format!("  {mismatch}")));
            }
            lines
        }
    }
}

fn node_line(node: &StartedNode) -> String {
    format!(
        "  {:<6} pid {:<7} node {}  peers at {}",
        node.name, node.pid, node.info.node_id, node.info.listen_address
    )
}

/// Each direction's payments, both together, and the latency of one payment.
fn paid(run: &PaymentRun) -> Vec<String> {
    let mut lines: Vec<String> = run
        .directions
        .iter()
        .map(|direction| {
            format!(
                "  {:<13} {} payments in {:.2} s: {:.0} updates/s{}",
                direction.label,
                direction.count,
                direction.outcome.elapsed.as_secs_f64(),
                direction.rate(),
                retried(direction.outcome.retries)
            )
        })
        .collect();
    lines.push(format!(
        "  {:<13} {} updates in {:.2} s: {:.0} updates/s",
        "both ways",
        run.updates,
        run.elapsed.as_secs_f64(),
        run.rate()
    ));
    lines.push(format!(
        "  latency of one payment (API call to both signatures): p50 {:.2} ms, p99 {:.2} ms",
        millis(run.p50),
        millis(run.p99)
    ));
    lines
}

/// Both accounts after settlement, aligned, with the change since before.
fn balances_after(plan: &Plan, before: (Amount, Amount), after: (Amount, Amount)) -> Vec<String> {
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
    let mut lines = vec![
        String::new(),
        format!("on-chain balances after ({}):", plan.asset),
    ];
    lines.extend(shown.iter().map(|(name, text, was, now)| {
        format!(
            "  {name:<6} {text:<width$}  ({})",
            format_change(was, now, plan.decimals)
        )
    }));
    lines
}

/// ` (12 retried after a concurrent update)`, or nothing.
fn retried(retries: u64) -> String {
    if retries == 0 {
        String::new()
    } else {
        format!(" ({retries} retried after a concurrent update)")
    }
}

/// `3 ETH`: `amount` of the plan's asset.
fn units(plan: &Plan, amount: &Amount) -> String {
    format!("{} {}", format_units(amount, plan.decimals), plan.asset)
}

/// The signed change from `before` to `after` in whole units: `+2`, `-2`, `0`.
pub fn format_change(before: &Amount, after: &Amount, decimals: u8) -> String {
    match (after.checked_sub(*before), before.checked_sub(*after)) {
        (Some(up), _) if !up.is_zero() => format!("+{}", format_units(&up, decimals)),
        (_, Some(down)) if !down.is_zero() => format!("-{}", format_units(&down, decimals)),
        _ => "0".to_owned(),
    }
}

/// `62 ms` under a second, `1.24 s` from there on.
pub fn took(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::demo::plan::info;

    #[test]
    fn the_plan_reads_in_round_units() {
        let plan = Plan::new(&info(18), 1000, 8).unwrap();
        assert_eq!(units(&plan, &plan.alice_pays), "0.003 ETH");
        assert_eq!(units(&plan, &plan.bob_pays), "0.001 ETH");
        assert_eq!(units(&plan, &plan.alice_deposit), "3 ETH");
        assert_eq!(units(&plan, &plan.bob_deposit), "1 ETH");
        let (alice, bob) = plan.expected_final().unwrap();
        assert_eq!(units(&plan, &alice), "1 ETH");
        assert_eq!(units(&plan, &bob), "3 ETH");
    }

    #[test]
    fn changes_have_a_sign() {
        let unit = 10u128.pow(18);
        let a = Amount::from_u128(1000 * unit);
        let b = Amount::from_u128(998 * unit);
        assert_eq!(format_change(&a, &b, 18), "-2");
        assert_eq!(format_change(&b, &a, 18), "+2");
        assert_eq!(format_change(&a, &a, 18), "0");
    }

    #[test]
    fn durations_read_in_ms_or_s() {
        assert_eq!(took(Duration::from_micros(62_900)), "62 ms");
        assert_eq!(took(Duration::from_millis(1240)), "1.24 s");
    }

    #[test]
    fn the_balances_after_are_aligned_with_their_change() {
        let plan = Plan::new(&info(18), 1000, 1).unwrap();
        let unit = 10u128.pow(18);
        let before = (
            Amount::from_u128(1000 * unit),
            Amount::from_u128(1000 * unit),
        );
        let after = (
            Amount::from_u128(998 * unit),
            Amount::from_u128(1002 * unit),
        );
        assert_eq!(
            balances_after(&plan, before, after),
            [
                "",
                "on-chain balances after (ETH):",
                "  alice  998   (-2)",
                "  bob    1002  (+2)",
            ]
        );
    }
}
