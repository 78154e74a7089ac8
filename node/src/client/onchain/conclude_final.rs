//! Who sends `concludeFinal` for a fully signed final state, and when (pure: everything is an
//! argument, the time waited included).
//!
//! Both participants hold the final state from the same moment and both want it on chain. If
//! both sent `concludeFinal`, the second transaction would revert ("already concluded") after
//! checking every signature, and its sender would pay ~59,000 gas for nothing
//! (contracts/README.md, Gas). Reading the record first is not enough when both read it before
//! either transaction lands, so the two take turns by a rule both know: the [`CONCLUDER`]
//! sends it at once; the other waits for the concluded record and sends `concludeFinal` itself
//! only after `patience` without it. Its funds never depend on the peer: a concluder that
//! vanished costs the other side `patience`, never its share.
//!
//! A registration on chain ends the turn-taking: somebody is disputing, a registered state's
//! timeout runs, and `concludeFinal` (which supersedes any registered state until the channel
//! concludes) goes out at once from whichever side holds the final state.

use parley_plugin_api::model::{Dispute, DisputePhase};
use std::time::Duration;

/// The index of the participant who sends `concludeFinal` first: the channel's proposer. It
/// chose to open the channel, so it pays for closing it too; the rule needs nothing but the
/// channel's parameters, which both sides hold, and survives restarts.
pub const CONCLUDER: u16 = 0;

/// The next step with a final state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalStep {
    /// The channel concluded on chain: withdraw our share.
    Withdraw,
    /// Send `concludeFinal` with the final state now.
    ConcludeFinal,
    /// The peer concludes: read the record again, and decide again at the latest after
    /// `within` (when our patience runs out).
    AwaitPeer {
        /// What is left of the patience.
        within: Duration,
    },
}

/// The next step for participant `my_index` holding a fully signed final state, given the
/// on-chain record (`None`: nothing registered or concluded yet) and how long this node has
/// been waiting to settle (since it started on the close, in this run).
pub fn final_step(
    record: Option<&Dispute>,
    my_index: u16,
    waited: Duration,
    patience: Duration,
) -> FinalStep {
    match record {
        Some(record) if record.phase == DisputePhase::Concluded => FinalStep::Withdraw,
        Some(_) => FinalStep::ConcludeFinal,
        None if my_index == CONCLUDER => FinalStep::ConcludeFinal,
        None => match patience.checked_sub(waited) {
            Some(within) if !within.is_zero() => FinalStep::AwaitPeer { within },
            _ => FinalStep::ConcludeFinal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::model::ChannelId;
    use proptest::prelude::*;

    const PATIENCE: Duration = Duration::from_secs(120);

    fn record(phase: DisputePhase) -> Dispute {
        Dispute {
            channel_id: ChannelId([1; 32]),
            version: 9,
            phase,
            timeout: 500,
        }
    }

    #[test]
    fn at_the_same_moment_only_the_concluder_sends_it() {
        assert_eq!(
            final_step(None, CONCLUDER, Duration::ZERO, PATIENCE),
            FinalStep::ConcludeFinal
        );
        assert_eq!(
            final_step(None, 1, Duration::ZERO, PATIENCE),
            FinalStep::AwaitPeer { within: PATIENCE }
        );
    }

    #[test]
    fn the_other_side_concludes_itself_once_its_patience_is_spent() {
        assert_eq!(
            final_step(None, 1, Duration::from_secs(100), PATIENCE),
            FinalStep::AwaitPeer {
                within: Duration::from_secs(20)
            }
        );
        for waited in [PATIENCE, PATIENCE * 2] {
            assert_eq!(
                final_step(None, 1, waited, PATIENCE),
                FinalStep::ConcludeFinal
            );
        }
    }

    #[test]
    fn a_concluded_channel_is_only_withdrawn_from() {
        for index in [0, 1] {
            let concluded = record(DisputePhase::Concluded);
            assert_eq!(
                final_step(Some(&concluded), index, Duration::ZERO, PATIENCE),
                FinalStep::Withdraw
            );
        }
    }

    #[test]
    fn a_registration_makes_both_sides_conclude_at_once() {
        for phase in [DisputePhase::Dispute, DisputePhase::ForceExec] {
            for index in [0, 1] {
                assert_eq!(
                    final_step(Some(&record(phase)), index, Duration::ZERO, PATIENCE),
                    FinalStep::ConcludeFinal
                );
            }
        }
    }

    fn phase() -> impl Strategy<Value = Option<DisputePhase>> {
        prop_oneof![
            Just(None),
            Just(Some(DisputePhase::Dispute)),
            Just(Some(DisputePhase::ForceExec)),
            Just(Some(DisputePhase::Concluded)),
        ]
    }

    proptest! {
        /// Without a record, at most one side sends `concludeFinal` while the other's patience
        /// lasts; nobody waits longer than its patience, nor at all once the chain shows a
        /// record; and only a concluded record leads to a withdrawal.
        #[test]
        fn one_sender_bounded_waits(
            phase in phase(), waited_ms in 0u64..300_000, patience_ms in 0u64..300_000,
        ) {
            let (waited, patience) =
                (Duration::from_millis(waited_ms), Duration::from_millis(patience_ms));
            let chain = phase.map(record);
            let steps = [0, 1].map(|i| final_step(chain.as_ref(), i, waited, patience));
            let senders = steps.iter().filter(|s| **s == FinalStep::ConcludeFinal).count();
            if chain.is_none() && waited < patience {
                prop_assert_eq!(senders, 1);
            }
            for step in steps {
                if let FinalStep::AwaitPeer { within } = step {
                    prop_assert!(chain.is_none());
                    prop_assert!(!within.is_zero() && waited + within == patience);
                }
                prop_assert_eq!(
                    step == FinalStep::Withdraw,
                    phase == Some(DisputePhase::Concluded)
                );
            }
        }
    }
}
