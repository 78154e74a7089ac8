//! Properties of `apply` over random channels and actions: what it gives always passes
//! `valid_transition` and conserves every asset's total; what it refuses is `Rejected` or
//! `InvalidArgument`; and any one change to what it gives is refused.

use super::*;
use crate::json::to_hex;
use crate::rules::valid_transition;
use crate::HashLockApp;
use parley_plugin_api::App;
use proptest::prelude::*;

/// An action as text: the right claim, a claim of some other preimage, a release, or garbage.
fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(format!(r#"{{"claim": "{}"}}"#, to_hex(&preimage()))),
        any::<[u8; 32]>().prop_map(|p| format!(r#"{{"claim": "{}"}}"#, to_hex(&p))),
        Just(r#"{"release": true}"#.to_string()),
        ".{0,80}",
    ]
}

/// A state to move from: open with `assets` rows of random balances (as u128, so that no sum
/// overflows), sometimes claimed, released or off the layout.
fn from_state() -> impl Strategy<Value = State> {
    let balances = prop::collection::vec(prop::collection::vec(any::<u128>(), 2), 1..4);
    let data = prop_oneof![
        6 => Just(lock_data(lock(), OPEN)),
        1 => Just(lock_data(lock(), RELEASED)),
        1 => Just(claim_data(lock(), preimage())),
        1 => prop::collection::vec(any::<u8>(), 0..70),
    ];
    (balances, data, any::<u32>()).prop_map(|(balances, data, version)| {
        let mut state = open();
        state.version = u64::from(version);
        state.allocation.assets = (0..balances.len())
            .map(|i| Asset {
                chain_id: 1,
                holder: Address(vec![i as u8; 20]),
            })
            .collect();
        state.allocation.balances = balances
            .iter()
            .map(|row| row.iter().map(|v| Amount::from_u128(*v)).collect())
            .collect();
        state.app_data = Bytes(data);
        state
    })
}

/// Per-asset totals.
fn totals(state: &State) -> Vec<Amount> {
    state
        .allocation
        .balances
        .iter()
        .map(|row| Amount::checked_sum(row).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_apply_gives_is_valid_and_keeps_the_totals(
        from in from_state(),
        action in action(),
        actor in 0u16..3,
    ) {
        match HashLockApp.apply(&params(), &from, &action, actor) {
            Ok(to) => {
                prop_assert_eq!(valid_transition(&params(), &from, &to, actor), Ok(()));
                prop_assert_eq!(to.version, from.version + 1);
                prop_assert_eq!(totals(&to), totals(&from));
                prop_assert!(to.is_final);
                prop_assert_eq!(&to.channel_id, &from.channel_id);
                prop_assert_eq!(&to.allocation.assets, &from.allocation.assets);
                prop_assert_eq!(&to.allocation.locked, &from.allocation.locked);
                prop_assert_eq!(actor as usize, PAYEE);
            }
            Err(error) => prop_assert!(
                error.kind == ErrorKind::Rejected || error.kind == ErrorKind::InvalidArgument,
                "{error}"
            ),
        }
    }

    #[test]
    fn any_one_change_to_a_valid_move_is_refused(
        from in from_state(),
        release in any::<bool>(),
        change in 0usize..3,
        byte in 0usize..65,
        flip in 1u8..=255,
        asset in 0usize..3,
        who in 0usize..2,
    ) {
        prop_assume!(from.app_data.0 == lock_data(lock(), OPEN));
        let action = if release {
            r#"{"release": true}"#.to_string()
        } else {
            format!(r#"{{"claim": "{}"}}"#, to_hex(&preimage()))
        };
        let mut to = HashLockApp.apply(&params(), &from, &action, PAYEE as u16).unwrap();
        match change {
            0 => {
                let len = to.app_data.0.len();
                to.app_data.0[byte % len] ^= flip;
            }
            1 => to.is_final = false,
            _ => {
                let row = &mut to.allocation.balances[asset % from.allocation.balances.len()];
                row[who] = row[who].checked_add(Amount::from(u64::from(flip))).unwrap();
            }
        }
        prop_assert!(valid_transition(&params(), &from, &to, PAYEE as u16).is_err());
    }
}
