use super::*;
use crate::protocol::{Phase, RestoreError, SignedRecord};
use crate::store::proposal::Proposer;
use crate::store::test_support::{
    channel_id, channel_record, pending, sig, signed, snapshot, state, stored_proposal,
};
use parley_plugin_api::codec::DecodeError;
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Applies writes to a map the way a store does.
fn apply(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, ops: &[WriteOp]) {
    for op in ops {
        match op {
            WriteOp::Put { key, value } => {
                map.insert(key.to_vec(), value.to_vec());
            }
            WriteOp::Delete { key } => {
                map.remove(&key.0);
            }
        }
    }
}

fn pairs(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn stored(records: &[PersistRecord]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut map = BTreeMap::new();
    apply(&mut map, &ops_for(&channel_id(1), records));
    pairs(&map)
}

#[test]
fn channel_keys_have_the_documented_layout() {
    let id = channel_id(0x0102_0304);
    let key = channel_key(&id, Slot::Pending);
    assert_eq!(key.len(), 37);
    assert_eq!(&key[..3], b"ch/");
    assert_eq!(&key[3..35], &id.0);
    assert_eq!(&key[35..], &[b'/', 2]);
    assert!(key.starts_with(&channel_prefix(&id)));
    assert_eq!(parse_channel_key(&key), Some((id, 2)));
    assert_eq!(
        describe_key(&key),
        format!("ch/0x{}/pending", hex::encode(id.0))
    );
}

#[test]
fn malformed_channel_keys_do_not_parse() {
    let key = channel_key(&channel_id(1), Slot::Latest);
    assert_eq!(parse_channel_key(&key[..36]), None);
    let mut longer = key.clone();
    longer.push(0);
    assert_eq!(parse_channel_key(&longer), None);
    let mut separator = key.clone();
    separator[35] = b'-';
    assert_eq!(parse_channel_key(&separator), None);
    let mut prefix = key;
    prefix[0] = b'x';
    assert_eq!(parse_channel_key(&prefix), None);
}

#[test]
fn slots_match_record_tags() {
    for record in snapshot(1, 3, true).to_records() {
        let slot = Slot::of(&record);
        assert_eq!(record.encode()[0], slot as u8, "{slot}");
        assert_eq!(Slot::from_byte(slot as u8), Some(slot));
    }
    assert_eq!(Slot::from_byte(6), None);
}

#[test]
fn proposal_keys_round_trip() {
    let id = ProposalId([9; 32]);
    let key = proposal_key(&id);
    assert_eq!(&key[..5], b"prop/");
    assert_eq!(key.len(), 37);
    assert_eq!(parse_proposal_key(&key), Some(id));
    assert_eq!(parse_proposal_key(&key[..36]), None);
    assert_eq!(describe_key(&key), format!("prop/{id}"));
    assert_eq!(describe_key(b"meta/schema"), "meta/schema");
    assert_eq!(describe_key(&[0, 255]), "0x00ff");
}

#[test]
fn the_schema_version_is_checked() {
    assert_eq!(schema_op().key(), SCHEMA_KEY);
    assert_eq!(check_schema(&SCHEMA_VERSION.to_be_bytes()).unwrap(), 5);
    // Versions 1 and 2 are migrated by the caller (version 1's closed channels go to the
    // archive, version 2's peer links become members).
    assert_eq!(check_schema(&1u32.to_be_bytes()).unwrap(), 1);
    assert_eq!(check_schema(&2u32.to_be_bytes()).unwrap(), 2);
    assert_eq!(check_schema(&3u32.to_be_bytes()).unwrap(), 3);
    assert_eq!(check_schema(&4u32.to_be_bytes()).unwrap(), 4);
    assert_eq!(schema_op_of(2).key(), SCHEMA_KEY);
    let newer = check_schema(&6u32.to_be_bytes()).unwrap_err();
    assert!(matches!(
        newer,
        StoreError::NewerSchema {
            found: 6,
            supported: 5
        }
    ));
    assert!(newer.to_string().contains("version 6") && newer.to_string().contains("version 5"));
    assert!(matches!(
        check_schema(&0u32.to_be_bytes()),
        Err(StoreError::OlderSchema {
            found: 0,
            supported: 5
        })
    ));
    assert!(matches!(
        check_schema(&[1]),
        Err(StoreError::MalformedSchema { len: 1 })
    ));
}

#[test]
fn ops_keep_the_newest_record_of_each_slot_in_slot_order() {
    let id = channel_id(1);
    let records = [
        PersistRecord::Phase(Phase::Funding),
        PersistRecord::Latest(signed(1, 1)),
        PersistRecord::Opened(channel_record(1)),
        PersistRecord::Latest(signed(1, 2)),
        PersistRecord::Phase(Phase::Active),
    ];
    let ops = ops_for(&id, &records);
    assert_eq!(
        ops,
        vec![
            WriteOp::put(channel_key(&id, Slot::Channel), records[2].encode()),
            WriteOp::put(channel_key(&id, Slot::Latest), records[3].encode()),
            WriteOp::put(channel_key(&id, Slot::Phase), records[4].encode()),
        ]
    );
}

#[test]
fn an_empty_pending_slot_is_a_delete() {
    let id = channel_id(1);
    assert_eq!(
        ops_for(&id, &[PersistRecord::Pending(None)]),
        vec![WriteOp::delete(channel_key(&id, Slot::Pending))]
    );
    let with = stored(&snapshot(1, 3, true).to_records());
    let without = stored(&snapshot(1, 3, false).to_records());
    assert_eq!(with.len(), 4);
    assert_eq!(without.len(), 3, "no key for an empty pending slot");
    assert_eq!(remove_ops(&id).len(), Slot::ALL.len());
}

#[test]
fn ledger_funding_is_no_key_so_older_stores_read_unchanged() {
    let id = channel_id(1);
    assert_eq!(
        ops_for(&id, &[PersistRecord::Funding(Funding::Ledger)]),
        vec![WriteOp::delete(channel_key(&id, Slot::Funding))]
    );
    // What a store written before the funding slot holds: no funding key at all.
    let ledger = snapshot(1, 3, true);
    let pairs = stored(&ledger.to_records());
    assert!(pairs
        .iter()
        .all(|(key, _)| *key != channel_key(&id, Slot::Funding)));
    assert_eq!(
        decode_channel(&id, &pairs).unwrap().funding,
        Funding::Ledger
    );
}

#[test]
fn a_sub_channel_restores_with_its_funding_from_its_own_slot() {
    let id = channel_id(1);
    let mut sub = snapshot(1, 3, false);
    sub.funding = Funding::SubChannel {
        parent: channel_id(2),
    };
    let pairs = stored(&sub.to_records());
    assert!(pairs
        .iter()
        .any(|(key, _)| *key == channel_key(&id, Slot::Funding)));
    assert_eq!(decode_channel(&id, &pairs).unwrap(), sub);
    assert_eq!(salvage_channel(&id, &pairs).unwrap().funding, sub.funding);

    // An unreadable funding slot: a ledger channel is salvaged as ledger-funded, a
    // sub-channel is not salvaged at all (its parent is unknown).
    let mut broken = pairs.clone();
    for (key, value) in broken.iter_mut() {
        if *key == channel_key(&id, Slot::Funding) {
            *value = vec![4, 9];
        }
    }
    assert!(decode_channel(&id, &broken).is_err());
    assert_eq!(
        salvage_channel(&id, &broken).unwrap().funding,
        Funding::Ledger
    );
    let mut sub_params = broken.clone();
    let mut record = sub.channel.clone();
    record.params.ledger_channel = false;
    for (key, value) in sub_params.iter_mut() {
        if *key == channel_key(&id, Slot::Channel) {
            *value = PersistRecord::Opened(record.clone()).encode();
        }
    }
    assert_eq!(salvage_channel(&id, &sub_params), None);
}

#[test]
fn snapshots_round_trip_through_their_keys() {
    for with_pending in [false, true] {
        let snapshot = snapshot(1, 7, with_pending);
        let pairs = stored(&snapshot.to_records());
        assert_eq!(decode_channel(&channel_id(1), &pairs).unwrap(), snapshot);
    }
}

#[test]
fn each_store_rule_has_its_error() {
    let id = channel_id(1);
    let good = stored(&snapshot(1, 3, true).to_records());

    let foreign = vec![(channel_key(&channel_id(2), Slot::Latest), good[1].1.clone())];
    assert!(matches!(
        decode_channel(&id, &foreign),
        Err(StoreError::KeyOfOtherChannel { .. })
    ));

    let mut unknown = good.clone();
    unknown.push((channel_prefix(&id).into_iter().chain([9]).collect(), vec![]));
    assert!(matches!(
        decode_channel(&id, &unknown),
        Err(StoreError::UnknownSlot { slot: 9, .. })
    ));

    let mut malformed = good.clone();
    malformed[1].1.push(0);
    assert!(matches!(
        decode_channel(&id, &malformed),
        Err(StoreError::MalformedRecord {
            slot: Slot::Latest,
            source: DecodeError::TrailingBytes(1),
            ..
        })
    ));

    let mut swapped = good.clone();
    swapped[3].1 = PersistRecord::Latest(signed(1, 3)).encode();
    assert!(matches!(
        decode_channel(&id, &swapped),
        Err(StoreError::RecordInWrongSlot {
            slot: Slot::Phase,
            found: Slot::Latest,
            ..
        })
    ));

    let mut filed_wrong = good.clone();
    filed_wrong[0].1 = PersistRecord::Opened(channel_record(2)).encode();
    let error = decode_channel(&id, &filed_wrong).unwrap_err();
    assert!(
        matches!(error, StoreError::RecordOfOtherChannel { channel, found }
            if channel == id && found == channel_id(2)),
        "{error}"
    );

    let no_latest: Vec<_> = good
        .iter()
        .filter(|(k, _)| parse_channel_key(k).map(|(_, s)| s) != Some(Slot::Latest as u8))
        .cloned()
        .collect();
    let error = decode_channel(&id, &no_latest).unwrap_err();
    assert!(matches!(
        error,
        StoreError::Inconsistent {
            source: RestoreError::MissingLatest,
            ..
        }
    ));
    assert!(error.to_string().contains(&id.to_string()), "{error}");
}

#[test]
fn a_scan_is_split_per_channel() {
    let mut map = BTreeMap::new();
    for n in [3, 1, 2] {
        apply(
            &mut map,
            &ops_for(&channel_id(n), &snapshot(n, 2, n == 2).to_records()),
        );
    }
    map.insert(b"ch/short".to_vec(), vec![1]);
    let groups = group_channels(pairs(&map));
    assert_eq!(groups.stray_keys, vec![b"ch/short".to_vec()]);
    let ids: Vec<_> = groups.channels.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![channel_id(1), channel_id(2), channel_id(3)]);
    for (id, pairs) in &groups.channels {
        let n = u32::from_be_bytes(id.0[..4].try_into().unwrap());
        assert_eq!(decode_channel(id, pairs).unwrap(), snapshot(n, 2, n == 2));
    }
}

