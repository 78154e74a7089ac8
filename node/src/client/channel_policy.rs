//! How a channel task answers the peer's valid updates without asking anyone: an
//! [`IncomingPolicy`] looks at the newest state and the proposed one and decides.
//!
//! The node auto-accepts payments *to* us ([`PaymentsToUs`], the default); anything else is
//! declined by it, or a policy may return [`Decision::Ask`] to leave the update awaiting the
//! API's `Accept`/`Reject` command. [`NodePolicy`] is `[policy]`'s choice, per kind of update,
//! between the node's answer and the user's.

use crate::config::{Answerer, IncomingUpdates};
use parley_plugin_api::model::State;
use std::sync::Arc;
use std::time::Duration;

/// The answer to a peer's valid update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sign and accept it.
    Accept,
    /// Decline it with this reason (sent to the peer).
    Reject(String),
    /// Leave it awaiting an explicit `Accept` or `Reject` command (the user decides through
    /// the API); unanswered `within` this long, it is declined so that the peer is not stuck.
    Ask {
        /// How long the user has to answer.
        within: Duration,
    },
}

/// Decides the peer's updates for a channel. Called on the channel task: must be fast and must
/// not block. `me` is our participant index; `old` is the newest fully signed state and `new`
/// the peer's proposal, which already passed every protocol check (transition and signature).
pub trait IncomingPolicy: Send + Sync + 'static {
    /// The decision on `new`.
    fn decide(&self, me: usize, old: &State, new: &State) -> Decision;
}

impl<F> IncomingPolicy for F
where
    F: Fn(usize, &State, &State) -> Decision + Send + Sync + 'static,
{
    fn decide(&self, me: usize, old: &State, new: &State) -> Decision {
        self(me, old, new)
    }
}

/// A shareable policy, as a channel task takes it.
pub type SharedPolicy = Arc<dyn IncomingPolicy>;

/// The default policy: accepts an update that only moves funds to us (no balance of ours
/// decreases, at least one grows, the app data stays and the state is not final), a move of
/// the channel's app (the app data changes: only an app channel's update can change it, and
/// the protocol let it through only because the app's rules allow it; refusing a valid move
/// would only send the game on chain, where the app allows it too), and the final state of a
/// cooperative settle (the newest state's allocation and app data, marked final), and declines
/// everything else.
#[derive(Clone, Copy, Debug, Default)]
pub struct PaymentsToUs;

/// The reason [`PaymentsToUs`] gives the peer when it declines.
pub const NOT_A_PAYMENT_TO_US: &str =
    "only payments to this node, app moves and cooperative settlement are accepted automatically";

impl IncomingPolicy for PaymentsToUs {
    fn decide(&self, me: usize, old: &State, new: &State) -> Decision {
        if is_payment_to(me, old, new)
            || is_app_move(old, new)
            || is_settlement(old, new)
            || is_tree_change(old, new)
        {
            Decision::Accept
        } else {
            Decision::Reject(NOT_A_PAYMENT_TO_US.to_string())
        }
    }
}

/// The node's `[policy]` for the peer's updates: per kind, [`PaymentsToUs`]'s answer, or the
/// user's within `ask_within` (`[policy] update_timeout_seconds`). A cooperative settle's
/// final state is always the node's to accept.
#[derive(Clone, Copy, Debug)]
pub struct NodePolicy {
    /// Who answers which kind.
    pub incoming: IncomingUpdates,
    /// How long the user has to answer.
    pub ask_within: Duration,
}

impl IncomingPolicy for NodePolicy {
    fn decide(&self, me: usize, old: &State, new: &State) -> Decision {
        let answerer = if is_settlement(old, new) || is_tree_change(old, new) {
            Answerer::Node
        } else if is_payment_to(me, old, new) {
            self.incoming.payments
        } else if is_app_move(old, new) {
            self.incoming.moves
        } else {
            self.incoming.other
        };
        match answerer {
            Answerer::Node => PaymentsToUs.decide(me, old, new),
            Answerer::User => Decision::Ask {
                within: self.ask_within,
            },
        }
    }
}

