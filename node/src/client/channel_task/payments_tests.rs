use super::*;
use crate::protocol::{PendingUpdate, SignedRecord};
use parley_plugin_api::codec::{Bytes, Decode};
use parley_plugin_api::model::{Address, Allocation, Asset, Sig};

const CHANNEL: ChannelId = ChannelId([7; 32]);

fn asset(n: u8) -> Asset {
    Asset {
        chain_id: 1337,
        holder: Address(vec![n; 20]),
    }
}

/// Version `version` with balances `rows` (one `[p0, p1]` per asset).
fn state(version: u64, rows: &[[u64; 2]]) -> State {
    State {
        channel_id: CHANNEL,
        version,
        allocation: Allocation {
            assets: (0..rows.len()).map(|i| asset(i as u8 + 1)).collect(),
            balances: rows
                .iter()
                .map(|r| r.iter().map(|&a| Amount::from(a)).collect())
                .collect(),
            locked: Vec::new(),
        },
        app_data: Bytes::default(),
        is_final: false,
    }
}

fn latest(state: State) -> PersistRecord {
    PersistRecord::Latest(SignedRecord {
        state,
        sigs: vec![None, None],
    })
}

fn pending(state: State) -> PersistRecord {
    PersistRecord::Pending(Some(PendingUpdate {
        state,
        sig: Sig(vec![1; 65]),
    }))
}

fn tag(amount: u64) -> PaymentTag {
    PaymentTag {
        id: PaymentId([9; 16]),
        asset: 0,
        amount: Amount::from(amount),
        memo: String::new(),
        asked_ms: 1_000,
    }
}

