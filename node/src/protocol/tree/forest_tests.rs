//! Rebuilding the trees from stored snapshots: attached, detached, and every refusal.

use super::*;
use crate::protocol::phase::Phase;
use crate::protocol::record::{ChannelRecord, SignedRecord};
use crate::protocol::tree::lock_child;
use crate::protocol::tree::tests::{params, party, signed, state};
use crate::protocol::tree::LockError;
use parley_plugin_api::model::{Amount, Params, State, SubAlloc};

fn snapshot(params: Params, state: State, funding: Funding) -> ChannelSnapshot {
    let signed = signed(params, state);
    ChannelSnapshot {
        channel: ChannelRecord {
            params: signed.params,
            channel_id: signed.state.channel_id,
            my_index: 0,
        },
        phase: Phase::Active,
        latest: SignedRecord {
            state: signed.state,
            sigs: signed.sigs.into_iter().map(Some).collect(),
        },
        pending: None,
        funding,
        spent: 0,
    }
}

fn id(n: u8) -> ChannelId {
    ChannelId([n; 32])
}

fn sub_of(parent: u8) -> Funding {
    Funding::SubChannel { parent: id(parent) }
}

/// Ledger channel 1 locks sub-channels 2 and 3; 2 locks 4. Ledger channel 5 locks nothing.
fn stored() -> Vec<ChannelSnapshot> {
    let root_params = params(&[0, 1], true, 1);
    let sub_params = params(&[0, 1], false, 2);
    let root0 = state(1, 2, vec![vec![100, 100], vec![0, 0]]);
    let c2 = state(2, 0, vec![vec![10, 10], vec![0, 0]]);
    let c3 = state(3, 0, vec![vec![5, 0], vec![0, 0]]);
    let c4 = state(4, 0, vec![vec![1, 1], vec![0, 0]]);
    let root = lock_child(&root_params, &root0, &sub_params, &c2).unwrap();
    let root = lock_child(&root_params, &root, &sub_params, &c3).unwrap();
    let c2 = lock_child(&sub_params, &c2, &sub_params, &c4).unwrap();
    vec![
        snapshot(sub_params.clone(), c4, sub_of(2)),
        snapshot(root_params.clone(), root, Funding::Ledger),
        snapshot(sub_params.clone(), c2, sub_of(1)),
        snapshot(sub_params, c3, sub_of(1)),
        snapshot(
            root_params,
            state(5, 0, vec![vec![1, 1], vec![0, 0]]),
            Funding::Ledger,
        ),
    ]
}

fn leaf(n: u8) -> ForestNode {
    ForestNode {
        id: id(n),
        children: Vec::new(),
    }
}

#[test]
fn ledger_channels_are_roots_with_their_locked_children_in_lock_order() {
    let forest = build_forest(&stored()).unwrap();
    let tree_1 = ForestNode {
        id: id(1),
        children: vec![
            ForestNode {
                id: id(2),
                children: vec![leaf(4)],
            },
            leaf(3),
        ],
    };
    assert_eq!(forest.roots, vec![tree_1, leaf(5)]);
    assert!(forest.detached.is_empty());
}

#[test]
fn a_stored_tree_gives_the_register_call_of_the_whole_tree() {
    let snapshots = stored();
    let forest = build_forest(&snapshots).unwrap();
    let tree = signed_tree(&forest.roots[0], &snapshots).unwrap();
    let request = tree.register_request(party(0)).unwrap();
    let order: Vec<ChannelId> = request
        .sub_channels
        .iter()
        .map(|s| s.state.channel_id)
        .collect();
    assert_eq!(order, vec![id(2), id(4), id(3)]);

    let mut opening = snapshots.clone();
    opening[2].latest.sigs[1] = None;
    assert_eq!(
        signed_tree(&forest.roots[0], &opening),
        Err(ForestError::NotFullySigned(id(2)))
    );
}

#[test]
fn a_child_its_parent_does_not_lock_is_detached_not_lost() {
    let mut snapshots = stored();
    // Channel 6 names 5 as its parent, but 5's state locks nothing (its lock is being signed).
    snapshots.push(snapshot(
        params(&[0, 1], false, 6),
        state(6, 0, vec![vec![1, 0], vec![0, 0]]),
        sub_of(5),
    ));
    let forest = build_forest(&snapshots).unwrap();
    assert_eq!(forest.detached, vec![leaf(6)]);
    assert_eq!(forest.roots.len(), 2);
}

