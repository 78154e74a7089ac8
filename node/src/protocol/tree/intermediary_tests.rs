//! Virtual channels' locks along a path, and the intermediary's check that it comes out even.

use super::*;
use crate::protocol::tree::tests::{params, party, state};
use crate::protocol::tree::{
    check_virtual_index_map, lock_virtual, merge_child, virtual_index_map, LockError,
};
use proptest::prelude::*;

const VIRTUAL: u8 = 9;

/// The virtual channel between `ends`, flagged virtual.
fn virtual_params(ends: [u8; 2]) -> Params {
    Params {
        virtual_channel: true,
        ..params(&ends, false, VIRTUAL)
    }
}

/// Its state: `a` for the first end, `b` for the second, in the first asset.
fn virtual_state(version: u64, a: u64, b: u64, is_final: bool) -> State {
    let mut s = state(VIRTUAL, version, vec![vec![a, b], vec![0, 0]]);
    s.is_final = is_final;
    s
}

/// Ledger channel `id` between `parties`, 10 each in the first asset.
fn ledger(parties: [u8; 2], id: u8) -> (Params, State) {
    (
        params(&parties, true, id),
        state(id, 4, vec![vec![10, 10], vec![0, 0]]),
    )
}

/// The first-asset balances of `s`.
fn first_asset(s: &State) -> Vec<u64> {
    s.allocation.balances[0]
        .iter()
        .map(|a| a.to_string().parse().unwrap())
        .collect()
}

/// The path A(0)–I(1)–B(2): both ledger channels lock the virtual channel opened with (a, b),
/// then merge its final state (a2, b2). Returns each channel's first-asset balances after the
/// lock and after the merge.
fn one_hop(a: u64, b: u64, a2: u64, b2: u64) -> [(Vec<u64>, Vec<u64>); 2] {
    let v_params = virtual_params([0, 2]);
    let opening = virtual_state(0, a, b, false);
    let closing = virtual_state(7, a2, b2, true);
    let ingrid = party(1);
    let mut out = Vec::new();
    let mut locks = Vec::new();
    for (parties, id) in [([0, 1], 1), ([1, 2], 2)] {
        let (p, s) = ledger(parties, id);
        let map = virtual_index_map(&p, &v_params, opening.channel_id, &ingrid).unwrap();
        let locked = lock_virtual(&p, &s, &v_params, &opening, map).unwrap();
        let merged = merge_child(&p, &locked, &v_params, &closing).unwrap();
        assert!(merged.allocation.locked.is_empty());
        out.push((first_asset(&locked), first_asset(&merged)));
        locks.push((p, locked.allocation.locked[0].clone()));
    }
    let path = |i: usize| PathLock {
        params: &locks[i].0,
        lock: &locks[i].1,
    };
    check_intermediary(&ingrid, &v_params, &opening, path(0), path(1)).unwrap();
    [out[0].clone(), out[1].clone()]
}

#[test]
fn one_intermediary_locks_in_both_channels_and_comes_out_even() {
    // Alice opens with 3, Bob with 1; Alice pays Bob 2.
    let [(left_locked, left_merged), (right_locked, right_merged)] = one_hop(3, 1, 1, 3);
    // Left (Alice, Ingrid): Alice puts 3, Ingrid 1 for Bob; back: Alice 1, Ingrid Bob's 3.
    assert_eq!(left_locked, [7, 9]);
    assert_eq!(left_merged, [8, 12]);
    // Right (Ingrid, Bob): Ingrid puts 3 for Alice, Bob 1; back: Ingrid Alice's 1, Bob 3.
    assert_eq!(right_locked, [7, 9]);
    assert_eq!(right_merged, [8, 12]);
    // Ingrid: 10 + 10 before, 12 + 8 after; Alice paid 2, Bob received 2.
    assert_eq!(left_merged[1] + right_merged[0], 20);
    assert_eq!((left_merged[0], right_merged[1]), (8, 12));
}

#[test]
fn two_intermediaries_each_come_out_even_and_a_crossed_middle_is_refused() {
    // A(0)–I1(1)–I2(2)–B(3); the middle channel (I1, I2): I1 stands in for A, I2 for B.
    let v_params = virtual_params([0, 3]);
    let opening = virtual_state(0, 4, 2, false);
    let (left, _) = ledger([0, 1], 1);
    let (middle, _) = ledger([1, 2], 2);
    let (right, _) = ledger([2, 3], 3);
    let id = opening.channel_id;
    let lock = |map: Vec<u16>| SubAlloc {
        id,
        balances: opening.allocation.totals().unwrap(),
        index_map: map,
    };
    let left_lock = lock(virtual_index_map(&left, &v_params, id, &party(1)).unwrap());
    let right_lock = lock(virtual_index_map(&right, &v_params, id, &party(2)).unwrap());
    let middle_lock = lock(vec![0, 1]);
    check_virtual_index_map(&middle, &v_params, id, &middle_lock.index_map).unwrap();
    let at = |params, lock| PathLock { params, lock };
    check_intermediary(
        &party(1),
        &v_params,
        &opening,
        at(&left, &left_lock),
        at(&middle, &middle_lock),
    )
    .unwrap();
    check_intermediary(
        &party(2),
        &v_params,
        &opening,
        at(&middle, &middle_lock),
        at(&right, &right_lock),
    )
    .unwrap();
    // Crossed, the middle lock is still a valid virtual lock, but I1 would stand in for B on
    // both sides: refused by I1 (and by I2, who would stand in for A twice).
    let crossed = lock(vec![1, 0]);
    check_virtual_index_map(&middle, &v_params, id, &crossed.index_map).unwrap();
    assert_eq!(
        check_intermediary(
            &party(1),
            &v_params,
            &opening,
            at(&left, &left_lock),
            at(&middle, &crossed)
        ),
        Err(IntermediaryError::Uneven { index: 0, times: 0 })
    );
    assert_eq!(
        check_intermediary(
            &party(2),
            &v_params,
            &opening,
            at(&middle, &crossed),
            at(&right, &right_lock)
        ),
        Err(IntermediaryError::Uneven { index: 0, times: 2 })
    );
}

