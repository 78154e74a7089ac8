//! What the demo measured and checked: the balance check itself, and the figures and checks as
//! one document (what `parley demo --json` prints).

use parley_plugin_api::model::Amount;
use serde::Serialize;

/// One party's on-chain account across the channel's life.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountCheck {
    /// `alice` or `bob`.
    pub party: &'static str,
    /// On-chain balance before the channel was opened.
    pub before: Amount,
    /// What the party deposited into the channel.
    pub deposit: Amount,
    /// The party's balance in the channel's final state.
    pub final_balance: Amount,
    /// On-chain balance after settlement.
    pub after: Amount,
}

impl AccountCheck {
    /// Whether the change on chain is exactly the final balance minus the deposit, that is
    /// `after - before == final - deposit`, compared as `after + deposit == before + final`
    /// so that no side can go negative.
    pub fn holds(&self) -> bool {
        let paid_in = self.after.checked_add(self.deposit);
        let paid_out = self.before.checked_add(self.final_balance);
        paid_in.is_some() && paid_in == paid_out
    }

    /// The after-balance the rule expects, if it is representable.
    pub fn expected_after(&self) -> Option<Amount> {
        self.before
            .checked_add(self.final_balance)?
            .checked_sub(self.deposit)
    }

    /// One sentence on a failed check, in base units so nothing is rounded away.
    pub fn mismatch(&self) -> String {
        let expected = self
            .expected_after()
            .map_or_else(|| "an impossible amount".to_owned(), |a| a.to_string());
        format!(
            "{}: on chain {} -> {} base units, but before {} - deposit {} + final channel \
             balance {} = {expected}",
            self.party, self.before, self.after, self.before, self.deposit, self.final_balance
        )
    }
}

/// The figures of one direction of payments.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionFigures {
    /// `alice -> bob`.
    pub direction: String,
    /// How many payments.
    pub payments: u64,
    /// The amount of each, in base units.
    pub amount: Amount,
    /// From the first request to the last answer, in seconds.
    pub seconds: f64,
    /// Payments per second.
    pub updates_per_second: f64,
    /// Calls repeated because a concurrent update from the other side won the race.
    pub retries: u64,
}

/// The `--json` document (and the data behind the text report).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The demo's directory.
    pub workspace: String,
    /// Whether it was kept (`--keep`).
    pub kept: bool,
    /// The asset the channel holds.
    pub asset: String,
    /// Its decimals (amounts are in base units).
    pub decimals: u8,
    /// The channel.
    pub channel: String,
    /// Seconds from proposing the channel to its being funded.
    pub open_seconds: f64,
    /// Both directions.
    pub directions: Vec<DirectionFigures>,
    /// All payments over the time both directions took together.
    pub total_updates_per_second: f64,
    /// Per-payment API latency, milliseconds.
    pub latency_p50_ms: f64,
    /// Per-payment API latency, milliseconds.
    pub latency_p99_ms: f64,
    /// Concurrent calls per direction.
    pub in_flight: usize,
    /// The version of the final state.
    pub final_version: u64,
    /// Seconds from asking to settle to the chain paying out both sides.
    pub settle_seconds: f64,
    /// Per party.
    pub accounts: Vec<AccountCheck>,
    /// Whether every check held.
    pub balance_check_ok: bool,
    /// Every check that failed, one sentence each.
    pub mismatches: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_holds_only_to_the_unit() {
        let unit = 10u128.pow(18);
        let mut alice = AccountCheck {
            party: "alice",
            before: Amount::from_u128(1000 * unit),
            deposit: Amount::from_u128(3 * unit),
            final_balance: Amount::from_u128(unit),
            after: Amount::from_u128(998 * unit),
        };
        assert!(alice.holds());
        assert_eq!(alice.expected_after(), Some(alice.after));

        // One base unit off either way is a mismatch, and the message shows base units.
        alice.after = Amount::from_u128(998 * unit + 1);
        assert!(!alice.holds());
        let text = alice.mismatch();
        assert!(text.contains("998000000000000000001"), "{text}");
        assert!(text.contains("= 998000000000000000000"), "{text}");
        alice.after = Amount::from_u128(998 * unit - 1);
        assert!(!alice.holds());

        // A gain: bob deposited 1, ends with 3.
        let bob = AccountCheck {
            party: "bob",
            before: Amount::from_u128(1000 * unit),
            deposit: Amount::from_u128(unit),
            final_balance: Amount::from_u128(3 * unit),
            after: Amount::from_u128(1002 * unit),
        };
        assert!(bob.holds());
    }
}
