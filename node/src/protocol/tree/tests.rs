//! The channel tree's rules: locking, merging, the register and conclude order, the payout.

use super::*;
use crate::protocol::transition::TransitionError;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Allocation, Asset, Params, Sig, SubAlloc};
use proptest::prelude::*;

/// Participant `i`'s address.
pub(super) fn party(i: u8) -> Participant {
    Participant(vec![i; 20])
}

/// Two assets, in a fixed order.
pub(super) fn assets() -> Vec<Asset> {
    (1..=2)
        .map(|n| Asset {
            chain_id: 1337,
            holder: Address(vec![n; 20]),
        })
        .collect()
}

/// Parameters of a channel among `parties`; a ledger channel or a sub-channel.
pub(super) fn params(parties: &[u8], ledger: bool, nonce: u8) -> Params {
    Params {
        participants: parties.iter().map(|&i| party(i)).collect(),
        challenge_duration: 60,
        nonce: [nonce; 32],
        app: None,
        ledger_channel: ledger,
        virtual_channel: false,
    }
}

/// A state of channel `id` with `balances[asset][participant]`.
pub(super) fn state(id: u8, version: u64, balances: Vec<Vec<u64>>) -> State {
    State {
        channel_id: ChannelId([id; 32]),
        version,
        allocation: Allocation {
            assets: assets(),
            balances: balances
                .into_iter()
                .map(|row| row.into_iter().map(Amount::from).collect())
                .collect(),
            locked: Vec::new(),
        },
        app_data: Bytes::default(),
        is_final: false,
    }
}

/// The one asset of [`ledger_snapshot`]'s channels.
pub(super) fn one_asset() -> Asset {
    Asset {
        chain_id: 1,
        holder: Address(vec![7; 20]),
    }
}

/// A two-party ledger channel `id` between `parties` in `phase`, holding [`one_asset`] with
/// `balances`, as a node's task holds it (version 4, fully signed).
pub(super) fn ledger_snapshot(
    id: u8,
    parties: [u8; 2],
    balances: [u64; 2],
    phase: crate::protocol::phase::Phase,
) -> crate::protocol::record::ChannelSnapshot {
    use crate::protocol::record::{ChannelRecord, ChannelSnapshot, SignedRecord};
    let channel_id = ChannelId([id; 32]);
    ChannelSnapshot {
        channel: ChannelRecord {
            params: Params {
                participants: parties.iter().map(|&p| party(p)).collect(),
                challenge_duration: 60,
                nonce: [id; 32],
                app: None,
                ledger_channel: true,
                virtual_channel: false,
            },
            channel_id,
            my_index: 0,
        },
        phase,
        latest: SignedRecord {
            state: State {
                channel_id,
                version: 4,
                allocation: Allocation {
                    assets: vec![one_asset()],
                    balances: vec![balances.map(Amount::from).to_vec()],
                    locked: Vec::new(),
                },
                app_data: Bytes::default(),
                is_final: false,
            },
            sigs: vec![Some(Sig(vec![1; 65])), Some(Sig(vec![2; 65]))],
        },
        pending: None,
        funding: Default::default(),
        spent: 0,
    }
}

/// Participant 1's proposal of a sub-channel in channel `[3; 32]` to participant 2: `mine` of
/// its, `theirs` of the accepter's, in [`one_asset`].
pub(super) fn sub_channel_proposal(mine: u64, theirs: u64) -> crate::protocol::ChannelProposal {
    crate::protocol::ChannelProposal {
        proposal_id: crate::protocol::ProposalId([1; 32]),
        proposer: party(1),
        assets: vec![one_asset()],
        balances: vec![vec![Amount::from(mine), Amount::from(theirs)]],
        locked: Vec::new(),
        challenge_duration: 60,
        nonce_share: [4; 32],
        app: None,
        app_data: Bytes::default(),
        ledger_channel: false,
        virtual_channel: false,
        parent: Some(ChannelId([3; 32])),
    }
}

/// `params` and `state` with a signature per participant.
pub(super) fn signed(params: Params, state: State) -> SignedState {
    let sigs = (0..params.participants.len())
        .map(|i| Sig(vec![i as u8; 65]))
        .collect();
    SignedState {
        params,
        state,
        sigs,
    }
}

