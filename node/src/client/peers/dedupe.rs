//! Which of two authenticated connections between the same two nodes survives (pure).
//!
//! When two nodes dial each other at the same moment, each ends up with two connections to the
//! other, one it dialed and one it accepted. Both must keep the *same* one, or each closes the
//! connection the other kept and they are left with none. Neither side can see the other's
//! connection ids or arrival order, so the choice may only depend on what both sides know
//! alike: the two node ids and who dialed each connection.

use crate::wire::{NodeId, Role};

/// Which connection to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The connection already registered for the peer.
    Existing,
    /// The connection that just authenticated.
    Incoming,
}

/// The node that dialed a connection on which this node (`own`) has `role` towards `peer`.
pub fn dialer(own: NodeId, peer: NodeId, role: Role) -> NodeId {
    match role {
        Role::Dialer => own,
        Role::Listener => peer,
    }
}

/// Decides between the registered connection to `peer` (where this node has role `existing`)
/// and one that just authenticated (role `incoming`).
///
/// - Dialed by different nodes (a simultaneous dial): keep the one dialed by the node with the
///   lower [`NodeId`]. The other node computes the same answer from its side, so both keep
///   the same connection.
/// - Dialed by the same node (it reconnected, for example after a restart the other side has
///   not noticed yet): keep the newer one, since the older is most likely dead. Both sides
///   agree unless the dialer opened two connections at once, in which case both may close
///   and the dialer connects again.
pub fn resolve_duplicate(own: NodeId, peer: NodeId, existing: Role, incoming: Role) -> Keep {
    if existing == incoming {
        return Keep::Incoming;
    }
    let lower = own.min(peer);
    if dialer(own, peer, existing) == lower {
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

    #[test]
    fn simultaneous_dial_keeps_the_connection_dialed_by_the_lower_id() {
        let (low, high) = ordered();
        // On the lower node: its own dial (Dialer) beats the accepted one, in either order.
        assert_eq!(
            resolve_duplicate(low, high, Role::Dialer, Role::Listener),
            Keep::Existing
        );
        assert_eq!(
            resolve_duplicate(low, high, Role::Listener, Role::Dialer),
            Keep::Incoming
        );
        // On the higher node: the accepted one (dialed by the lower node) wins.
        assert_eq!(
            resolve_duplicate(high, low, Role::Listener, Role::Dialer),
            Keep::Existing
        );
        assert_eq!(
            resolve_duplicate(high, low, Role::Dialer, Role::Listener),
            Keep::Incoming
        );
    }

    #[test]
    fn a_reconnect_by_the_same_dialer_replaces_the_old_connection() {
        let (low, high) = ordered();
        for (own, peer) in [(low, high), (high, low)] {
            for role in [Role::Dialer, Role::Listener] {
                assert_eq!(resolve_duplicate(own, peer, role, role), Keep::Incoming);
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
            let a_roles = [role(first_dialed_by_a), role(!first_dialed_by_a)];
            let b_roles = [role(!first_dialed_by_a), role(first_dialed_by_a)];
            let kept = |own, peer, roles: [Role; 2], first_first: bool| {
                let (existing, incoming) = if first_first { (0, 1) } else { (1, 0) };
                match resolve_duplicate(own, peer, roles[existing], roles[incoming]) {
                    Keep::Existing => existing,
                    Keep::Incoming => incoming,
                }
            };
            let on_a = kept(a, b, a_roles, a_saw_first_first);
            let on_b = kept(b, a, b_roles, b_saw_first_first);
            prop_assert_eq!(on_a, on_b);
            // And the kept one was dialed by the lower id.
            prop_assert_eq!(dialer(a, b, a_roles[on_a]), a.min(b));
        }
    }
}
