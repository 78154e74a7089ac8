//! Which of two authenticated connections between the same two nodes survives (pure).
//!
//! Two cases make a node hold two connections to one peer, and they need opposite answers:
//!
//! - **A simultaneous dial.** Both nodes dialed each other at the same moment; each holds two
//!   live connections, one it dialed and one it accepted. Both must keep the *same* one, or
//!   each closes the connection the other kept and they are left with none. Neither side sees
//!   the other's connection ids or arrival order, so the choice may only depend on what both
//!   sides know alike: the two node ids and who dialed each connection.
//! - **A restart.** The peer's process was killed and started again and dialed back, while
//!   this node still holds the connection of the dead process (nothing told it so). That one
//!   must never win over the live one, or payments stop until something finds it dead.
//!
//! The handshake tells them apart: every nonce a node signs starts with its [`Incarnation`],
//! drawn once per run of its process. A connection whose peer has another incarnation than
//! the newcomer's belongs to a process that is gone, so the newcomer wins at once. Both sides
//! still agree: the restarted node has only connections of this node's one incarnation, so it
//! decides by the simultaneous-dial rules alone, and so does this node among the connections
//! of the peer's new incarnation.
//!
//! A connection that died while both processes lived on (a network cut only the peer noticed)
//! carries the same incarnation as the newcomer; the driver probes the one kept (see
//! `liveness`), so it gives way within a short grace if it is dead.

use crate::wire::{Incarnation, NodeId, Role};

/// Which connection to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The connection already registered for the peer.
    Existing,
    /// The connection that just authenticated.
    Incoming,
}

/// One of the two connections, as this node knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// This node's end of the connection.
    pub role: Role,
    /// The incarnation of the peer that authenticated on it.
    pub incarnation: Incarnation,
}

/// The node that dialed a connection on which this node (`own`) has `role` towards `peer`.
pub fn dialer(own: NodeId, peer: NodeId, role: Role) -> NodeId {
    match role {
        Role::Dialer => own,
        Role::Listener => peer,
    }
}

