//! `contracts/test/HashLock.t.sol`, test for test where it asks the app (`validTransition`):
//! the same transitions accepted, the same refused with the same reason. (The forge tests that
//! run the Adjudicator on chain have no counterpart here.) Reasons for app data that does not
//! follow the layout come as `InvalidArgument`, every other one as `Rejected`.

use super::*;
use crate::rules::valid_transition;

#[track_caller]
fn valid(from: &State, to: &State, actor: usize) {
    valid_transition(&params(), from, to, actor as u16).expect("a valid move");
}

#[track_caller]
fn refused(from: &State, to: &State, actor: usize, reason: &str) {
    expect_error(
        valid_transition(&params(), from, to, actor as u16),
        ErrorKind::Rejected,
        reason,
    );
}

#[track_caller]
fn malformed(from: &State, to: &State, actor: usize, reason: &str) {
    expect_error(
        valid_transition(&params(), from, to, actor as u16),
        ErrorKind::InvalidArgument,
        reason,
    );
}

// ---- the valid moves ----

#[test]
fn claim_with_the_preimage_accepted() {
    let open = open();
    valid(&open, &claim(&open), PAYEE);
}

#[test]
fn release_accepted() {
    let open = open();
    valid(&open, &release(&open), PAYEE);
}

#[test]
fn claim_keeps_the_payees_own_balance() {
    let claim = claim(&open());
    assert_eq!(claim.allocation.balances[0][PAYEE], Amount::from(7u64));
    assert_eq!(claim.allocation.balances[1][PAYEE], Amount::from(3u64));
    valid(&open(), &claim, PAYEE);
}

// ---- who moves ----

#[test]
fn payer_cannot_claim() {
    let open = open();
    refused(
        &open,
        &claim(&open),
        PAYER,
        "hash-lock: only the payee moves",
    );
}

#[test]
fn payer_cannot_release() {
    let open = open();
    refused(
        &open,
        &release(&open),
        PAYER,
        "hash-lock: only the payee moves",
    );
}

#[test]
fn an_actor_who_is_no_participant_cannot_move() {
    let open = open();
    refused(&open, &claim(&open), 2, "hash-lock: only the payee moves");
}

#[test]
fn three_participants_refused() {
    let open = open();
    expect_error(
        valid_transition(&params_of(3), &open, &claim(&open), PAYEE as u16),
        ErrorKind::Rejected,
        "hash-lock: two participants, payer and payee",
    );
}

// ---- the claim ----

#[test]
fn wrong_preimage_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.app_data = Bytes(claim_data(lock(), keccak256(b"not the preimage")));
    refused(
        &open,
        &claim,
        PAYEE,
        "hash-lock: the preimage does not match the lock",
    );
}

#[test]
fn the_lock_as_preimage_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.app_data = Bytes(claim_data(lock(), lock()));
    refused(
        &open,
        &claim,
        PAYEE,
        "hash-lock: the preimage does not match the lock",
    );
}

#[test]
fn lock_changed_in_a_claim_refused() {
    let open = open();
    let mut claim = claim(&open);
    let other = keccak256(b"another preimage");
    claim.app_data = Bytes(claim_data(keccak256(&other), other));
    refused(
        &open,
        &claim,
        PAYEE,
        "hash-lock: the hash lock must not change",
    );
}

#[test]
fn lock_changed_in_a_release_refused() {
    let open = open();
    let mut release = release(&open);
    release.app_data.0[31] ^= 1;
    refused(
        &open,
        &release,
        PAYEE,
        "hash-lock: the hash lock must not change",
    );
}

#[test]
fn non_final_claim_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.is_final = false;
    refused(&open, &claim, PAYEE, "hash-lock: a claim must be final");
}

const PAYEE_TAKES_ALL: &str = "hash-lock: a claim pays the payee the payer's whole balance";

#[test]
fn claim_short_in_one_asset_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.allocation.balances[1] = amounts(&[3, 0]);
    refused(&open, &claim, PAYEE, PAYEE_TAKES_ALL);
}

#[test]
fn partial_claim_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.allocation.balances[0] = amounts(&[1, 6]);
    refused(&open, &claim, PAYEE, PAYEE_TAKES_ALL);
}

#[test]
fn claim_leaving_the_payer_its_balance_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.allocation.balances[0][PAYER] = Amount::from(5u64);
    refused(&open, &claim, PAYEE, PAYEE_TAKES_ALL);
}

#[test]
fn claim_with_a_missing_asset_row_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.allocation.balances.truncate(1);
    refused(&open, &claim, PAYEE, "hash-lock: one balance row per asset");
}

#[test]
fn claim_with_a_row_of_three_balances_refused() {
    let open = open();
    let mut claim = claim(&open);
    claim.allocation.balances[0].push(Amount::ZERO);
    refused(
        &open,
        &claim,
        PAYEE,
        "hash-lock: one balance per participant",
    );
}