fn amounts(row: &[u64]) -> Vec<Amount> {
    row.iter().map(|&a| Amount::from(a)).collect()
}

/// A three-party ledger channel (parties 0, 1, 2) and a two-party child of parties 2 and 0.
fn parent_and_child() -> (Params, State, Params, State) {
    let parent = state(1, 4, vec![vec![10, 20, 30], vec![5, 5, 5]]);
    let child = state(2, 0, vec![vec![7, 3], vec![1, 0]]);
    (
        params(&[0, 1, 2], true, 1),
        parent,
        params(&[2, 0], false, 2),
        child,
    )
}

#[test]
fn locking_moves_each_child_share_out_of_its_parent_owner_into_a_new_lock() {
    let (pp, parent, cp, child) = parent_and_child();
    let next = lock_child(&pp, &parent, &cp, &child).unwrap();
    assert_eq!(next.version, 5);
    // Child participant 0 is parent participant 2, child participant 1 is parent participant 0.
    assert_eq!(next.allocation.balances[0], amounts(&[7, 20, 23]));
    assert_eq!(next.allocation.balances[1], amounts(&[5, 5, 4]));
    assert_eq!(
        next.allocation.locked,
        vec![SubAlloc {
            id: child.channel_id,
            balances: amounts(&[10, 1]),
            index_map: vec![2, 0],
        }]
    );
    assert_eq!(next.allocation.totals(), parent.allocation.totals());
    check_lock(&pp, &next, &next.allocation.locked[0], &cp, &child).unwrap();
}

#[test]
fn a_lock_that_is_not_covered_or_not_enforceable_is_refused() {
    let (pp, parent, cp, child) = parent_and_child();
    let mut greedy = child.clone();
    greedy.allocation.balances[1][1] = Amount::from(6u64);
    assert!(matches!(
        lock_child(&pp, &parent, &cp, &greedy),
        Err(LockError::NotCovered {
            asset: 1,
            participant: 0,
            ..
        })
    ));

    let stranger = params(&[2, 9], false, 2);
    assert!(matches!(
        lock_child(&pp, &parent, &stranger, &child),
        Err(LockError::NotParentParticipant { index: 1, .. })
    ));
    let twice = params(&[0, 0], false, 2);
    assert!(matches!(
        lock_child(&pp, &parent, &twice, &child),
        Err(LockError::IndexTwice {
            parent_index: 0,
            ..
        })
    ));
    let ledger = params(&[2, 0], true, 2);
    assert!(matches!(
        lock_child(&pp, &parent, &ledger, &child),
        Err(LockError::ChildIsLedgerChannel { .. })
    ));

    let mut reordered = child.clone();
    reordered.allocation.assets.reverse();
    assert!(matches!(
        lock_child(&pp, &parent, &cp, &reordered),
        Err(LockError::Assets { .. })
    ));
    let locked = lock_child(&pp, &parent, &cp, &child).unwrap();
    assert!(matches!(
        lock_child(&pp, &locked, &cp, &child),
        Err(LockError::AlreadyLocked { .. })
    ));
    let mut itself = child.clone();
    itself.channel_id = parent.channel_id;
    assert!(matches!(
        lock_child(&pp, &parent, &cp, &itself),
        Err(LockError::OwnChild(_))
    ));
    let mut nesting = child.clone();
    nesting.allocation.locked = locked.allocation.locked.clone();
    assert!(matches!(
        lock_child(&pp, &parent, &cp, &nesting),
        Err(LockError::ChildLocks { .. })
    ));
    let mut last = parent.clone();
    last.is_final = true;
    assert!(matches!(
        lock_child(&pp, &last, &cp, &child),
        Err(LockError::Transition(TransitionError::OldStateFinal { .. }))
    ));
}

