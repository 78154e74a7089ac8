//! The chain side's rules, driven by hand: phases, chain events, outcomes and time are inputs.

use super::*;
use parley_plugin_api::ErrorKind;

const TIMEOUT: Duration = Duration::from_secs(30);

fn rules() -> LifeRules {
    LifeRules {
        funding_timeout: TIMEOUT,
        peer_known: true,
        withhold_deposit: false,
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn unreachable() -> ChainFailure {
    ChainFailure::new(ErrorKind::Unavailable, "the RPC does not answer")
}

fn refused() -> ChainFailure {
    ChainFailure::new(ErrorKind::Rejected, "the ledger reverted")
}

/// Takes the duty due now, asserting which it is, and reports `outcome` for it.
fn take(life: &mut ChainLife, now: Instant, expected: Duty, outcome: Outcome) {
    assert_eq!(life.poll(now), Some(expected));
    life.on_outcome(expected, outcome, now);
}

/// A life in `phase` whose channel is already watched.
fn watched(phase: Phase, t0: Instant) -> ChainLife {
    let mut life = ChainLife::new(rules(), phase, t0);
    take(&mut life, t0, Duty::Watch, Outcome::Done);
    life
}

#[test]
fn an_opening_is_abandoned_at_the_funding_timeout_and_not_before() {
    let t0 = Instant::now();
    let mut life = ChainLife::new(rules(), Phase::Opening, t0);
    assert_eq!(
        life.poll(t0),
        None,
        "an opening is not watched and has nothing to do"
    );
    assert_eq!(life.poll_timeout(), Some(t0 + TIMEOUT));
    assert_eq!(life.poll(t0 + TIMEOUT - secs(1)), None);
    take(
        &mut life,
        t0 + TIMEOUT,
        Duty::Abandon { after: TIMEOUT },
        Outcome::Done,
    );
    assert_eq!(life.poll(t0 + TIMEOUT * 10), None, "abandoned once");
    assert_eq!(life.poll_timeout(), None);
}

#[test]
fn an_opening_that_completes_is_never_abandoned() {
    let t0 = Instant::now();
    let mut life = ChainLife::new(rules(), Phase::Opening, t0);
    life.on_phase(Phase::Funding, t0 + secs(1));
    take(&mut life, t0 + secs(1), Duty::Watch, Outcome::Done);
    take(&mut life, t0 + secs(1), Duty::Fund, Outcome::Done);
    assert_eq!(life.poll(t0 + TIMEOUT * 2), None);
}

#[test]
fn funding_is_watched_first_then_funded_once() {
    let t0 = Instant::now();
    let mut life = ChainLife::new(rules(), Phase::Funding, t0);
    take(&mut life, t0, Duty::Watch, Outcome::Done);
    assert_eq!(life.poll(t0), Some(Duty::Fund));
    assert_eq!(life.poll(t0), None, "one duty at a time");
    life.on_outcome(Duty::Fund, Outcome::Done, t0);
    assert_eq!(life.poll(t0 + secs(3600)), None);
    assert_eq!(life.poll_timeout(), None);
}

#[test]
fn a_channel_without_a_known_peer_is_recovered_not_funded() {
    let t0 = Instant::now();
    let rules = LifeRules {
        peer_known: false,
        ..rules()
    };
    let mut life = ChainLife::new(rules, Phase::Funding, t0);
    take(&mut life, t0, Duty::Watch, Outcome::Done);
    take(&mut life, t0, Duty::RecoverUnusable, Outcome::Done);
    assert_eq!(life.poll(t0), None);
}

#[test]
fn a_withheld_deposit_is_still_watched() {
    let t0 = Instant::now();
    let rules = LifeRules {
        withhold_deposit: true,
        ..rules()
    };
    let mut life = ChainLife::new(rules, Phase::Funding, t0);
    take(&mut life, t0, Duty::Watch, Outcome::Done);
    assert_eq!(life.poll(t0 + secs(100)), None);
}

#[test]
fn a_failed_watch_is_retried_whatever_its_kind_and_does_not_hold_up_funding() {
    let t0 = Instant::now();
    let mut life = ChainLife::new(rules(), Phase::Funding, t0);
    take(&mut life, t0, Duty::Watch, Outcome::Failed(refused()));
    assert_eq!(life.problem(), Some(&refused()));
    assert_eq!(life.poll(t0), Some(Duty::Fund));
    assert!(!life.preempts_running());
    life.on_outcome(Duty::Fund, Outcome::Done, t0);
    assert_eq!(life.poll_timeout(), Some(t0 + RETRY));
    assert_eq!(life.poll(t0 + RETRY - secs(1)), None);
    take(&mut life, t0 + RETRY, Duty::Watch, Outcome::Done);
    assert_eq!(life.poll_timeout(), None);
}

#[test]
fn a_registration_seen_while_active_stops_the_channel_for_the_dispute() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Active, t0);
    assert_eq!(life.poll(t0), None);
    life.on_chain_event(4);
    take(
        &mut life,
        t0,
        Duty::StopForDispute { version: 4 },
        Outcome::Done,
    );
    assert_eq!(
        life.poll(t0),
        None,
        "stopped once; the task reports `Disputed`"
    );
    life.on_phase(Phase::Disputed, t0 + secs(1));
    assert_eq!(
        life.poll(t0 + secs(3)),
        Some(Duty::DisputeRound { waited: secs(2) }),
        "the dispute's time counts from when it began"
    );
}