/// The records among `ops`.
fn records(ops: &[WriteOp]) -> Vec<PaymentRecord> {
    ops.iter()
        .map(|op| match op {
            WriteOp::Put { value, .. } => PaymentRecord::decode(value).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn our_payment_is_pending_with_its_proposal_and_completed_with_its_state() {
    let mut log = PaymentLog::new(CHANNEL, 0, false, state(3, &[[100, 50]]));
    let ours = tag(30);
    let next = state(4, &[[70, 80]]);

    let proposed = log.on_batch(&[pending(next.clone())], Some((4, &[&ours][..])), 2_000);
    let [record] = &records(&proposed.ops)[..] else {
        panic!("{proposed:?}")
    };
    assert_eq!(record.status, PaymentStatus::Pending);
    assert_eq!((record.version, record.created_ms), (4, 1_000));
    assert!(
        proposed.events.is_empty(),
        "told only once durable and signed"
    );

    let accepted = log.on_batch(
        &[latest(next), PersistRecord::Pending(None)],
        Some((4, &[&ours][..])),
        3_000,
    );
    let [record] = &records(&accepted.ops)[..] else {
        panic!("{accepted:?}")
    };
    assert_eq!(record.id, PaymentId([9; 16]));
    assert_eq!(record.direction, Direction::Sent);
    assert_eq!(record.status, PaymentStatus::Completed);
    assert_eq!((record.amount, record.version), (Amount::from(30u64), 4));
    assert_eq!((record.mine, record.theirs), (70u64.into(), 80u64.into()));
    assert_eq!((record.created_ms, record.updated_ms), (1_000, 3_000));
    assert_eq!(accepted.events, [Event::Payment(Box::new(record.clone()))]);
}

#[test]
fn the_peers_payment_is_received_under_the_id_it_carried_or_a_derived_one() {
    // We are participant 1: the peer (0) pays us 20, then 5.
    let mut log = PaymentLog::new(CHANNEL, 1, false, state(0, &[[100, 50]]));
    let first = log.on_batch(&[latest(state(1, &[[80, 70]]))], None, 5_000);
    let [record] = &records(&first.ops)[..] else {
        panic!("{first:?}")
    };
    assert_eq!(record.direction, Direction::Received);
    assert_eq!(record.id, PaymentId::derived(&CHANNEL, 1));
    assert_eq!(record.amount, Amount::from(20u64));
    assert_eq!((record.mine, record.theirs), (70u64.into(), 80u64.into()));

    log.offer(
        2,
        vec![Offered {
            id: PaymentId([4; 16]),
            amount: None,
            memo: "coffee".into(),
        }],
    );
    let second = log.on_batch(&[latest(state(2, &[[75, 75]]))], None, 6_000);
    let [record] = &records(&second.ops)[..] else {
        panic!("{second:?}")
    };
    assert_eq!(
        (record.id, record.memo.as_str()),
        (PaymentId([4; 16]), "coffee")
    );
}

#[test]
fn a_final_state_is_settling_not_a_payment() {
    let mut log = PaymentLog::new(CHANNEL, 0, false, state(5, &[[100, 50]]));
    let mut last = state(6, &[[100, 50]]);
    last.is_final = true;
    let logged = log.on_batch(&[latest(last)], None, 1);
    assert!(logged.ops.is_empty());
    assert_eq!(
        logged.events,
        [Event::ChannelSettling {
            channel: CHANNEL,
            version: 6
        }]
    );
}

#[test]
fn other_updates_are_no_payments() {
    // An app channel's move that shifts balances.
    let mut app = PaymentLog::new(CHANNEL, 0, true, state(1, &[[10, 10]]));
    assert_eq!(
        app.on_batch(&[latest(state(2, &[[5, 15]]))], None, 1),
        Logged::default()
    );
    // Two assets moved at once, a state that does not follow, and ours completing without
    // its request (after a restart: its pending record keeps the caller's id).
    let mut log = PaymentLog::new(CHANNEL, 0, false, state(1, &[[10, 10], [10, 10]]));
    let both = log.on_batch(&[latest(state(2, &[[5, 15], [15, 5]]))], None, 1);
    assert_eq!(both, Logged::default());
    let gap = log.on_batch(&[latest(state(9, &[[5, 15], [10, 10]]))], None, 1);
    assert_eq!(gap, Logged::default());
    let orphan = log.on_batch(&[latest(state(10, &[[0, 20], [10, 10]]))], None, 1);
    assert_eq!(orphan, Logged::default());
}

#[test]
fn transfers_conserve_what_moved() {
    let before = state(1, &[[10, 10]]);
    assert_eq!(
        transfer(&before, &state(2, &[[4, 16]]), 0),
        Some((0, Direction::Sent, Amount::from(6u64)))
    );
    assert_eq!(
        transfer(&before, &state(2, &[[4, 16]]), 1),
        Some((0, Direction::Received, Amount::from(6u64)))
    );
    // Money from nowhere is no transfer.
    assert_eq!(transfer(&before, &state(2, &[[4, 17]]), 0), None);
    assert_eq!(transfer(&before, &state(2, &[[10, 10]]), 0), None);
}

#[test]
fn a_payment_that_did_not_happen_keeps_its_id_and_reason() {
    let log = PaymentLog::new(CHANNEL, 0, false, state(3, &[[100, 50]]));
    let record = log.ended(&tag(30), None, PaymentStatus::Rejected("no".into()), 9);
    assert_eq!(record.id, PaymentId([9; 16]));
    assert_eq!(record.version, 4);
    assert_eq!(record.status.reason(), Some("no"));
    assert_eq!((record.mine, record.theirs), (100u64.into(), 50u64.into()));
}

#[test]
fn a_batch_of_ours_is_recorded_payment_by_payment() {
    let mut log = PaymentLog::new(CHANNEL, 0, false, state(3, &[[100, 50]]));
    let (a, mut b) = (tag(10), tag(20));
    b.id = PaymentId([8; 16]);
    let next = state(4, &[[70, 80]]);
    let proposed = log.on_batch(&[pending(next.clone())], Some((4, &[&a, &b][..])), 2_000);
    let pending_ones = records(&proposed.ops);
    assert_eq!(pending_ones.len(), 2);
    assert!(pending_ones
        .iter()
        .all(|r| r.status == PaymentStatus::Pending && r.version == 4));

    let accepted = log.on_batch(&[latest(next)], Some((4, &[&a, &b][..])), 3_000);
    let done = records(&accepted.ops);
    let ids_and_amounts: Vec<_> = done.iter().map(|r| (r.id, r.amount)).collect();
    assert_eq!(
        ids_and_amounts,
        [
            (PaymentId([9; 16]), Amount::from(10u64)),
            (PaymentId([8; 16]), Amount::from(20u64))
        ]
    );
    assert!(done
        .iter()
        .all(|r| r.status == PaymentStatus::Completed && r.direction == Direction::Sent));
    assert_eq!(accepted.events.len(), 2);
}

#[test]
fn the_peers_batch_is_received_as_its_payments_only_if_they_add_up() {
    let offered = |amounts: [u64; 2]| {
        amounts
            .iter()
            .zip([1u8, 2])
            .map(|(amount, n)| Offered {
                id: PaymentId([n; 16]),
                amount: Some(Amount::from(*amount)),
                memo: String::new(),
            })
            .collect::<Vec<_>>()
    };
    // We are participant 1: the peer pays us 30 in one update.
    let mut log = PaymentLog::new(CHANNEL, 1, false, state(0, &[[100, 50]]));
    log.offer(1, offered([10, 20]));
    assert!(log.offered_for(1, Amount::from(30u64)).is_some());
    let received = records(
        &log.on_batch(&[latest(state(1, &[[70, 80]]))], None, 5_000)
            .ops,
    );
    let got: Vec<_> = received
        .iter()
        .map(|r| (r.id, r.amount, r.direction))
        .collect();
    assert_eq!(
        got,
        [
            (PaymentId([1; 16]), Amount::from(10u64), Direction::Received),
            (PaymentId([2; 16]), Amount::from(20u64), Direction::Received)
        ]
    );

    // A note whose amounts do not make the transfer is not believed: one payment, derived id.
    log.offer(2, offered([10, 10]));
    assert!(log.offered_for(2, Amount::from(30u64)).is_none());
    let received = records(
        &log.on_batch(&[latest(state(2, &[[40, 110]]))], None, 6_000)
            .ops,
    );
    let got: Vec<_> = received.iter().map(|r| (r.id, r.amount)).collect();
    assert_eq!(
        got,
        [(PaymentId::derived(&CHANNEL, 2), Amount::from(30u64))]
    );
}

#[test]
fn a_restored_batch_completes_or_ends_whole() {
    let mut log = PaymentLog::new(CHANNEL, 0, false, state(3, &[[100, 50]]));
    let (a, mut b) = (tag(10), tag(20));
    b.id = PaymentId([8; 16]);
    log.restore(4, vec![a.clone(), b.clone()]);
    assert!(log.take_restored(5).is_empty(), "another version");
    let done = records(
        &log.on_batch(&[latest(state(4, &[[70, 80]]))], None, 3_000)
            .ops,
    );
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|r| r.status == PaymentStatus::Completed));
    assert!(
        log.take_restored(4).is_empty(),
        "completed, nothing left to end"
    );

    log.restore(6, vec![a, b]);
    assert_eq!(log.take_restored(6).len(), 2);
}