#[test]
fn orphans_cycles_unknown_children_and_disowned_children_are_errors() {
    let mut orphan = stored();
    orphan[3].funding = sub_of(9);
    assert_eq!(
        build_forest(&orphan),
        Err(ForestError::Orphan {
            child: id(3),
            parent: id(9)
        })
    );

    let mut missing = stored();
    missing.remove(0);
    assert_eq!(
        build_forest(&missing),
        Err(ForestError::UnknownChild {
            parent: id(2),
            child: id(4)
        })
    );

    let mut disowned = stored();
    disowned[3].funding = sub_of(5);
    assert_eq!(
        build_forest(&disowned),
        Err(ForestError::NotItsParent {
            parent: id(1),
            child: id(3),
            funding: sub_of(5)
        })
    );

    let mut twice = stored();
    twice.push(twice[4].clone());
    assert_eq!(
        build_forest(&twice),
        Err(ForestError::DuplicateChannel(id(5)))
    );

    let sub_params = params(&[0, 1], false, 7);
    let circle = vec![
        snapshot(
            sub_params.clone(),
            state(7, 0, vec![vec![1, 1], vec![0, 0]]),
            sub_of(8),
        ),
        snapshot(
            sub_params,
            state(8, 0, vec![vec![1, 1], vec![0, 0]]),
            sub_of(7),
        ),
    ];
    match build_forest(&circle) {
        Err(ForestError::Cycle(ids)) => {
            assert_eq!(ids.len(), 2);
            assert!(ids.contains(&id(7)) && ids.contains(&id(8)));
        }
        other => panic!("expected a cycle, got {other:?}"),
    }
}

/// `state` of channel `n` locking `locked` for channel 3 with `index_map`.
fn locking(mut state: State, locked: Vec<u64>, index_map: Vec<u16>) -> State {
    state.allocation.locked.push(SubAlloc {
        id: id(3),
        balances: locked.into_iter().map(Amount::from).collect(),
        index_map,
    });
    state
}

#[test]
fn a_virtual_channel_locked_in_two_parents_is_under_both() {
    // At the intermediary (party 1): its channel with end 0 and its channel with end 2 each
    // lock the virtual channel between 0 and 2; in each, the far end's share is the
    // intermediary's (the index map goes by role).
    let virtual_params = Params {
        virtual_channel: true,
        ..params(&[0, 2], false, 3)
    };
    let v = state(3, 0, vec![vec![2, 2], vec![0, 0]]);
    let left = locking(
        state(1, 1, vec![vec![3, 3], vec![0, 0]]),
        vec![4, 0],
        vec![0, 1],
    );
    let right = locking(
        state(2, 1, vec![vec![3, 3], vec![0, 0]]),
        vec![4, 0],
        vec![0, 1],
    );
    let snapshots = vec![
        snapshot(params(&[0, 1], true, 1), left, Funding::Ledger),
        snapshot(params(&[1, 2], true, 2), right, Funding::Ledger),
        snapshot(
            virtual_params.clone(),
            v.clone(),
            Funding::Virtual {
                parents: vec![id(1), id(2)],
            },
        ),
    ];
    let forest = build_forest(&snapshots).unwrap();
    for (root, n) in forest.roots.iter().zip([1, 2]) {
        assert_eq!(
            *root,
            ForestNode {
                id: id(n),
                children: vec![leaf(3)]
            }
        );
    }
    // Each parent's tree holds it; each pays the virtual channel's shares to the end in it
    // and to the intermediary standing in for the other end.
    for (root, payout) in forest.roots.iter().zip([[5u64, 5], [5, 5]]) {
        let tree = signed_tree(root, &snapshots).unwrap();
        assert_eq!(tree.children().len(), 1);
        let expected: Vec<Vec<Amount>> = vec![
            payout.iter().map(|&a| Amount::from(a)).collect(),
            vec![Amount::ZERO, Amount::ZERO],
        ];
        assert_eq!(tree.payout().unwrap(), expected);
    }
    // A map that makes the far end stand in for the near one is no lock of a virtual channel.
    let mut crossed = snapshots.clone();
    crossed[1].latest.state.allocation.locked[0].index_map = vec![1, 0];
    let crossed_forest = build_forest(&crossed).unwrap();
    assert!(matches!(
        signed_tree(&crossed_forest.roots[1], &crossed),
        Err(ForestError::Tree(TreeError::Lock {
            source: LockError::NoStandIn { .. } | LockError::NotParentParticipant { .. },
            ..
        }))
    ));
    // Locked as a sub-channel, it is refused: its lock must name the stand-ins.
    let parent = state(4, 0, vec![vec![5, 5], vec![0, 0]]);
    assert!(matches!(
        lock_child(&params(&[0, 2], true, 4), &parent, &virtual_params, &v),
        Err(LockError::VirtualChild { .. })
    ));
}

#[test]
fn a_funding_record_that_contradicts_the_parameters_is_an_error() {
    let mut snapshots = stored();
    snapshots[4].funding = sub_of(1);
    assert!(matches!(
        build_forest(&snapshots),
        Err(ForestError::Funding { channel, .. }) if channel == id(5)
    ));
}