#[test]
fn proposals_round_trip_and_are_checked() {
    for proposer in [Proposer::Us, Proposer::Peer] {
        let proposal = stored_proposal(4, proposer);
        let op = proposal_put_op(&proposal);
        let WriteOp::Put { key, value } = &op else {
            panic!("a put")
        };
        assert_eq!(decode_proposal(key, value).unwrap(), proposal);
    }
    let proposal = stored_proposal(4, Proposer::Us);
    let value = proposal.encode();
    assert!(matches!(
        decode_proposal(b"prop/short", &value),
        Err(StoreError::MalformedProposalKey { .. })
    ));
    let mut bad_tag = value.clone();
    *bad_tag.last_mut().unwrap() = 2;
    assert!(matches!(
        decode_proposal(&proposal_key(&ProposalId([4; 32])), &bad_tag),
        Err(StoreError::MalformedProposal {
            source: DecodeError::InvalidTag {
                what: "proposer",
                tag: 2
            },
            ..
        })
    ));
    assert!(matches!(
        decode_proposal(&proposal_key(&ProposalId([5; 32])), &value),
        Err(StoreError::ProposalUnderOtherId { .. })
    ));
    assert_eq!(
        proposal_delete_op(&ProposalId([4; 32])),
        WriteOp::delete(proposal_key(&ProposalId([4; 32])))
    );
}

