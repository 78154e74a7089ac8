//! Property tests of the state transition rules: valid payments always pass and conserve every
//! total; every single-field mutation of a valid next state is refused with its own error.

use super::*;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Allocation, AllocationError, Asset, SubAlloc};
use proptest::collection::vec;
use proptest::prelude::*;

fn params(app: Option<Address>) -> Params {
    Params {
        participants: vec![
            parley_plugin_api::model::Participant(vec![1; 20]),
            parley_plugin_api::model::Participant(vec![2; 20]),
        ],
        challenge_duration: 60,
        nonce: [0; 32],
        app,
        ledger_channel: true,
        virtual_channel: false,
    }
}

fn asset(n: usize) -> Asset {
    Asset {
        chain_id: 7,
        holder: Address(vec![n as u8; 20]),
    }
}

/// A well-formed, non-final two-party state with 1-3 distinct assets, nothing locked, and
/// (sometimes) app data fixed since the opening.
fn valid_state() -> impl Strategy<Value = State> {
    (1usize..=3)
        .prop_flat_map(|assets| {
            (
                any::<[u8; 32]>(),
                0u64..1_000_000,
                vec(vec(any::<u64>(), 2), assets),
                vec(any::<u8>(), 0..8),
            )
        })
        .prop_map(|(id, version, rows, app_data)| State {
            channel_id: ChannelId(id),
            version,
            allocation: Allocation {
                assets: (0..rows.len()).map(asset).collect(),
                balances: rows
                    .into_iter()
                    .map(|row| row.into_iter().map(Amount::from).collect())
                    .collect(),
                locked: Vec::new(),
            },
            app_data: Bytes(app_data),
            is_final: false,
        })
}

/// Funds of `old`'s participant 0 moved into a sub-channel: every total is conserved.
fn locking(old: &State, amounts: &[u64]) -> Option<State> {
    let mut new = next(old);
    let mut locked = Vec::new();
    for (row, amount) in new.allocation.balances.iter_mut().zip(amounts) {
        let amount = Amount::from(*amount);
        row[0] = row[0].checked_sub(amount)?;
        locked.push(amount);
    }
    new.allocation.locked.push(SubAlloc {
        id: ChannelId([9; 32]),
        balances: locked,
        index_map: vec![0, 1],
    });
    Some(new)
}

fn next(old: &State) -> State {
    let mut new = old.clone();
    new.version += 1;
    new
}