/// Whether `new` differs from `old` only by funds moving to participant `me`. The totals are
/// already known to be conserved (the protocol checked the transition).
pub fn is_payment_to(me: usize, old: &State, new: &State) -> bool {
    if new.is_final
        || new.app_data != old.app_data
        || new.allocation.locked != old.allocation.locked
    {
        return false;
    }
    let mine = |state: &State| -> Option<Vec<_>> {
        state
            .allocation
            .balances
            .iter()
            .map(|per_participant| per_participant.get(me).copied())
            .collect()
    };
    let (Some(before), Some(after)) = (mine(old), mine(new)) else {
        return false;
    };
    before.len() == after.len()
        && before.iter().zip(&after).all(|(b, a)| a >= b)
        && before.iter().zip(&after).any(|(b, a)| a > b)
}

/// Whether `new` is a move of the channel's app: its app data changed. The protocol refuses
/// any change of the app data in a channel without an app, and in an app channel every change
/// the app's rules refuse, so a valid update that changes it is a legal move.
pub fn is_app_move(old: &State, new: &State) -> bool {
    new.app_data != old.app_data
}

/// Whether `new` locks a sub-channel's funds or merges one back. The protocol lets such an
/// update through only if it is exactly the lock of a sub-channel this node opened (its
/// opening state signed by every participant) or the merge of one whose final state every
/// participant signed: what the node agreed to when it opened or settled the sub-channel, so
/// the node answers it itself.
pub fn is_tree_change(old: &State, new: &State) -> bool {
    new.allocation.locked != old.allocation.locked
}

/// Whether `new` only closes `old`: the same allocation and app data, marked final.
pub fn is_settlement(old: &State, new: &State) -> bool {
    new.is_final
        && !old.is_final
        && new.allocation == old.allocation
        && new.app_data == old.app_data
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::codec::Bytes;
    use parley_plugin_api::model::{Allocation, Amount, ChannelId};

    fn state(mine: u64, theirs: u64, app_data: &[u8], is_final: bool) -> State {
        State {
            channel_id: ChannelId([1; 32]),
            version: 1,
            allocation: Allocation {
                assets: Vec::new(),
                balances: vec![vec![Amount::from(mine), Amount::from(theirs)]],
                locked: Vec::new(),
            },
            app_data: Bytes(app_data.to_vec()),
            is_final,
        }
    }

    const WITHIN: Duration = Duration::from_secs(7);

    fn policy(payments: Answerer, moves: Answerer, other: Answerer) -> NodePolicy {
        NodePolicy {
            incoming: IncomingUpdates {
                payments,
                moves,
                other,
            },
            ask_within: WITHIN,
        }
    }

    #[test]
    fn by_default_the_node_answers_every_kind_as_it_always_did() {
        let node = policy(Answerer::Node, Answerer::Node, Answerer::Node);
        let old = state(5, 5, b"a", false);
        for new in [
            state(6, 4, b"a", false),
            state(4, 6, b"a", false),
            state(5, 5, b"b", false),
            state(5, 5, b"a", true),
        ] {
            assert_eq!(
                node.decide(0, &old, &new),
                PaymentsToUs.decide(0, &old, &new)
            );
        }
    }

    #[test]
    fn each_kind_asks_the_user_only_when_its_key_says_so() {
        let ask = Decision::Ask { within: WITHIN };
        let old = state(5, 5, b"a", false);
        let payment = state(6, 4, b"a", false);
        let app_move = state(5, 5, b"b", false);
        let payout = state(4, 6, b"a", false);
        let settle = state(5, 5, b"a", true);
        let payments = policy(Answerer::User, Answerer::Node, Answerer::Node);
        assert_eq!(payments.decide(0, &old, &payment), ask);
        assert_eq!(payments.decide(0, &old, &app_move), Decision::Accept);
        let moves = policy(Answerer::Node, Answerer::User, Answerer::Node);
        assert_eq!(moves.decide(0, &old, &app_move), ask);
        assert_eq!(moves.decide(0, &old, &payment), Decision::Accept);
        assert_eq!(
            moves.decide(0, &old, &payout),
            Decision::Reject(NOT_A_PAYMENT_TO_US.to_string())
        );
        let other = policy(Answerer::Node, Answerer::Node, Answerer::User);
        assert_eq!(other.decide(0, &old, &payout), ask);
        // A cooperative settle is always the node's to accept.
        let all = policy(Answerer::User, Answerer::User, Answerer::User);
        assert_eq!(all.decide(0, &old, &settle), Decision::Accept);
    }
}