#[test]
fn a_registration_preempts_a_funding_in_progress() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Funding, t0);
    assert_eq!(life.poll(t0), Some(Duty::Fund));
    assert!(!life.preempts_running());
    life.on_chain_event(0);
    assert!(life.preempts_running());
    life.on_preempted();
    take(
        &mut life,
        t0,
        Duty::StopForDispute { version: 0 },
        Outcome::Done,
    );
    life.on_phase(Phase::Disputed, t0);
    assert_eq!(life.poll(t0), Some(Duty::DisputeRound { waited: secs(0) }));
}

#[test]
fn a_new_phase_preempts_a_funding_and_its_late_outcome_is_ignored() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Funding, t0);
    assert_eq!(life.poll(t0), Some(Duty::Fund));
    life.on_phase(Phase::Closing, t0 + secs(1));
    assert!(life.preempts_running());
    life.on_outcome(Duty::Fund, Outcome::Failed(refused()), t0 + secs(2));
    assert_eq!(
        life.problem(),
        None,
        "a funding's failure after the phase moved on"
    );
    assert_eq!(
        life.poll(t0 + secs(2)),
        Some(Duty::Settle { waited: secs(1) })
    );
}

#[test]
fn a_transient_failure_is_retried_after_the_retry_pause() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Closing, t0);
    take(
        &mut life,
        t0,
        Duty::Settle { waited: secs(0) },
        Outcome::Failed(unreachable()),
    );
    assert_eq!(life.problem(), Some(&unreachable()));
    assert_eq!(life.poll_timeout(), Some(t0 + RETRY));
    assert_eq!(life.poll(t0 + RETRY - Duration::from_millis(1)), None);
    take(
        &mut life,
        t0 + RETRY,
        Duty::Settle { waited: RETRY },
        Outcome::Done,
    );
    assert_eq!(life.problem(), None);
    assert_eq!(life.poll(t0 + secs(3600)), None);
}

#[test]
fn a_refused_step_is_not_retried_on_the_retry_timer_but_at_a_chain_event_or_much_later() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Disputed, t0);
    take(
        &mut life,
        t0,
        Duty::DisputeRound { waited: secs(0) },
        Outcome::Failed(refused()),
    );
    assert_eq!(life.poll(t0 + RETRY), None);
    assert_eq!(life.poll_timeout(), Some(t0 + REEXAMINE));
    life.on_chain_event(7);
    assert_eq!(
        life.poll(t0 + secs(5)),
        Some(Duty::DisputeRound { waited: secs(5) })
    );
    life.on_outcome(
        Duty::DisputeRound { waited: secs(5) },
        Outcome::Failed(refused()),
        t0 + secs(5),
    );
    assert_eq!(life.poll(t0 + secs(5) + REEXAMINE - secs(1)), None);
    assert!(life.poll(t0 + secs(5) + REEXAMINE).is_some());
}

#[test]
fn a_pause_ends_early_at_a_chain_event() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Closing, t0);
    take(
        &mut life,
        t0,
        Duty::Settle { waited: secs(0) },
        Outcome::Later(secs(10)),
    );
    assert_eq!(life.poll(t0 + secs(1)), None);
    assert_eq!(life.poll_timeout(), Some(t0 + secs(10)));
    life.on_chain_event(3);
    assert_eq!(
        life.poll(t0 + secs(1)),
        Some(Duty::Settle { waited: secs(1) })
    );
    life.on_outcome(
        Duty::Settle { waited: secs(1) },
        Outcome::Again,
        t0 + secs(1),
    );
    assert_eq!(
        life.poll(t0 + secs(1)),
        Some(Duty::Settle { waited: secs(1) })
    );
}

#[test]
fn a_closed_channel_is_no_longer_watched_and_a_done_phase_ignores_chain_events() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Disputed, t0);
    take(
        &mut life,
        t0,
        Duty::DisputeRound { waited: secs(0) },
        Outcome::Done,
    );
    life.on_chain_event(9);
    assert_eq!(life.poll(t0), None, "the dispute is over");
    life.on_phase(Phase::Closed, t0);
    take(&mut life, t0, Duty::Unwatch, Outcome::Done);
    assert_eq!(life.poll(t0 + secs(3600)), None);
}

#[test]
fn repeating_the_current_phase_changes_nothing() {
    let t0 = Instant::now();
    let mut life = ChainLife::new(rules(), Phase::Opening, t0);
    life.on_phase(Phase::Opening, t0 + secs(20));
    assert_eq!(
        life.poll_timeout(),
        Some(t0 + TIMEOUT),
        "the deadline did not move"
    );
}

#[test]
fn the_retry_note_says_which_failures_wait_for_news() {
    assert!(ChainLife::retry_note(&unreachable()).contains("trying again in 2 s"));
    assert!(ChainLife::retry_note(&refused()).contains("next chain event"));
}

#[test]
fn a_move_on_chain_is_made_before_the_next_round_and_the_round_follows_at_once() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Disputed, t0);
    take(
        &mut life,
        t0,
        Duty::DisputeRound { waited: secs(0) },
        Outcome::Later(secs(30)),
    );
    assert_eq!(life.poll(t0 + secs(1)), None, "the round waits");
    life.on_move_requested();
    life.on_move_requested();
    take(&mut life, t0 + secs(1), Duty::Progress, Outcome::Again);
    take(&mut life, t0 + secs(1), Duty::Progress, Outcome::Again);
    // Each move changed the record: the next round reads it at once.
    assert_eq!(
        life.poll(t0 + secs(1)),
        Some(Duty::DisputeRound { waited: secs(1) })
    );
}

#[test]
fn moves_on_chain_are_made_only_in_a_dispute() {
    let t0 = Instant::now();
    let mut life = watched(Phase::Active, t0);
    life.on_move_requested();
    assert_eq!(life.poll(t0), None, "an active channel moves off chain");
    life.on_phase(Phase::Disputed, t0);
    assert_eq!(life.poll(t0), Some(Duty::Progress));
}