/// Decides between the registered connection to `peer` (`existing`) and one that just
/// authenticated (`incoming`):
///
/// - The peer's incarnations differ: it restarted, and the existing connection died with its
///   earlier process (handshakes complete in the order they happen, so the incoming one is
///   the newer process): keep the incoming one.
/// - Dialed by different nodes (a simultaneous dial): keep the one dialed by the node with the
///   lower [`NodeId`]. The other node computes the same answer from its side, so both keep
///   the same connection.
/// - Dialed by the same node (it reconnected): keep the newer one, since the older is most
///   likely dead. Both sides agree unless the dialer opened two connections at once, in which
///   case both may close and the dialer connects again.
pub fn resolve_duplicate(
    own: NodeId,
    peer: NodeId,
    existing: Candidate,
    incoming: Candidate,
) -> Keep {
    if existing.incarnation != incoming.incarnation || existing.role == incoming.role {
        return Keep::Incoming;
    }
    if dialer(own, peer, existing.role) == own.min(peer) {
        Keep::Existing
    } else {
        Keep::Incoming
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeKey;
    use proptest::prelude::*;

    fn id(n: u8) -> NodeId {
        NodeKey::from_secret_bytes(&[n; 32]).unwrap().node_id()
    }

    fn ordered() -> (NodeId, NodeId) {
        let (a, b) = (id(1), id(2));
        (a.min(b), a.max(b))
    }

    fn seen(role: Role, incarnation: u8) -> Candidate {
        Candidate {
            role,
            incarnation: Incarnation([incarnation; 16]),
        }
    }

    #[test]
    fn simultaneous_dial_keeps_the_connection_dialed_by_the_lower_id() {
        let (low, high) = ordered();
        let (dialer, listener) = (seen(Role::Dialer, 1), seen(Role::Listener, 1));
        // On the lower node: its own dial (Dialer) beats the accepted one, in either order.
        assert_eq!(
            resolve_duplicate(low, high, dialer, listener),
            Keep::Existing
        );
        assert_eq!(
            resolve_duplicate(low, high, listener, dialer),
            Keep::Incoming
        );
        // On the higher node: the accepted one (dialed by the lower node) wins.
        assert_eq!(
            resolve_duplicate(high, low, listener, dialer),
            Keep::Existing
        );
        assert_eq!(
            resolve_duplicate(high, low, dialer, listener),
            Keep::Incoming
        );
    }

    #[test]
    fn a_reconnect_by_the_same_dialer_replaces_the_old_connection() {
        let (low, high) = ordered();
        for (own, peer) in [(low, high), (high, low)] {
            for role in [Role::Dialer, Role::Listener] {
                assert_eq!(
                    resolve_duplicate(own, peer, seen(role, 1), seen(role, 1)),
                    Keep::Incoming
                );
            }
        }
    }

    #[test]
    fn a_connection_of_the_peers_earlier_incarnation_never_wins() {
        // The case `dedupe` once got wrong: this node has the lower id and dialed the old
        // connection itself, so by the simultaneous-dial rule alone the dead one would win.
        let (low, high) = ordered();
        for (own, peer) in [(low, high), (high, low)] {
            for old_role in [Role::Dialer, Role::Listener] {
                for new_role in [Role::Dialer, Role::Listener] {
                    assert_eq!(
                        resolve_duplicate(own, peer, seen(old_role, 1), seen(new_role, 2)),
                        Keep::Incoming,
                        "own is lower: {}, old {old_role:?}, new {new_role:?}",
                        own == low
                    );
                }
            }
        }
    }

    fn role(dialer: bool) -> Role {
        if dialer {
            Role::Dialer
        } else {
            Role::Listener
        }
    }

    /// The connection a node ends with after authenticating `connections` in that order, each
    /// `(id, its candidate)`: the first is registered, every later one is resolved against the
    /// one registered.
    fn survivor(own: NodeId, peer: NodeId, connections: &[(usize, Candidate)]) -> usize {
        let (mut kept, mut kept_seen) = connections[0];
        for &(connection, candidate) in &connections[1..] {
            if resolve_duplicate(own, peer, kept_seen, candidate) == Keep::Incoming {
                (kept, kept_seen) = (connection, candidate);
            }
        }
        kept
    }

    proptest! {
        /// Both nodes hold the same two connections (seen with opposite roles) and must keep
        /// the same one, whichever of the two each side authenticated first.
        #[test]
        fn both_sides_keep_the_same_connection(
            a in 1u8..=254, b in 1u8..=254,
            first_dialed_by_a in any::<bool>(),
            a_saw_first_first in any::<bool>(),
            b_saw_first_first in any::<bool>(),
        ) {
            prop_assume!(a != b);
            let (a, b) = (id(a), id(b));
            // Connection 0 is dialed by A iff `first_dialed_by_a`; connection 1 by the other.
            // Each side sees the other's one incarnation on both.
            let on_a = [seen(role(first_dialed_by_a), 2), seen(role(!first_dialed_by_a), 2)];
            let on_b = [seen(role(!first_dialed_by_a), 1), seen(role(first_dialed_by_a), 1)];
            let order = |first_first: bool| if first_first { [0, 1] } else { [1, 0] };
            let kept = |own, peer, seen: [Candidate; 2], first_first: bool| {
                let [x, y] = order(first_first);
                survivor(own, peer, &[(x, seen[x]), (y, seen[y])])
            };
            let kept_a = kept(a, b, on_a, a_saw_first_first);
            let kept_b = kept(b, a, on_b, b_saw_first_first);
            prop_assert_eq!(kept_a, kept_b);
            // And the kept one was dialed by the lower id.
            prop_assert_eq!(dialer(a, b, on_a[kept_a].role), a.min(b));
        }

        /// The survivor S holds the dead connection 0 of the victim V's earlier incarnation
        /// (dialed by either). V, restarted, dials S (connection 1); S may dial V at the same
        /// moment (connection 2). Whatever the ids and the order each side authenticates in,
        /// both end with the same live connection: never the dead one.
        #[test]
        fn after_a_restart_both_sides_keep_the_same_live_connection(
            s in 1u8..=254, v in 1u8..=254,
            survivor_dialed_the_old_one in any::<bool>(),
            survivor_dials_too in any::<bool>(),
            survivor_sees_new_in_order in any::<bool>(),
            victim_sees_new_in_order in any::<bool>(),
        ) {
            prop_assume!(s != v);
            let (s, v) = (id(s), id(v));
            // Incarnations: S is 1 throughout; V was 2 and is 3 since its restart.
            let old = (0, seen(role(survivor_dialed_the_old_one), 2));
            let mut on_s = vec![(1, seen(Role::Listener, 3))];
            let mut on_v = vec![(1, seen(Role::Dialer, 1))];
            if survivor_dials_too {
                on_s.push((2, seen(Role::Dialer, 3)));
                on_v.push((2, seen(Role::Listener, 1)));
            }
            if !survivor_sees_new_in_order {
                on_s.reverse();
            }
            if !victim_sees_new_in_order {
                on_v.reverse();
            }
            on_s.insert(0, old);
            let kept_s = survivor(s, v, &on_s);
            let kept_v = survivor(v, s, &on_v);
            prop_assert_ne!(kept_s, 0, "the survivor kept the dead connection");
            prop_assert_eq!(kept_s, kept_v);
        }
    }
}
