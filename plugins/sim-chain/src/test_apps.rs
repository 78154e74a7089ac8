//! Apps a node might offer, for tests of how the sim chain enforces the node's apps, and the
//! hosts that offer them (or cannot).

use crate::crypto::app_address;
use parley_plugin_api::abi::HostContext;
use parley_plugin_api::model::{Address, Params, State};
use parley_plugin_api::{
    host_context, host_context_with_apps, App, AppSamples, LogLevel, PluginError, PluginResult,
};
use std::sync::Arc;

/// A tally: `app_data` is one byte, and every move adds exactly 2 to it and moves no funds.
pub struct Tally;

impl Tally {
    /// Where the node says the tally's contract is.
    pub fn address() -> Address {
        app_address("tally")
    }

    fn value(state: &State) -> PluginResult<u8> {
        match state.app_data.0[..] {
            [value] => Ok(value),
            _ => Err(PluginError::invalid("a tally is one byte")),
        }
    }
}

impl App for Tally {
    fn init(&self, _: &Params, _: &str) -> PluginResult<Vec<u8>> {
        Ok(vec![0])
    }

    fn valid_init(&self, _: &Params, state: &State) -> PluginResult<()> {
        Self::value(state).map(|_| ())
    }

    fn valid_transition(&self, _: &Params, from: &State, to: &State, _: u16) -> PluginResult<()> {
        let (old, new) = (Self::value(from)?, Self::value(to)?);
        if old.checked_add(2) != Some(new) {
            return Err(PluginError::rejected(format!(
                "the tally must grow by 2, from {old}, not to {new}"
            )));
        }
        if to.allocation.balances != from.allocation.balances {
            return Err(PluginError::rejected("a tally move moves no funds"));
        }
        Ok(())
    }

    fn describe(&self, _: &Params, state: &State) -> PluginResult<String> {
        Ok(format!("{{\"tally\": {}}}", Self::value(state)?))
    }

    fn apply(&self, _: &Params, state: &State, _: &str, _: u16) -> PluginResult<State> {
        let mut next = state.clone();
        next.version += 1;
        next.app_data.0 = vec![Self::value(state)?.saturating_add(2)];
        Ok(next)
    }

    fn samples(&self) -> PluginResult<AppSamples> {
        Err(PluginError::unsupported("the tally has no sample game"))
    }
}

/// A host whose node offers the [`Tally`] at [`Tally::address`].
pub fn offering_tally() -> HostContext {
    let dir = std::env::temp_dir();
    host_context_with_apps(
        "chain",
        &dir,
        &dir,
        LogLevel::Warn,
        |_, _, _| {},
        |_| {},
        |address| (*address == Tally::address()).then(|| Arc::new(Tally) as Arc<dyn App>),
    )
}

/// A host whose node offers no apps. A node before the `app_rules` capability answers the
/// same (the capability's default, none; plugin-api's own tests show the default answers).
pub fn offering_none() -> HostContext {
    let dir = std::env::temp_dir();
    host_context("chain", &dir, &dir, LogLevel::Warn, |_, _, _| {}, |_| {})
}
