//! App channels: the app's rules on every update, and moves made by people as JSON.
//!
//! A channel whose parameters name an app runs by that app's rules, which the driver attaches
//! from the node's apps ([`Channel::attach_app`] after a restore; [`Channel::open_with_apps`]
//! checks the opening state with them). Every update of such a channel, ours or another's,
//! passes [`check_app_transition`] with the proposer as the actor; the final state that closes
//! the channel as it stands needs no move. Without the rules (the app left `node.toml`) the
//! channel takes no move, only that close, and disputes as any channel.

use super::{Channel, ChannelError, Effect};
use crate::protocol::app_rules::{AppLookup, AppRules};
use crate::protocol::signer::StateSigner;
use crate::protocol::transition::{check_app_transition, check_transition, TransitionError};
use parley_plugin_api::model::{Address, State};

impl Channel {
    /// Attaches the rules of the channel's app from `apps` (a payment channel has none).
    pub fn attach_app(&mut self, apps: &dyn AppLookup) {
        if let Some(address) = &self.record.params.app {
            self.app = AppRules::new(apps.rules(address));
        }
    }

    /// The address of the channel's app, if it runs one.
    pub fn app_address(&self) -> Option<&Address> {
        self.record.params.app.as_ref()
    }

    /// Whether `next` may follow the newest state when participant `actor` proposes it: the
    /// payment rules, or for an app channel the app's.
    ///
    /// `next` may skip spent versions: it is checked against the newest state renumbered to
    /// its predecessor (`predecessor_of`), so the rules (and an app) see one step.
    pub(super) fn check_next(&self, next: &State, actor: usize) -> Result<(), TransitionError> {
        let previous = self.predecessor_of(next);
        if next.allocation.locked != previous.allocation.locked {
            // A lock or merge of a sub-channel (`children.rs`), after the rules every update
            // keeps.
            crate::protocol::transition::check_succession(&self.record.params, &previous, next)?;
            return self.check_tree_change(next);
        }
        let params = &self.record.params;
        match self.app.app() {
            // Without an app, or without its rules: only what needs no app (for an app
            // channel, the close as it stands; `check_transition` says so).
            None => check_transition(params, &previous, next),
            Some(app) => {
                // A participant index fits u16: a channel has at most a few participants.
                check_app_transition(params, &previous, next, app, actor as u16)
            }
        }
    }

    /// The state after our move `action` (JSON, as the app takes it), checked and proposed like
    /// any update: signed, persisted, sent to every other participant.
    pub fn app_move(
        &mut self,
        action: &str,
        signer: &(impl StateSigner + ?Sized),
    ) -> Result<Vec<Effect>, ChannelError> {
        let app = self.rules_for_move()?;
        let me = self.my_index() as u16;
        let next = app
            .apply(&self.record.params, &self.latest, action, me)
            .map_err(|error| ChannelError::MoveRefused {
                reason: error.message().to_string(),
            })?;
        self.propose_update(next, signer)
    }

    /// The newest state as the app describes it (JSON), if the channel runs an app whose rules
    /// this node has.
    pub fn describe_app(&self) -> Option<Result<String, String>> {
        let app = self.app.app()?;
        Some(
            app.describe(&self.record.params, &self.latest)
                .map_err(|error| error.message().to_string()),
        )
    }

    /// The rules a move needs, or why there are none.
    fn rules_for_move(&self) -> Result<&dyn parley_plugin_api::App, ChannelError> {
        let channel = self.record.channel_id;
        let Some(address) = &self.record.params.app else {
            return Err(ChannelError::NotAnAppChannel { channel });
        };
        self.app.app().ok_or_else(|| ChannelError::AppUnavailable {
            channel,
            app: address.clone(),
        })
    }

    /// Refuses a payment in an app channel: its funds move by the app's moves only.
    pub(super) fn refuse_payment_in_app(&self) -> Result<(), ChannelError> {
        match self.record.params.app {
            Some(_) => Err(ChannelError::PaymentInAppChannel {
                channel: self.record.channel_id,
            }),
            None => Ok(()),
        }
    }
}