#[test]
fn the_chain_checks_id_assets_index_map_length_and_totals_and_nothing_else() {
    let (pp, parent, cp, child) = parent_and_child();
    let locked = lock_child(&pp, &parent, &cp, &child).unwrap();
    let sub = &locked.allocation.locked[0];
    check_lock_on_chain(&locked, sub, 2, &child).unwrap();

    let mut other = child.clone();
    other.channel_id = ChannelId([9; 32]);
    assert!(matches!(
        check_lock_on_chain(&locked, sub, 2, &other),
        Err(LockError::OtherChannel { .. })
    ));
    assert!(matches!(
        check_lock_on_chain(&locked, sub, 3, &child),
        Err(LockError::IndexMapLength {
            entries: 2,
            participants: 3,
            ..
        })
    ));
    let mut richer = child.clone();
    richer.allocation.balances[0][0] = Amount::from(8u64);
    assert!(matches!(
        check_lock_on_chain(&locked, sub, 2, &richer),
        Err(LockError::Totals { .. })
    ));
    // A map to the wrong parent participants passes the contract (which pays by the map
    // whoever it names) but not the node.
    let mut misdirected = sub.clone();
    misdirected.index_map = vec![1, 0];
    check_lock_on_chain(&locked, &misdirected, 2, &child).unwrap();
    assert!(matches!(
        check_lock(&pp, &locked, &misdirected, &cp, &child),
        Err(LockError::NotParentParticipant { index: 0, .. })
    ));
}

#[test]
fn merging_a_final_outcome_returns_it_to_the_parent_owners_and_removes_the_lock() {
    let (pp, parent, cp, child) = parent_and_child();
    let locked = lock_child(&pp, &parent, &cp, &child).unwrap();
    // In the child, participant 0 (parent's 2) paid 4 of asset 0 to participant 1 (parent's 0).
    let mut outcome = state(2, 9, vec![vec![3, 7], vec![1, 0]]);
    outcome.is_final = true;
    let merged = merge_child(&pp, &locked, &cp, &outcome).unwrap();
    assert_eq!(merged.version, 6);
    assert!(merged.allocation.locked.is_empty());
    assert_eq!(merged.allocation.balances[0], amounts(&[14, 20, 26]));
    assert_eq!(merged.allocation.balances[1], amounts(&[5, 5, 5]));
}

#[test]
fn only_a_final_childless_outcome_of_a_locked_child_with_the_locked_totals_is_merged() {
    let (pp, parent, cp, child) = parent_and_child();
    let locked = lock_child(&pp, &parent, &cp, &child).unwrap();
    assert!(matches!(
        merge_child(&pp, &locked, &cp, &child),
        Err(MergeError::NotFinal { version: 0, .. })
    ));
    let mut outcome = child.clone();
    outcome.is_final = true;
    assert!(matches!(
        merge_child(&pp, &parent, &cp, &outcome),
        Err(MergeError::NotLocked { .. })
    ));
    let mut inflated = outcome.clone();
    inflated.allocation.balances[0][0] = Amount::from(100u64);
    assert!(matches!(
        merge_child(&pp, &locked, &cp, &inflated),
        Err(MergeError::Lock(LockError::Totals { .. }))
    ));
    let mut nesting = outcome.clone();
    nesting.allocation.locked.push(SubAlloc {
        id: ChannelId([5; 32]),
        balances: amounts(&[0, 0]),
        index_map: vec![0, 1],
    });
    assert!(matches!(
        merge_child(&pp, &locked, &cp, &nesting),
        Err(MergeError::ChildStillLocks { count: 1, .. })
    ));
}

