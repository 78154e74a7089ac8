//! The app interface (ABI revision 2): the rules of an app channel, as a plugin.
//!
//! An app channel's state carries `app_data` that only its app understands: a tic-tac-toe grid,
//! a hash lock. The node never signs a state of an app channel without asking the app whether
//! the move is valid ([`App::valid_transition`]), the same rule the app's contract enforces on
//! chain when a party stops cooperating; and people move with JSON ([`App::apply`],
//! [`App::describe`]), never with hex.
//!
//! Contract:
//! - **Pure.** Every method is a function of its arguments only: no clock, no randomness, no
//!   I/O, no state kept between calls. The node and the peer's node must reach the same answer
//!   on the same input, and so must the chain: an app is the off-chain twin of its contract,
//!   rule for rule.
//! - **Fast.** Called on the hot path of app channels (every update is checked); never blocks.
//! - **Threads.** Calls come from many threads at once.
//! - **Errors.** A move or a state the rules refuse is `Rejected`, with a reason a person can
//!   read (it reaches the user who tried the move, or the log of the node that refused the
//!   peer's). Malformed input (JSON that does not parse, app data of the wrong length) is
//!   `InvalidArgument`.
//! - **What the node checked already.** Before asking the app, the node checked everything
//!   app-independent, as the Adjudicator does: same channel, version + 1, same assets and locks,
//!   per-asset totals conserved, a final state is never followed. The app checks the rest,
//!   including how balances may move.

use crate::abi::ffi::{FfiApp, FfiAppBox, FfiApp_TO, FfiResult};
use crate::abi::host::Host;
use crate::codec::{Bytes, Decode, Encode};
use crate::error::{PluginError, PluginResult};
use crate::model::{Amount, Params, State};
use crate::panic::catch;
use crate::store::answer_error;
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RSlice, RStr, RString, RVec},
};
use std::sync::Arc;

/// The rules of an app (see the module documentation for the contract).
pub trait App: Send + Sync + 'static {
    /// The app data of a new channel, from the user's `setup` (JSON; `{}` when the user gave
    /// none). The node puts it in version 0 and then checks that state with
    /// [`App::valid_init`] on both sides, with the channel's real parameters.
    ///
    /// `params` are the parameters as far as the proposer knows them: its own address as
    /// participant 0, an empty placeholder for the accepter (whose address comes with its
    /// accept), a zero nonce (the accepter adds its share), the app and the challenge
    /// duration. App data must therefore not depend on the accepter's address or the nonce;
    /// [`App::valid_init`] sees the final ones.
    fn init(&self, params: &Params, setup: &str) -> PluginResult<Vec<u8>>;

    /// Whether `state` (version 0) may open a channel with `params`: the app data, the number
    /// of participants, the balances. `Rejected` with the reason if not.
    fn valid_init(&self, params: &Params, state: &State) -> PluginResult<()>;

    /// Whether participant `actor` may move the channel from `from` to `to`. `Rejected` with
    /// the reason if not. The same rule as the contract's `validTransition`.
    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()>;

    /// `state` for people: a JSON value (for tic-tac-toe, the grid and whose turn it is).
    fn describe(&self, params: &Params, state: &State) -> PluginResult<String>;

    /// The state after participant `actor` performs `action` (JSON, for tic-tac-toe
    /// `{"cell": 4}`) on `state`: version + 1, the app data and balances the rules give, final
    /// when the app ends. Must pass [`App::valid_transition`] from `state`. `Rejected` with the
    /// reason when the rules forbid the action (not the actor's turn, a taken cell).
    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State>;

    /// A short game the conformance suite plays (`parley plugin check`): the setup, the
    /// balances, moves that must be accepted, and moves that must be refused.
    fn samples(&self) -> PluginResult<AppSamples>;
}

/// One move of a sample game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleMove {
    /// Who moves (a participant index).
    pub actor: u16,
    /// The action, as [`App::apply`] takes it.
    pub action: String,
}

crate::canonical_struct!(SampleMove { actor, action });

/// What the conformance suite plays with an app (see [`App::samples`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSamples {
    /// The setup JSON for [`App::init`].
    pub setup: String,
    /// Each participant's balance in the one asset of the sample channel (their count is the
    /// number of participants).
    pub balances: Vec<Amount>,
    /// Moves played in order from the opening state; each must be accepted. The last may end
    /// the app.
    pub moves: Vec<SampleMove>,
    /// Moves each of which must be refused when tried right after the opening state.
    pub refused: Vec<SampleMove>,
}

crate::canonical_struct!(AppSamples {
    setup,
    balances,
    moves,
    refused
});

/// Wraps an [`App`] for the boundary; used by [`crate::export_plugin!`]. Every call runs with
/// `host` bound to the calling thread ([`Host::scope`]), so the app's log lines and panics
/// are reported under its own section.
pub fn export_app<A: App>(app: A, host: Host) -> FfiAppBox {
    FfiApp_TO::from_value(
        ExportedApp {
            app,
            host: Some(host),
        },
        TD_Opaque,
    )
}

/// Wraps an app the host already holds for the boundary, to hand it to another plugin: the
/// node's answer to [`Host::app`] (through [`host_context_with_apps`](crate::abi::host::host_context_with_apps)).
///
/// Unlike [`export_app`] it binds no [`Host`]: the code behind it is the host's, not a plugin
/// instance's, so there is no section to report under; when the app is itself a plugin (a
/// [`LoadedApp`]), the call binds that plugin's own instance as it crosses into its library.
/// Panics are still caught and answered as `Panicked` errors, so none unwinds into the
/// plugin that asked.
pub fn share_app(app: Arc<dyn App>) -> FfiAppBox {
    FfiApp_TO::from_value(ExportedApp { app, host: None }, TD_Opaque)
}

