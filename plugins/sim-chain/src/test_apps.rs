//! Apps a node might offer, for tests of how the sim chain enforces the node's apps, and the
//! hosts that offer them (or cannot).

use crate::crypto::app_address;
use parley_plugin_api::abi::HostContext;
use parley_plugin_api::model::{Address, Amount, Params, State};
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

/// A pot: `app_data` is one byte, 0 while the pot is open. Its one move takes the pot: the
/// mover gets every asset's whole total, the byte becomes 1 and the state is final. The
/// smallest app that moves funds, to show which state a payout follows.
pub struct Pot;

impl Pot {
    /// Where the node says the pot's contract is.
    pub fn address() -> Address {
        app_address("pot")
    }

    /// `from`'s balances with everything in each asset given to `actor`; `None` if `actor` is
    /// no participant or a total overflows.
    pub fn taken_by(from: &State, actor: u16) -> Option<Vec<Vec<Amount>>> {
        let rows = &from.allocation.balances;
        rows.iter()
            .map(|row| {
                let total = Amount::checked_sum(row)?;
                let mut taken = vec![Amount::ZERO; row.len()];
                *taken.get_mut(usize::from(actor))? = total;
                Some(taken)
            })
            .collect()
    }
}

impl App for Pot {
    fn init(&self, _: &Params, _: &str) -> PluginResult<Vec<u8>> {
        Ok(vec![0])
    }

    fn valid_init(&self, _: &Params, state: &State) -> PluginResult<()> {
        match state.app_data.0[..] {
            [0] => Ok(()),
            _ => Err(PluginError::invalid("a pot opens with the one byte 0")),
        }
    }

    fn valid_transition(
        &self,
        _: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()> {
        if from.app_data.0[..] != [0] || to.app_data.0[..] != [1] || !to.is_final {
            return Err(PluginError::rejected(
                "the one move takes the open pot (0 to 1) and ends the game",
            ));
        }
        if Self::taken_by(from, actor).as_ref() != Some(&to.allocation.balances) {
            return Err(PluginError::rejected("the mover takes the whole pot"));
        }
        Ok(())
    }

    fn describe(&self, _: &Params, state: &State) -> PluginResult<String> {
        Ok(format!("{{\"taken\": {}}}", state.app_data.0 != [0]))
    }

    fn apply(&self, _: &Params, state: &State, _: &str, actor: u16) -> PluginResult<State> {
        let mut next = state.clone();
        next.version += 1;
        next.app_data.0 = vec![1];
        next.allocation.balances = Self::taken_by(state, actor)
            .ok_or_else(|| PluginError::invalid("the mover is no participant"))?;
        next.is_final = true;
        Ok(next)
    }

    fn samples(&self) -> PluginResult<AppSamples> {
        Err(PluginError::unsupported("the pot has no sample game"))
    }
}

/// A host whose node offers `app` at `address`, and nothing else.
fn offering(address: Address, app: Arc<dyn App>) -> HostContext {
    let dir = std::env::temp_dir();
    host_context_with_apps(
        "chain",
        &dir,
        &dir,
        LogLevel::Warn,
        |_, _, _| {},
        |_| {},
        move |asked| (*asked == address).then(|| app.clone()),
    )
}

/// A host whose node offers the [`Tally`] at [`Tally::address`].
pub fn offering_tally() -> HostContext {
    offering(Tally::address(), Arc::new(Tally))
}

/// A host whose node offers the [`Pot`] at [`Pot::address`].
pub fn offering_pot() -> HostContext {
    offering(Pot::address(), Arc::new(Pot))
}

/// A host whose node offers no apps. A node before the `app_rules` capability answers the
/// same (the capability's default, none; plugin-api's own tests show the default answers).
pub fn offering_none() -> HostContext {
    let dir = std::env::temp_dir();
    host_context("chain", &dir, &dir, LogLevel::Warn, |_, _, _| {}, |_| {})
}