/// Root 1 (parties 0, 1, 2) locks child 2 (parties 2, 0) and child 3 (parties 1, 2); child 2
/// then locks grandchild 4 (parties 0, 2), whose newest state is `g_now` (the same totals as
/// its opening state [[1, 2], [0, 1]]). Returns the tree and its descendants' signed states in
/// the order the contract expects them.
fn three_levels(g_now: Vec<Vec<u64>>) -> (ChannelTree, Vec<SignedState>) {
    let root_params = params(&[0, 1, 2], true, 1);
    let a_params = params(&[2, 0], false, 2);
    let b_params = params(&[1, 2], false, 3);
    let g_params = params(&[0, 2], false, 4);
    let root0 = state(1, 7, vec![vec![1000, 2000, 3000], vec![50, 60, 70]]);
    let a0 = state(2, 0, vec![vec![10, 20], vec![3, 4]]);
    let b0 = state(3, 0, vec![vec![100, 200], vec![0, 9]]);
    let g0 = state(4, 0, vec![vec![1, 2], vec![0, 1]]);
    let root1 = lock_child(&root_params, &root0, &a_params, &a0).unwrap();
    let root2 = lock_child(&root_params, &root1, &b_params, &b0).unwrap();
    let a1 = lock_child(&a_params, &a0, &g_params, &g0).unwrap();
    let g = signed(g_params, state(4, 3, g_now));
    let a = signed(a_params, a1);
    let b = signed(b_params, b0);
    let g_tree = ChannelTree::leaf(g.clone()).unwrap();
    let a_tree = ChannelTree::new(a.clone(), vec![g_tree]).unwrap();
    let b_tree = ChannelTree::leaf(b.clone()).unwrap();
    let root = ChannelTree::new(signed(root_params, root2), vec![a_tree, b_tree]).unwrap();
    (root, vec![a, g, b])
}

#[test]
fn register_and_conclude_list_the_tree_depth_first_in_lock_order() {
    let (root, expected) = three_levels(vec![vec![1, 2], vec![0, 1]]);
    let ids: Vec<u8> = root.descendants().iter().map(|t| t.id().0[0]).collect();
    assert_eq!(ids, vec![2, 4, 3]);
    let register = root.register_request(party(0)).unwrap();
    assert_eq!(register.channel, *root.channel());
    assert_eq!(register.sub_channels, expected);
    let conclude = root.conclude_request(party(1)).unwrap();
    assert_eq!(conclude.state, root.channel().state);
    let states: Vec<State> = expected.into_iter().map(|s| s.state).collect();
    assert_eq!(conclude.sub_states, states);

    let sub = root.children()[0].clone();
    assert_eq!(
        sub.register_request(party(0)),
        Err(TreeError::NotLedgerRoot(sub.id()))
    );
}

#[test]
fn the_payout_folds_every_level_into_the_root_participants() {
    // Nobody paid anybody: the payout is what the root held before it locked anything.
    let (root, _) = three_levels(vec![vec![1, 2], vec![0, 1]]);
    let payout = root.payout().unwrap();
    assert_eq!(
        payout,
        vec![amounts(&[1000, 2000, 3000]), amounts(&[50, 60, 70])]
    );
    // In the grandchild, party 2 paid 2 of asset 0 to party 0.
    let (root, _) = three_levels(vec![vec![3, 0], vec![0, 1]]);
    let payout = root.payout().unwrap();
    assert_eq!(
        payout,
        vec![amounts(&[1002, 2000, 2998]), amounts(&[50, 60, 70])]
    );
}

#[test]
fn a_tree_whose_children_do_not_match_the_locks_is_refused() {
    let (root, _) = three_levels(vec![vec![1, 2], vec![0, 1]]);
    let mut children = root.children().to_vec();
    children.reverse();
    assert!(matches!(
        ChannelTree::new(root.channel().clone(), children),
        Err(TreeError::Children { .. })
    ));
    assert!(matches!(
        ChannelTree::new(root.channel().clone(), vec![root.children()[0].clone()]),
        Err(TreeError::Children { .. })
    ));
    let mut unsigned = root.channel().clone();
    unsigned.sigs.pop();
    assert!(matches!(
        ChannelTree::new(unsigned, root.children().to_vec()),
        Err(TreeError::Signatures { .. })
    ));
    // A child whose state no longer holds what the parent locks.
    let mut drifted = root.children()[1].channel().clone();
    drifted.state.allocation.balances[0][0] = Amount::from(1u64);
    let drifted = ChannelTree::leaf(drifted).unwrap();
    assert!(matches!(
        ChannelTree::new(
            root.channel().clone(),
            vec![root.children()[0].clone(), drifted]
        ),
        Err(TreeError::Lock {
            source: LockError::Totals { .. },
            ..
        })
    ));
}