fn record() -> impl Strategy<Value = PersistRecord> {
    let phase = prop_oneof![
        Just(Phase::Opening),
        Just(Phase::Funding),
        Just(Phase::Active),
        Just(Phase::Closing),
        Just(Phase::Closed),
    ];
    prop_oneof![
        Just(PersistRecord::Opened(channel_record(1))),
        (0..50u64, vec(proptest::option::of(0..3u8), 0..3)).prop_map(|(version, sigs)| {
            PersistRecord::Latest(SignedRecord {
                state: state(1, version),
                sigs: sigs
                    .into_iter()
                    .map(|s| s.map(|s| sig(s, version)))
                    .collect(),
            })
        }),
        proptest::option::of(0..50u64)
            .prop_map(|v| PersistRecord::Pending(v.map(|v| pending(1, v)))),
        phase.prop_map(PersistRecord::Phase),
    ]
}

proptest! {
    /// Keeping one key per slot restores exactly what replaying every record would.
    #[test]
    fn slots_restore_what_the_record_log_does(
        batches in vec(vec(record(), 0..5), 0..6)
    ) {
        let mut map = BTreeMap::new();
        for batch in &batches {
            apply(&mut map, &ops_for(&channel_id(1), batch));
        }
        let log: Vec<PersistRecord> = batches.concat();
        let expected = ChannelSnapshot::from_records(&log);
        let decoded = decode_channel(&channel_id(1), &pairs(&map));
        match (decoded, expected) {
            (Ok(got), Ok(want)) => prop_assert_eq!(got, want),
            (Err(StoreError::Inconsistent { source, .. }), Err(want)) => {
                prop_assert_eq!(source, want)
            }
            (got, want) => prop_assert!(false, "decoded {got:?}, the log gives {want:?}"),
        }
    }

    #[test]
    fn arbitrary_values_never_panic(slot in 0..6u8, value in vec(any::<u8>(), 0..120)) {
        let id = channel_id(1);
        let key: Vec<u8> = channel_prefix(&id).into_iter().chain([slot]).collect();
        let _ = decode_channel(&id, &[(key, value.clone())]);
        let _ = decode_proposal(&proposal_key(&ProposalId([1; 32])), &value);
    }
}

