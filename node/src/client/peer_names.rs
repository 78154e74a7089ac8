//! How log lines name peers: by the alias the user gave with `peer add`, so that an operator
//! reads "bob disconnected" rather than a 66-digit id.
//!
//! The [`PeerBook`](super::book::PeerBook) owns the aliases; it shares this read-mostly copy
//! with the connection layer, which must not depend on the book (it knows peers only by id)
//! but logs their connections. Every line that names a peer carries both fields: `peer` (the
//! alias, or the id cut short for a peer never named) for people, `peer_id` (whole) for
//! machines and grep.

use crate::wire::NodeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// The aliases of the named peers, shared between the book and the connection layer.
#[derive(Clone, Debug, Default)]
pub struct PeerNames(Arc<RwLock<HashMap<NodeId, String>>>);

impl PeerNames {
    /// Names `peer` `alias` from now on.
    pub fn set(&self, peer: NodeId, alias: &str) {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(peer, alias.to_owned());
    }

    /// The alias the user gave `peer`, if any.
    pub fn alias(&self, peer: &NodeId) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(peer)
            .cloned()
    }

    /// What a log line calls `peer`.
    pub fn of(&self, peer: &NodeId) -> PeerName {
        let names = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match names.get(peer) {
            Some(alias) => PeerName(alias.clone()),
            None => PeerName(short(peer)),
        }
    }
}

/// A peer as a log line names it: its alias, or for a peer the user never named the start of
/// its id (`0x02ab12cd…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerName(String);

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `0x` and the first 8 digits of the id, then `…`.
fn short(peer: &NodeId) -> String {
    let text = peer.to_string();
    match text.get(..10) {
        Some(head) => format!("{head}…"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeKey;

    #[test]
    fn a_named_peer_is_called_by_its_alias_and_another_by_the_start_of_its_id() {
        let names = PeerNames::default();
        let (bob, carol) = (
            NodeKey::generate().unwrap().node_id(),
            NodeKey::generate().unwrap().node_id(),
        );
        names.set(bob, "bob");
        assert_eq!(names.of(&bob).to_string(), "bob");
        let unnamed = names.of(&carol).to_string();
        assert!(unnamed.ends_with('…'), "{unnamed}");
        assert!(carol.to_string().starts_with(unnamed.trim_end_matches('…')));
        // A clone shares the names: the book names, the connection layer reads.
        let shared = names.clone();
        names.set(carol, "carol");
        assert_eq!(shared.of(&carol).to_string(), "carol");
    }
}
