//! How a channel task answers the peer's valid updates without asking anyone: an
//! [`IncomingPolicy`] looks at the newest state and the proposed one and decides.
//!
//! The node auto-accepts payments *to* us ([`PaymentsToUs`], the default); anything else is
//! declined by it, or a policy may return [`Decision::Ask`] to leave the update awaiting the
//! API's `Accept`/`Reject` command.

use parley_plugin_api::model::State;
use std::sync::Arc;

/// The answer to a peer's valid update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sign and accept it.
    Accept,
    /// Decline it with this reason (sent to the peer).
    Reject(String),
    /// Leave it awaiting an explicit `Accept` or `Reject` command (the API decides).
    Ask,
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
        if is_payment_to(me, old, new) || is_app_move(old, new) || is_settlement(old, new) {
            Decision::Accept
        } else {
            Decision::Reject(NOT_A_PAYMENT_TO_US.to_string())
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

/// Whether `new` only closes `old`: the same allocation and app data, marked final.
pub fn is_settlement(old: &State, new: &State) -> bool {
    new.is_final
        && !old.is_final
        && new.allocation == old.allocation
        && new.app_data == old.app_data
}