/// Balances of a two-asset, three-party parent, and a child of parties (2, 0) whose opening
/// balances fit in them, and the child's final redistribution.
/// Balances `[asset][participant]` as plain numbers.
type Rows = Vec<Vec<u64>>;

fn lockable() -> impl Strategy<Value = (Rows, Rows, Rows)> {
    proptest::collection::vec(proptest::collection::vec(0u64..1_000_000, 3), 2).prop_flat_map(
        |parent| {
            let child = (0..2)
                .map(|a| (0..=parent[a][2], 0..=parent[a][0]).prop_map(|(x, y)| vec![x, y]))
                .collect::<Vec<_>>();
            (Just(parent), child).prop_flat_map(|(parent, child)| {
                let outcome = child
                    .iter()
                    .map(|row| {
                        let total = row[0] + row[1];
                        (0..=total).prop_map(move |x| vec![x, total - x])
                    })
                    .collect::<Vec<_>>();
                (Just(parent), Just(child), outcome)
            })
        },
    )
}

proptest! {
    #[test]
    fn lock_then_merge_conserves_every_total_and_the_payout_predicts_the_merge(
        (parent_balances, child_balances, outcome_balances) in lockable()
    ) {
        let pp = params(&[0, 1, 2], true, 1);
        let cp = params(&[2, 0], false, 2);
        let parent = state(1, 3, parent_balances);
        let child = state(2, 0, child_balances);
        let locked = lock_child(&pp, &parent, &cp, &child).unwrap();
        prop_assert_eq!(locked.allocation.totals(), parent.allocation.totals());

        let mut outcome = state(2, 5, outcome_balances);
        outcome.is_final = true;
        let tree = ChannelTree::new(
            signed(pp.clone(), locked.clone()),
            vec![ChannelTree::leaf(signed(cp.clone(), outcome.clone())).unwrap()],
        )
        .unwrap();
        let payout = tree.payout().unwrap();
        let merged = merge_child(&pp, &locked, &cp, &outcome).unwrap();
        prop_assert_eq!(merged.allocation.totals(), parent.allocation.totals());
        prop_assert!(merged.allocation.locked.is_empty());
        // Concluding the tree on chain pays what merging off chain leaves in the parent.
        prop_assert_eq!(&payout, &merged.allocation.balances);
    }

    #[test]
    fn merging_the_unchanged_opening_outcome_restores_the_parent_balances(
        (parent_balances, child_balances, _) in lockable()
    ) {
        let pp = params(&[0, 1, 2], true, 1);
        let cp = params(&[2, 0], false, 2);
        let parent = state(1, 3, parent_balances);
        let child = state(2, 0, child_balances);
        let locked = lock_child(&pp, &parent, &cp, &child).unwrap();
        let mut unchanged = child.clone();
        unchanged.version = 1;
        unchanged.is_final = true;
        let merged = merge_child(&pp, &locked, &cp, &unchanged).unwrap();
        prop_assert_eq!(&merged.allocation, &parent.allocation);
        prop_assert_eq!(merged.version, parent.version + 2);
    }
}

#[test]
fn a_channel_twice_in_one_tree_is_refused() {
    // Root 1 locks child 2, which locks a channel with the root's own id.
    let root_params = params(&[0, 1], true, 1);
    let sub_params = params(&[0, 1], false, 2);
    let a0 = state(2, 0, vec![vec![4, 4], vec![0, 0]]);
    let again = state(1, 0, vec![vec![1, 1], vec![0, 0]]);
    let root = lock_child(
        &root_params,
        &state(1, 0, vec![vec![9, 9], vec![0, 0]]),
        &sub_params,
        &a0,
    );
    let a1 = lock_child(&sub_params, &a0, &sub_params, &again).unwrap();
    let inner = ChannelTree::leaf(signed(sub_params.clone(), again)).unwrap();
    let a_tree = ChannelTree::new(signed(sub_params, a1), vec![inner]).unwrap();
    assert_eq!(
        ChannelTree::new(signed(root_params, root.unwrap()), vec![a_tree]),
        Err(TreeError::Repeated(ChannelId([1; 32])))
    );
}
