//! What to do about a channel's on-chain record (pure: everything is an argument).
//!
//! The driver calls [`decide`] whenever something may have changed (a chain event, a poll while
//! a dispute runs, a restart) and carries out the answer; it then asks again. Every answer is
//! safe to repeat after a crash: registering a version the chain already holds is refused by
//! the chain and asked again with the new record, concluding a concluded channel is skipped,
//! and withdrawing a zero holding pays nothing.

use parley_plugin_api::model::{ChainTime, Dispute, DisputePhase};

/// What this node knows of the channel, for the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OurSide {
    /// The version of our newest fully signed state.
    pub latest: u64,
    /// Whether that state is final (it then settles at once with `conclude_final`).
    pub latest_final: bool,
    /// The version of our own update the peer has not answered, if any: the peer may hold it
    /// fully signed and register it, and we can conclude with it since we know the state.
    pub pending: Option<u64>,
    /// Whether to refute a registration older than `latest`. Always on for a real node; off
    /// only for a channel whose old state this node itself registered to cheat (test nodes).
    pub refute: bool,
    /// For an app channel, its challenge duration: after the dispute's timeout the app may be
    /// advanced on chain (force execution) for that long before the channel concludes with
    /// the state as it stands. `None` for a payment channel.
    pub app_challenge: Option<u64>,
    /// Whether the state on record is final (read from the chain, or ours if we hold its
    /// version): a final state concludes at once, app or not.
    pub record_final: bool,
}

/// The next step for the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Register our newest fully signed state: it starts the dispute, or refutes an older
    /// registered version before the dispute's timeout.
    Register,
    /// Our newest state is final: conclude with it (this also ends a running dispute). Which
    /// side sends it, and when, is [`final_step`](super::conclude_final::final_step)'s
    /// decision.
    ConcludeFinal,
    /// Nothing to do until chain time reaches `until` (the dispute's timeout); look again then
    /// or when the record changes.
    Wait {
        /// The chain time at which the next step becomes possible.
        until: ChainTime,
    },
    /// The dispute's timeout passed: conclude with the registered state, of this version.
    Conclude {
        /// The registered version, which the driver must know the state of.
        version: u64,
        /// The registration was older than our newest state but the chance to refute it was
        /// missed (the node was down for the whole challenge duration): funds are lost to the
        /// stale state, and the driver says so loudly.
        refutation_missed: bool,
    },
    /// The channel concluded on chain: withdraw our share, then the channel is closed.
    Withdraw,
}

/// The next step for a channel in dispute (or about to be), given our side, the on-chain
/// record (`None` if nothing was ever registered) and the chain's time.
pub fn decide(ours: &OurSide, record: Option<&Dispute>, now: ChainTime) -> Action {
    let Some(record) = record else {
        return if ours.latest_final {
            Action::ConcludeFinal
        } else {
            Action::Register
        };
    };
    if record.phase == DisputePhase::Concluded {
        return Action::Withdraw;
    }
    if ours.latest_final {
        return Action::ConcludeFinal;
    }
    let stale = record.version < ours.latest;
    if record.phase == DisputePhase::Dispute && stale && ours.refute && now < record.timeout {
        return Action::Register;
    }
    let until = concludable_at(ours, record);
    if now < until {
        return Action::Wait { until };
    }
    Action::Conclude {
        version: record.version,
        refutation_missed: stale && ours.refute,
    }
}

/// When the record may be concluded (the Adjudicator's rule): at its timeout, except an app
/// channel still in the dispute phase with a state that is not final, which first allows force
/// execution for one more challenge duration.
pub fn concludable_at(ours: &OurSide, record: &Dispute) -> ChainTime {
    match ours.app_challenge {
        Some(challenge) if record.phase == DisputePhase::Dispute && !ours.record_final => {
            record.timeout.saturating_add(challenge)
        }
        _ => record.timeout,
    }
}

/// Why a move on chain (`progress`) cannot be made now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoMove {
    /// Nothing is registered: the channel is not in dispute on chain yet.
    NotRegistered,
    /// The registered state may still be refuted; moves become possible at `from`.
    TooEarly {
        /// The chain time from which moves are possible (the dispute's timeout).
        from: ChainTime,
    },
    /// The time for moves is over (`at`): the channel concludes with the state on record.
    Over {
        /// When force execution ended.
        at: ChainTime,
    },
    /// The state on record is final: the game is over.
    Final,
    /// The channel concluded on chain.
    Concluded,
}