#[test]
fn a_damaged_channel_is_salvaged_only_with_a_readable_fully_signed_state() {
    let id = channel_id(1);
    let put = |pairs: &mut Vec<(Vec<u8>, Vec<u8>)>, slot: Slot, value: Vec<u8>| {
        let key = channel_key(&id, slot);
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, value));
    };
    // A broken pending slot: the rest is kept, the pending update dropped.
    let mut pairs = stored(&snapshot(1, 3, true).to_records());
    put(&mut pairs, Slot::Pending, vec![2, 0xff]);
    assert!(decode_channel(&id, &pairs).is_err());
    assert_eq!(salvage_channel(&id, &pairs), Some(snapshot(1, 3, false)));
    // An unreadable phase: watched as an active channel (or closing, for a final state).
    put(&mut pairs, Slot::Phase, vec![3, 99]);
    assert_eq!(
        salvage_channel(&id, &pairs).map(|s| s.phase),
        Some(Phase::Active)
    );
    let mut last = signed(1, 4);
    last.state.is_final = true;
    put(
        &mut pairs,
        Slot::Latest,
        PersistRecord::Latest(last).encode(),
    );
    assert_eq!(
        salvage_channel(&id, &pairs).map(|s| s.phase),
        Some(Phase::Closing)
    );
    // Nothing to defend without a fully signed state or the channel's own record.
    let mut half = signed(1, 4);
    half.sigs[1] = None;
    put(
        &mut pairs,
        Slot::Latest,
        PersistRecord::Latest(half).encode(),
    );
    assert_eq!(salvage_channel(&id, &pairs), None);
    let mut no_channel = stored(&snapshot(1, 3, false).to_records());
    put(&mut no_channel, Slot::Channel, vec![0, 1]);
    assert_eq!(salvage_channel(&id, &no_channel), None);
}