struct ExportedApp<A> {
    app: A,
    /// The instance to bind during calls; `None` for an app the host shares ([`share_app`]).
    host: Option<Host>,
}

impl<A> ExportedApp<A> {
    fn serve<R>(&self, what: &str, call: impl FnOnce(&A) -> PluginResult<R>) -> PluginResult<R> {
        match &self.host {
            Some(host) => host.scope(|| catch(what, || call(&self.app))),
            None => catch(what, || call(&self.app)),
        }
    }
}

/// An app shared behind an [`Arc`] (the node keeps its apps this way) is an app.
impl<A: App + ?Sized> App for Arc<A> {
    fn init(&self, params: &Params, setup: &str) -> PluginResult<Vec<u8>> {
        (**self).init(params, setup)
    }

    fn valid_init(&self, params: &Params, state: &State) -> PluginResult<()> {
        (**self).valid_init(params, state)
    }

    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()> {
        (**self).valid_transition(params, from, to, actor)
    }

    fn describe(&self, params: &Params, state: &State) -> PluginResult<String> {
        (**self).describe(params, state)
    }

    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State> {
        (**self).apply(params, state, action, actor)
    }

    fn samples(&self) -> PluginResult<AppSamples> {
        (**self).samples()
    }
}

impl<A: App> FfiApp for ExportedApp<A> {
    fn init(&self, params: RSlice<'_, u8>, setup: RStr<'_>) -> FfiResult {
        self.serve("app.init", |a| {
            let params = Params::decode(params.as_slice())?;
            let data = a.init(&params, setup.as_str())?;
            Ok(RVec::from(Bytes(data).encode()))
        })
        .into()
    }

    fn valid_init(
        &self,
        params: RSlice<'_, u8>,
        state: RSlice<'_, u8>,
    ) -> RResult<(), PluginError> {
        self.serve("app.valid_init", |a| {
            let params = Params::decode(params.as_slice())?;
            let state = State::decode(state.as_slice())?;
            a.valid_init(&params, &state)
        })
        .into()
    }

    fn valid_transition(
        &self,
        params: RSlice<'_, u8>,
        from: RSlice<'_, u8>,
        to: RSlice<'_, u8>,
        actor: u16,
    ) -> RResult<(), PluginError> {
        self.serve("app.valid_transition", |a| {
            let params = Params::decode(params.as_slice())?;
            let from = State::decode(from.as_slice())?;
            let to = State::decode(to.as_slice())?;
            a.valid_transition(&params, &from, &to, actor)
        })
        .into()
    }

    fn describe(
        &self,
        params: RSlice<'_, u8>,
        state: RSlice<'_, u8>,
    ) -> RResult<RString, PluginError> {
        self.serve("app.describe", |a| {
            let params = Params::decode(params.as_slice())?;
            let state = State::decode(state.as_slice())?;
            a.describe(&params, &state).map(RString::from)
        })
        .into()
    }

    fn apply(
        &self,
        params: RSlice<'_, u8>,
        state: RSlice<'_, u8>,
        action: RStr<'_>,
        actor: u16,
    ) -> FfiResult {
        self.serve("app.apply", |a| {
            let params = Params::decode(params.as_slice())?;
            let state = State::decode(state.as_slice())?;
            let next = a.apply(&params, &state, action.as_str(), actor)?;
            Ok(RVec::from(next.encode()))
        })
        .into()
    }

    fn samples(&self) -> FfiResult {
        self.serve("app.samples", |a| Ok(RVec::from(a.samples()?.encode())))
            .into()
    }
}

/// An app loaded from a plugin library, usable through [`App`]; also what [`Host::app`]
/// answers with, an app the node shares.
pub struct LoadedApp(FfiAppBox);

impl LoadedApp {
    /// Wraps an instance returned by a library's app constructor (or by the host's
    /// `app_rules`).
    pub fn new(inner: FfiAppBox) -> Self {
        LoadedApp(inner)
    }
}

impl App for LoadedApp {
    fn init(&self, params: &Params, setup: &str) -> PluginResult<Vec<u8>> {
        let params = params.encode();
        let bytes = self
            .0
            .init(params.as_slice().into(), RStr::from_str(setup))
            .into_result()?;
        Ok(Bytes::decode(&bytes).map_err(answer_error)?.0)
    }

    fn valid_init(&self, params: &Params, state: &State) -> PluginResult<()> {
        let (params, state) = (params.encode(), state.encode());
        self.0
            .valid_init(params.as_slice().into(), state.as_slice().into())
            .into_result()
    }

    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()> {
        let (params, from, to) = (params.encode(), from.encode(), to.encode());
        self.0
            .valid_transition(
                params.as_slice().into(),
                from.as_slice().into(),
                to.as_slice().into(),
                actor,
            )
            .into_result()
    }

    fn describe(&self, params: &Params, state: &State) -> PluginResult<String> {
        let (params, state) = (params.encode(), state.encode());
        self.0
            .describe(params.as_slice().into(), state.as_slice().into())
            .into_result()
            .map(RString::into_string)
    }

    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State> {
        let (params, state) = (params.encode(), state.encode());
        let bytes = self
            .0
            .apply(
                params.as_slice().into(),
                state.as_slice().into(),
                RStr::from_str(action),
                actor,
            )
            .into_result()?;
        State::decode(&bytes).map_err(answer_error)
    }

    fn samples(&self) -> PluginResult<AppSamples> {
        let bytes = self.0.samples().into_result()?;
        AppSamples::decode(&bytes).map_err(answer_error)
    }
}