#[test]
fn an_intermediary_refuses_what_does_not_come_out_even() {
    let v_params = virtual_params([0, 2]);
    let opening = virtual_state(0, 3, 1, false);
    let id = opening.channel_id;
    let (left, _) = ledger([0, 1], 1);
    let (right, _) = ledger([1, 2], 2);
    let good = |p: &Params| SubAlloc {
        id,
        balances: opening.allocation.totals().unwrap(),
        index_map: virtual_index_map(p, &v_params, id, &party(1)).unwrap(),
    };
    let (left_lock, right_lock) = (good(&left), good(&right));
    let check = |me: u8, l: &SubAlloc, r: &SubAlloc| {
        let (l, r) = (
            PathLock {
                params: &left,
                lock: l,
            },
            PathLock {
                params: &right,
                lock: r,
            },
        );
        check_intermediary(&party(me), &v_params, &opening, l, r)
    };
    assert_eq!(check(1, &left_lock, &right_lock), Ok(()));
    // An end cannot be the intermediary.
    assert_eq!(
        check(0, &left_lock, &right_lock),
        Err(IntermediaryError::Participant { child: id })
    );
    // Somebody in neither channel.
    assert!(matches!(
        check(5, &left_lock, &right_lock),
        Err(IntermediaryError::NotInChannel { side: "left" })
    ));
    // A right lock of less than the virtual channel holds.
    let mut short = right_lock.clone();
    short.balances[0] = Amount::from(3u64);
    assert!(matches!(
        check(1, &left_lock, &short),
        Err(IntermediaryError::Lock { side: "right", .. })
    ));
    // Ingrid standing in for Bob on both sides (the right lock copied from the left).
    let mut both_bob = right_lock.clone();
    both_bob.index_map = vec![1, 0];
    assert_eq!(
        check(1, &left_lock, &both_bob),
        Err(IntermediaryError::Uneven { index: 0, times: 0 })
    );
}

#[test]
fn virtual_index_maps_go_by_role() {
    let v_params = virtual_params([0, 2]);
    let id = ChannelId([VIRTUAL; 32]);
    let (left, _) = ledger([0, 1], 1);
    // Alice is herself; Bob is stood in for by Ingrid.
    assert_eq!(
        virtual_index_map(&left, &v_params, id, &party(1)).unwrap(),
        [0, 1]
    );
    // Alice as her own stand-in is no map: she is a participant of the child.
    assert!(matches!(
        virtual_index_map(&left, &v_params, id, &party(0)),
        Err(LockError::NoStandIn { index: 1, .. } | LockError::IndexTwice { .. })
    ));
    // A stand-in who is not in the channel.
    assert!(matches!(
        virtual_index_map(&left, &v_params, id, &party(7)),
        Err(LockError::NoStandIn { index: 1, .. })
    ));
    // Alice mapped to Ingrid's place.
    assert!(matches!(
        check_virtual_index_map(&left, &v_params, id, &[1, 0]),
        Err(LockError::NotParentParticipant { index: 0, .. })
    ));
    // A "virtual" channel of the parent's own participants is a sub-channel.
    let own = virtual_params([0, 1]);
    assert_eq!(
        check_virtual_index_map(&left, &own, id, &[0, 1]),
        Err(LockError::NotVirtual { child: id })
    );
    // And a virtual channel is never locked as a sub-channel nor a sub-channel as virtual.
    let (p, s) = ledger([0, 1], 1);
    let opening = virtual_state(0, 1, 1, false);
    let plain = params(&[0, 1], false, VIRTUAL);
    assert_eq!(
        lock_virtual(&p, &s, &plain, &opening, vec![0, 1]),
        Err(LockError::NotVirtual { child: id })
    );
}

proptest! {
    /// Whatever the ends open with and however they split it at the end, the intermediary
    /// ends with what it had, per channel pair, and each end's change is its own.
    #[test]
    fn the_intermediary_always_comes_out_even(
        a in 0u64..=10,
        b in 0u64..=10,
        paid in 0u64..=20,
        towards_b in any::<bool>(),
    ) {
        let total = a + b;
        let a2 = if towards_b { a.saturating_sub(paid) } else { (a + paid).min(total) };
        let b2 = total - a2;
        let [(_, left), (_, right)] = one_hop(a, b, a2, b2);
        prop_assert_eq!(left[1] + right[0], 20);
        prop_assert_eq!(left[0] + a, 10 + a2);
        prop_assert_eq!(right[1] + b, 10 + b2);
    }
}