/// Where Solidity reverts on the overflow of the payer's and the payee's sum, the claim is
/// refused with its reason (the node would have refused such a state for its totals first).
#[test]
fn claim_from_balances_whose_sum_overflows_refused() {
    let mut open = open();
    let max = Amount::from_be_bytes([0xff; 32]);
    open.allocation.balances[0] = vec![max, Amount::from(1u64)];
    let mut claim = release(&open);
    claim.app_data = Bytes(claim_data(lock(), preimage()));
    claim.allocation.balances[0] = vec![Amount::ZERO, max];
    claim.allocation.balances[1] = amounts(&[0, 3]);
    refused(&open, &claim, PAYEE, PAYEE_TAKES_ALL);
}

// ---- the release ----

#[test]
fn non_final_release_refused() {
    let open = open();
    let mut release = release(&open);
    release.is_final = false;
    refused(&open, &release, PAYEE, "hash-lock: a release must be final");
}

#[test]
fn release_moving_funds_refused() {
    let open = open();
    let mut release = release(&open);
    release.allocation.balances[1] = amounts(&[2, 1]);
    refused(
        &open,
        &release,
        PAYEE,
        "hash-lock: a release leaves the balances unchanged",
    );
}

// ---- no other move ----

#[test]
fn staying_open_refused() {
    let open = open();
    let mut same = open.clone();
    same.version += 1;
    refused(&open, &same, PAYEE, "hash-lock: a move claims or releases");
    same.is_final = true; // an open state is never final
    refused(&open, &same, PAYEE, "hash-lock: a move claims or releases");
}

#[test]
fn unknown_status_refused() {
    let open = open();
    let mut next = release(&open);
    next.app_data = Bytes(lock_data(lock(), 3));
    malformed(&open, &next, PAYEE, "hash-lock: invalid status byte");

    let mut bad_from = open.clone();
    bad_from.app_data = Bytes(lock_data(lock(), 3));
    malformed(
        &bad_from,
        &release(&bad_from),
        PAYEE,
        "hash-lock: invalid status byte",
    );
}

// ---- after the end ----

const ALREADY: &str = "hash-lock: the payment is already claimed or released";

#[test]
fn no_move_after_a_claim() {
    let claimed = claim(&open());
    refused(&claimed, &release(&claimed), PAYEE, ALREADY);
    refused(&claimed, &claim(&claimed), PAYEE, ALREADY);
}

#[test]
fn no_move_after_a_release() {
    let released = release(&open());
    refused(&released, &claim(&released), PAYEE, ALREADY);
    refused(&released, &release(&released), PAYEE, ALREADY);
}

// ---- app data lengths ----

#[test]
fn open_state_of_wrong_length_refused() {
    let mut longer = open();
    longer.app_data.0.push(0);
    malformed(
        &longer,
        &claim(&longer),
        PAYEE,
        "hash-lock: an open state's appData is 33 bytes",
    );

    let mut shorter = open();
    shorter.app_data = Bytes(lock().to_vec());
    malformed(
        &shorter,
        &claim(&shorter),
        PAYEE,
        "hash-lock: appData holds at least the lock and the status",
    );
}

#[test]
fn claim_of_wrong_length_refused() {
    let open = open();
    let mut claim = claim(&open);
    let reason = "hash-lock: a claim's appData is 65 bytes";
    claim.app_data.0.push(0); // 66 bytes
    malformed(&open, &claim, PAYEE, reason);
    claim.app_data.0.truncate(64);
    malformed(&open, &claim, PAYEE, reason);
    claim.app_data = Bytes(lock_data(lock(), CLAIMED)); // no preimage at all
    malformed(&open, &claim, PAYEE, reason);
}

#[test]
fn release_of_wrong_length_refused() {
    let open = open();
    let mut release = release(&open);
    release.app_data = Bytes([lock_data(lock(), RELEASED), preimage().to_vec()].concat());
    malformed(
        &open,
        &release,
        PAYEE,
        "hash-lock: a release's appData is 33 bytes",
    );
}

#[test]
fn next_state_too_short_refused() {
    let open = open();
    let mut next = release(&open);
    next.app_data = Bytes(Vec::new());
    malformed(
        &open,
        &next,
        PAYEE,
        "hash-lock: appData holds at least the lock and the status",
    );
}

// ---- the order of the checks (the first rule broken gives the reason) ----

/// The contract checks the state moved from before who moves, and who moves before the state
/// moved to: a payer's move from a claimed state is "already claimed", and a payer's move to
/// garbage is "only the payee moves".
#[test]
fn the_first_rule_broken_gives_the_reason() {
    let claimed = claim(&open());
    refused(&claimed, &release(&claimed), PAYER, ALREADY);
    let open = open();
    let mut garbage = release(&open);
    garbage.app_data = Bytes(vec![1, 2, 3]);
    refused(&open, &garbage, PAYER, "hash-lock: only the payee moves");
    // The lock is compared before the status is read.
    garbage.app_data = Bytes(lock_data(keccak256(b"other"), 9));
    refused(
        &open,
        &garbage,
        PAYEE,
        "hash-lock: the hash lock must not change",
    );
}
