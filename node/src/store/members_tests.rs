use super::*;
use crate::store::node_records::{link_key, link_op};
use crate::store::schema::{ops_for, SCHEMA_KEY};
use crate::store::test_support::snapshot;
use crate::wire::NodeKey;

fn node(n: u8) -> NodeId {
    NodeKey::from_secret_bytes(&[n; 32]).unwrap().node_id()
}

fn pair(op: WriteOp) -> (Vec<u8>, Vec<u8>) {
    match op {
        WriteOp::Put { key, value } => (key.0, value.0),
        other => panic!("expected a put, got {other:?}"),
    }
}

/// The pairs a scan of `ch/` returns for `channels`, in key order.
fn channel_pairs(channels: &[&crate::protocol::ChannelSnapshot]) -> Pairs {
    let mut pairs: Pairs = channels
        .iter()
        .flat_map(|c| ops_for(&c.channel.channel_id, &c.to_records()))
        .filter(|op| matches!(op, WriteOp::Put { .. }))
        .map(pair)
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn a_channel_is_complete_only_when_every_other_participant_has_a_node() {
    let three = |nodes| ChannelMembers { nodes };
    assert!(three(vec![Some(node(1)), None, Some(node(3))]).complete());
    assert!(
        !three(vec![Some(node(1)), None, None]).complete(),
        "one node unknown"
    );
    assert!(ChannelMembers::two_party(0, node(2)).complete());
    assert!(
        !ChannelMembers::default().complete(),
        "a lost record knows nobody"
    );
}

#[test]
fn members_map_each_participant_to_its_node_both_ways() {
    let members = ChannelMembers {
        nodes: vec![Some(node(1)), None, Some(node(3))],
    };
    assert_eq!(members.node_of(0), Some(node(1)));
    assert_eq!(members.node_of(1), None, "our own index has no node");
    assert_eq!(members.node_of(7), None);
    assert_eq!(members.index_of(&node(3)), Some(2));
    assert_eq!(members.index_of(&node(2)), None);
    assert!(members.contains(&node(1)) && !members.contains(&node(2)));
    assert_eq!(members.peer(), None, "three parties have no single peer");
    let two = ChannelMembers::two_party(1, node(4));
    assert_eq!(two.nodes, vec![Some(node(4)), None]);
    assert_eq!(two.peer(), Some(node(4)));
    assert_eq!(
        ChannelMembers::two_party(0, node(4)).index_of(&node(4)),
        Some(1)
    );
}

#[test]
fn members_round_trip_and_garbage_is_reported_not_fatal() {
    let (a, b) = (ChannelId([1; 32]), ChannelId([2; 32]));
    let three = ChannelMembers {
        nodes: vec![None, Some(node(2)), Some(node(3))],
    };
    let mut pairs = vec![
        pair(members_op(&a, &ChannelMembers::two_party(0, node(1)))),
        pair(members_op(&b, &three)),
    ];
    pairs.push((b"memb/short".to_vec(), three.encode()));
    pairs.push((members_key(&ChannelId([3; 32])), vec![1, 2, 3]));
    let (members, broken) = decode_members(&pairs);
    assert_eq!(members.len(), 2);
    assert_eq!(members[&a].peer(), Some(node(1)));
    assert_eq!(members[&b], three);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert_eq!(members_delete_op(&a).key(), members_key(&a).as_slice());
}

#[test]
fn migrating_from_v2_turns_each_link_into_two_party_members_in_one_batch() {
    // Our index is read from each channel's record: 0 in one channel, 1 in the other.
    let mut first = snapshot(1, 4, false);
    first.channel.my_index = 0;
    let mut second = snapshot(2, 9, false);
    second.channel.my_index = 1;
    let (first_id, second_id) = (first.channel.channel_id, second.channel.channel_id);
    let orphan = ChannelId([9; 32]);
    let links: Pairs = vec![
        pair(link_op(&first_id, &node(1))),
        pair(link_op(&second_id, &node(2))),
        pair(link_op(&orphan, &node(3))),
    ];
    let ops = migrate_from_v2(&channel_pairs(&[&first, &second]), &links);

    let puts: Pairs = ops
        .iter()
        .filter(|op| matches!(op, WriteOp::Put { .. }))
        .cloned()
        .map(pair)
        .collect();
    let (members, broken) = decode_members(
        &puts
            .iter()
            .filter(|(key, _)| key.starts_with(MEMBERS_PREFIX))
            .cloned()
            .collect(),
    );
    assert!(broken.is_empty());
    assert_eq!(members.len(), 2, "a link without a channel is dropped");
    assert_eq!(members[&first_id].nodes, vec![None, Some(node(1))]);
    assert_eq!(members[&second_id].nodes, vec![Some(node(2)), None]);
    for id in [first_id, second_id, orphan] {
        assert!(
            ops.iter()
                .any(|op| matches!(op, WriteOp::Delete { key } if key.0 == link_key(&id))),
            "the link of {id} stays"
        );
    }
    let last = ops.last().unwrap();
    assert_eq!(last.key(), SCHEMA_KEY);
    assert_eq!(pair(last.clone()).1, 3u32.to_be_bytes().to_vec());
}

#[test]
fn migrating_an_empty_v2_store_only_writes_the_version() {
    let ops = migrate_from_v2(&Vec::new(), &Vec::new());
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].key(), SCHEMA_KEY);
}