/// Whether an app channel with `record` on chain takes a move (`progress`) at `now`, under
/// the Adjudicator's rules: from the dispute's timeout until one challenge duration later,
/// then in force execution until its timeout (each move sets it a challenge duration ahead).
pub fn may_move(
    record: Option<&Dispute>,
    record_final: bool,
    challenge: u64,
    now: ChainTime,
) -> Result<(), NoMove> {
    let Some(record) = record else {
        return Err(NoMove::NotRegistered);
    };
    if record.phase == DisputePhase::Concluded {
        return Err(NoMove::Concluded);
    }
    if record_final {
        return Err(NoMove::Final);
    }
    match record.phase {
        DisputePhase::Dispute if now < record.timeout => Err(NoMove::TooEarly {
            from: record.timeout,
        }),
        // After the timeout the Adjudicator still takes the first move; the channel only
        // becomes concludable a challenge duration later.
        DisputePhase::Dispute if now >= record.timeout.saturating_add(challenge) => {
            Err(NoMove::Over {
                at: record.timeout.saturating_add(challenge),
            })
        }
        DisputePhase::ForceExec if now >= record.timeout => {
            Err(NoMove::Over { at: record.timeout })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::model::ChannelId;
    use proptest::prelude::*;

    fn ours(latest: u64) -> OurSide {
        OurSide {
            latest,
            latest_final: false,
            pending: None,
            refute: true,
            app_challenge: None,
            record_final: false,
        }
    }

    fn app(latest: u64) -> OurSide {
        OurSide {
            app_challenge: Some(60),
            ..ours(latest)
        }
    }

    fn record(version: u64, phase: DisputePhase, timeout: ChainTime) -> Dispute {
        Dispute {
            channel_id: ChannelId([1; 32]),
            version,
            phase,
            timeout,
        }
    }

    #[test]
    fn without_a_record_we_register_or_conclude_a_final_state() {
        assert_eq!(decide(&ours(7), None, 100), Action::Register);
        let final_state = OurSide {
            latest_final: true,
            ..ours(7)
        };
        assert_eq!(decide(&final_state, None, 100), Action::ConcludeFinal);
    }

    #[test]
    fn an_older_registration_is_refuted_before_its_timeout() {
        let stale = record(3, DisputePhase::Dispute, 200);
        assert_eq!(decide(&ours(50), Some(&stale), 100), Action::Register);
        assert_eq!(decide(&ours(50), Some(&stale), 199), Action::Register);
    }

    #[test]
    fn a_registration_of_our_newest_state_waits_for_its_timeout_then_concludes() {
        let newest = record(50, DisputePhase::Dispute, 200);
        assert_eq!(
            decide(&ours(50), Some(&newest), 100),
            Action::Wait { until: 200 }
        );
        assert_eq!(
            decide(&ours(50), Some(&newest), 200),
            Action::Conclude {
                version: 50,
                refutation_missed: false
            }
        );
    }

    #[test]
    fn a_registration_of_our_pending_update_is_concluded_with_it() {
        // The peer accepted our update 51 and registered it before its accept reached us.
        let side = OurSide {
            pending: Some(51),
            ..ours(50)
        };
        let registered = record(51, DisputePhase::Dispute, 200);
        assert_eq!(
            decide(&side, Some(&registered), 150),
            Action::Wait { until: 200 }
        );
        assert_eq!(
            decide(&side, Some(&registered), 250),
            Action::Conclude {
                version: 51,
                refutation_missed: false
            }
        );
    }

    #[test]
    fn a_missed_refutation_is_concluded_and_flagged() {
        let stale = record(3, DisputePhase::Dispute, 200);
        assert_eq!(
            decide(&ours(50), Some(&stale), 200),
            Action::Conclude {
                version: 3,
                refutation_missed: true
            }
        );
    }

    #[test]
    fn a_cheater_does_not_refute_its_own_registration() {
        let side = OurSide {
            refute: false,
            ..ours(50)
        };
        let stale = record(3, DisputePhase::Dispute, 200);
        assert_eq!(
            decide(&side, Some(&stale), 100),
            Action::Wait { until: 200 }
        );
        assert_eq!(
            decide(&side, Some(&stale), 300),
            Action::Conclude {
                version: 3,
                refutation_missed: false
            }
        );
    }

    #[test]
    fn a_final_state_concludes_at_once_even_over_a_dispute() {
        let side = OurSide {
            latest_final: true,
            ..ours(9)
        };
        let running = record(4, DisputePhase::Dispute, 200);
        assert_eq!(decide(&side, Some(&running), 100), Action::ConcludeFinal);
    }

    #[test]
    fn a_concluded_channel_is_withdrawn_from() {
        for side in [
            ours(50),
            OurSide {
                latest_final: true,
                ..ours(50)
            },
        ] {
            let done = record(50, DisputePhase::Concluded, 200);
            assert_eq!(decide(&side, Some(&done), 100), Action::Withdraw);
        }
    }

    #[test]
    fn force_execution_is_not_refuted_and_concludes_after_its_timeout() {
        let progressing = record(3, DisputePhase::ForceExec, 200);
        assert_eq!(
            decide(&ours(50), Some(&progressing), 100),
            Action::Wait { until: 200 }
        );
    }

    #[test]
    fn an_app_channel_allows_force_execution_for_one_challenge_after_the_dispute() {
        let registered = record(5, DisputePhase::Dispute, 200);
        assert_eq!(
            decide(&app(5), Some(&registered), 100),
            Action::Wait { until: 260 }
        );
        assert_eq!(
            decide(&app(5), Some(&registered), 230),
            Action::Wait { until: 260 }
        );
        assert_eq!(
            decide(&app(5), Some(&registered), 260),
            Action::Conclude {
                version: 5,
                refutation_missed: false
            }
        );
    }

    #[test]
    fn a_final_state_on_record_concludes_at_its_timeout_without_force_execution() {
        let side = OurSide {
            record_final: true,
            ..app(5)
        };
        let registered = record(6, DisputePhase::Dispute, 200);
        assert_eq!(
            decide(&side, Some(&registered), 200),
            Action::Conclude {
                version: 6,
                refutation_missed: false
            }
        );
        // A final move on chain sets the timeout to its block's time: concluded at once.
        let progressed = record(9, DisputePhase::ForceExec, 300);
        assert_eq!(
            decide(&side, Some(&progressed), 300),
            Action::Conclude {
                version: 9,
                refutation_missed: false
            }
        );
    }

    #[test]
    fn force_execution_concludes_with_the_version_on_record_after_its_timeout() {
        // Version 8 came from moves on chain; this node holds version 5 signed by all.
        let progressed = record(8, DisputePhase::ForceExec, 400);
        assert_eq!(
            decide(&app(5), Some(&progressed), 399),
            Action::Wait { until: 400 }
        );
        assert_eq!(
            decide(&app(5), Some(&progressed), 400),
            Action::Conclude {
                version: 8,
                refutation_missed: false
            }
        );
    }

    #[test]
    fn moves_on_chain_follow_the_adjudicators_windows() {
        let registered = record(5, DisputePhase::Dispute, 200);
        assert_eq!(may_move(None, false, 60, 100), Err(NoMove::NotRegistered));
        assert_eq!(
            may_move(Some(&registered), false, 60, 199),
            Err(NoMove::TooEarly { from: 200 })
        );
        assert_eq!(may_move(Some(&registered), false, 60, 200), Ok(()));
        assert_eq!(may_move(Some(&registered), false, 60, 259), Ok(()));
        assert_eq!(
            may_move(Some(&registered), false, 60, 260),
            Err(NoMove::Over { at: 260 })
        );
        assert_eq!(
            may_move(Some(&registered), true, 60, 230),
            Err(NoMove::Final)
        );
        let progressed = record(6, DisputePhase::ForceExec, 300);
        assert_eq!(may_move(Some(&progressed), false, 60, 299), Ok(()));
        assert_eq!(
            may_move(Some(&progressed), false, 60, 300),
            Err(NoMove::Over { at: 300 })
        );
        let done = record(6, DisputePhase::Concluded, 300);
        assert_eq!(
            may_move(Some(&done), false, 60, 100),
            Err(NoMove::Concluded)
        );
    }

    fn phase() -> impl Strategy<Value = DisputePhase> {
        prop_oneof![
            Just(DisputePhase::Dispute),
            Just(DisputePhase::ForceExec),
            Just(DisputePhase::Concluded),
        ]
    }

    proptest! {
        /// An honest node never lets an older state conclude while it can still refute it,
        /// and never registers after the timeout (the chain would refuse it).
        #[test]
        fn never_lets_a_stale_state_stand_while_refutable(
            latest in 0u64..100, registered in 0u64..100, timeout in 0u64..1000,
            now in 0u64..1000, phase in phase(), pending in proptest::option::of(0u64..101),
        ) {
            let side = OurSide {
                latest, latest_final: false, pending, refute: true,
                app_challenge: None, record_final: false,
            };
            let chain = record(registered, phase, timeout);
            let action = decide(&side, Some(&chain), now);
            if phase == DisputePhase::Dispute && registered < latest && now < timeout {
                prop_assert_eq!(action, Action::Register);
            } else {
                prop_assert_ne!(action, Action::Register);
            }
            if let Action::Conclude { version, .. } = action {
                prop_assert!(now >= timeout);
                prop_assert_eq!(version, registered);
            }
            if let Action::Wait { until } = action {
                prop_assert!(until > now);
            }
        }

        /// An app channel never concludes before the Adjudicator would let it, and never while
        /// a move on chain is still possible; whenever it waits, it waits for that moment.
        #[test]
        fn an_app_channel_concludes_exactly_when_the_adjudicator_allows(
            latest in 0u64..100, registered in 0u64..100, timeout in 0u64..1000,
            now in 0u64..2000, phase in phase(), record_final in any::<bool>(),
            challenge in 1u64..500,
        ) {
            let side = OurSide {
                latest, latest_final: false, pending: None, refute: true,
                app_challenge: Some(challenge), record_final,
            };
            let chain = record(registered, phase, timeout);
            let action = decide(&side, Some(&chain), now);
            let ready = if phase == DisputePhase::Dispute && !record_final {
                timeout + challenge
            } else {
                timeout
            };
            if let Action::Conclude { version, .. } = action {
                prop_assert!(now >= ready);
                prop_assert_eq!(version, registered);
                prop_assert!(may_move(Some(&chain), record_final, challenge, now).is_err());
            }
            if let Action::Wait { until } = action {
                prop_assert!(until > now);
                prop_assert_eq!(until, ready);
            }
        }
    }
}