proptest! {
    #[test]
    fn valid_payments_conserve_totals_and_pass(
        start in valid_state(),
        steps in vec((any::<usize>(), any::<bool>(), any::<u64>()), 1..40),
    ) {
        let p = params(None);
        let totals = start.allocation.totals().unwrap();
        let mut latest = start;
        for (asset_raw, from_first, amount_raw) in steps {
            let asset = asset_raw % latest.allocation.assets.len();
            let (from, to) = if from_first { (0, 1) } else { (1, 0) };
            let available = latest.allocation.balances[asset][from];
            let amount = Amount::from(amount_raw);
            match payment(&latest, asset, from, to, amount) {
                Ok(new) => {
                    prop_assert_eq!(check_transition(&p, &latest, &new), Ok(()));
                    prop_assert_eq!(new.allocation.totals().unwrap(), totals.clone());
                    prop_assert_eq!(new.version, latest.version + 1);
                    latest = new;
                }
                Err(PaymentError::ZeroAmount) => prop_assert_eq!(amount, Amount::ZERO),
                Err(PaymentError::Overdraft { available: a, requested }) => {
                    prop_assert_eq!(a, available);
                    prop_assert_eq!(requested, amount);
                    prop_assert!(amount > available);
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }

    #[test]
    fn a_wrong_version_is_refused(old in valid_state(), bump in any::<u64>()) {
        prop_assume!(bump != 1);
        let mut new = old.clone();
        new.version = old.version.wrapping_add(bump);
        prop_assert_eq!(
            check_transition(&params(None), &old, &new),
            Err(TransitionError::Version { old: old.version, expected: old.version + 1, found: new.version })
        );
    }

    #[test]
    fn a_changed_balance_is_refused(
        old in valid_state(),
        asset in any::<usize>(),
        who in 0usize..2,
        delta in 1u64..,
        up in any::<bool>(),
    ) {
        let mut new = next(&old);
        let asset = asset % old.allocation.assets.len();
        let cell = &mut new.allocation.balances[asset][who];
        let before = *cell;
        *cell = if up {
            cell.checked_add(Amount::from(delta)).unwrap()
        } else {
            prop_assume!(*cell >= Amount::from(delta));
            cell.checked_sub(Amount::from(delta)).unwrap()
        };
        prop_assert_ne!(before, new.allocation.balances[asset][who]);
        let result = check_transition(&params(None), &old, &new);
        let is_total_changed = matches!(result, Err(TransitionError::TotalChanged { asset: a, .. }) if a == asset);
        prop_assert!(is_total_changed, "{:?}", result);
    }

    #[test]
    fn a_changed_channel_id_is_refused(old in valid_state(), other in any::<[u8; 32]>()) {
        prop_assume!(ChannelId(other) != old.channel_id);
        let mut new = next(&old);
        new.channel_id = ChannelId(other);
        prop_assert_eq!(
            check_transition(&params(None), &old, &new),
            Err(TransitionError::ChannelId { expected: old.channel_id, found: ChannelId(other) })
        );
    }

    #[test]
    fn changed_assets_are_refused(old in valid_state(), which in any::<usize>(), reorder in any::<bool>()) {
        let mut new = next(&old);
        let n = new.allocation.assets.len();
        if reorder && n > 1 {
            new.allocation.assets.swap(0, n - 1);
        } else {
            new.allocation.assets[which % n] = asset(200);
        }
        prop_assert_eq!(
            check_transition(&params(None), &old, &new),
            Err(TransitionError::AssetsChanged)
        );
    }

    #[test]
    fn nothing_follows_a_final_state(old in valid_state(), final_again in any::<bool>()) {
        let mut old = old;
        old.is_final = true;
        let mut new = next(&old);
        new.is_final = final_again;
        prop_assert_eq!(
            check_transition(&params(None), &old, &new),
            Err(TransitionError::OldStateFinal { version: old.version })
        );
        prop_assert_eq!(payment(&old, 0, 0, 1, Amount::from(1u64)), Err(PaymentError::Final));
        prop_assert_eq!(final_state(&old), Err(TransitionError::OldStateFinal { version: old.version }));
    }

    #[test]
    fn app_data_never_changes(old in valid_state(), data in vec(any::<u8>(), 0..8)) {
        prop_assume!(data != old.app_data.0);
        let mut new = next(&old);
        new.app_data = Bytes(data);
        prop_assert_eq!(
            check_transition(&params(None), &old, &new),
            Err(TransitionError::AppDataChanged)
        );
        // No app's rules can be checked, so an app does not make new data acceptable.
        let app = Address(vec![5; 20]);
        prop_assert_eq!(
            check_transition(&params(Some(app.clone())), &old, &new),
            Err(TransitionError::AppChannel { app })
        );
    }

    #[test]
    fn locked_funds_change_only_by_a_checked_lock_or_merge(old in valid_state(), amounts in vec(0u64..1000, 3)) {
        let new = locking(&old, &amounts);
        prop_assume!(new.is_some());
        let new = new.unwrap();
        prop_assert_eq!(new.allocation.totals(), old.allocation.totals());
        prop_assert_eq!(
            check_transition(&params(None), &old, &new),
            Err(TransitionError::Locked { count: 1 })
        );
        // A state that keeps its locks may follow one with the same locks (a payment in a
        // parent beside its sub-channel), but never a final one: it could not be concluded.
        let mut parent = new.clone();
        parent.version = old.version;
        prop_assert_eq!(check_transition(&params(None), &parent, &next(&parent)), Ok(()));
        let mut closing = next(&parent);
        closing.is_final = true;
        prop_assert_eq!(
            check_transition(&params(None), &parent, &closing),
            Err(TransitionError::FinalWithLocks { count: 1 })
        );
    }

    #[test]
    fn an_app_channel_only_closes_as_it_stands(
        old in valid_state(),
        amount in 1u64..1000,
    ) {
        let app = Address(vec![5; 20]);
        let with_app = params(Some(app.clone()));
        prop_assert_eq!(
            check_transition(&with_app, &old, &next(&old)),
            Err(TransitionError::AppChannel { app: app.clone() })
        );
        if let Ok(paid) = payment(&old, 0, 0, 1, Amount::from(amount)) {
            prop_assert_eq!(
                check_transition(&with_app, &old, &paid),
                Err(TransitionError::AppChannel { app: app.clone() })
            );
            let mut closing_after_a_move = paid.clone();
            closing_after_a_move.is_final = true;
            prop_assert_eq!(
                check_transition(&with_app, &old, &closing_after_a_move),
                Err(TransitionError::AppChannel { app: app.clone() })
            );
        }
        prop_assert_eq!(check_transition(&with_app, &old, &final_state(&old).unwrap()), Ok(()));
    }

    #[test]
    fn a_malformed_allocation_is_refused(old in valid_state(), drop_row in any::<bool>()) {
        let mut new = next(&old);
        let expected = if drop_row {
            new.allocation.balances.pop();
            AllocationError::RowCount { rows: old.allocation.assets.len() - 1, assets: old.allocation.assets.len() }
        } else {
            new.allocation.balances[0].pop();
            AllocationError::ColumnCount { asset: 0, found: 1, expected: 2 }
        };
        prop_assert_eq!(check_transition(&params(None), &old, &new), Err(TransitionError::Shape(expected)));
    }

    #[test]
    fn an_unchanged_next_state_passes(old in valid_state()) {
        prop_assert_eq!(check_transition(&params(None), &old, &next(&old)), Ok(()));
        let last = final_state(&old).unwrap();
        prop_assert!(last.is_final);
        prop_assert_eq!(check_transition(&params(None), &old, &last), Ok(()));
    }
}

#[test]
fn payment_errors_name_the_rule() {
    let state = State {
        channel_id: ChannelId([1; 32]),
        version: 4,
        allocation: Allocation {
            assets: vec![asset(0)],
            balances: vec![vec![Amount::from(10u64), Amount::from(5u64)]],
            locked: vec![],
        },
        app_data: Bytes::default(),
        is_final: false,
    };
    let one = Amount::from(1u64);
    assert_eq!(
        payment(&state, 1, 0, 1, one),
        Err(PaymentError::UnknownAsset {
            asset: 1,
            assets: 1
        })
    );
    assert_eq!(
        payment(&state, 0, 0, 2, one),
        Err(PaymentError::UnknownParticipant {
            index: 2,
            participants: 2
        })
    );
    assert_eq!(payment(&state, 0, 1, 1, one), Err(PaymentError::SameParty));
    assert_eq!(
        payment(&state, 0, 0, 1, Amount::ZERO),
        Err(PaymentError::ZeroAmount)
    );
    assert_eq!(
        payment(&state, 0, 1, 0, Amount::from(6u64)),
        Err(PaymentError::Overdraft {
            available: Amount::from(5u64),
            requested: Amount::from(6u64)
        })
    );
    let paid = payment(&state, 0, 1, 0, Amount::from(5u64)).unwrap();
    assert_eq!(
        paid.allocation.balances[0],
        vec![Amount::from(15u64), Amount::ZERO]
    );
    assert_eq!(paid.version, 5);

    let mut last = state.clone();
    last.version = u64::MAX;
    assert_eq!(
        payment(&last, 0, 0, 1, one),
        Err(PaymentError::VersionExhausted)
    );
    let mut after = last.clone();
    after.version = 0;
    assert_eq!(
        check_transition(&params(None), &last, &after),
        Err(TransitionError::VersionExhausted(u64::MAX))
    );
}
