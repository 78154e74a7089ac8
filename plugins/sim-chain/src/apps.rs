//! The apps the sim chain enforces: what an app contract is on Ethereum (`validTransition`),
//! found by address. First its built-in apps (the turn counter), then the node's own apps,
//! which the node hands over through the host ([`Host::app`]): an app channel's moves are then
//! judged on the sim chain by the same plugin that judges them off chain, as the app's
//! contract does on Ethereum. `progress` refuses an address with neither.

use crate::crypto::app_address;
use parley_plugin_api::model::{Address, Params, State};
use parley_plugin_api::{App as AppRules, ErrorKind, Host, LoadedApp};
use std::sync::OnceLock;

/// An app's rules for one on-chain move.
pub trait App: Sync {
    /// A short name for messages.
    fn name(&self) -> &'static str;

    /// Whether participant `actor` may move the channel from `from` to `to`. The generic rules
    /// (version + 1, conservation of totals, signature) are already checked; `Err` says why the
    /// app refuses.
    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: usize,
    ) -> Result<(), String>;
}

/// A turn-based counter: `app_data` is a `u64` big-endian counter; at version `v` it is
/// participant `v mod n`'s turn, who increases the counter by exactly one and moves no funds.
pub struct TurnCounter;

impl TurnCounter {
    /// The app's name; its address is the first 20 bytes of keccak256("parley-sim-app:counter").
    pub const NAME: &'static str = "counter";

    /// The app's address.
    pub fn address() -> Address {
        app_address(Self::NAME)
    }

    /// Encodes a counter value as app data.
    pub fn app_data(counter: u64) -> Vec<u8> {
        counter.to_be_bytes().to_vec()
    }

    fn counter(state: &State, which: &str) -> Result<u64, String> {
        let bytes: [u8; 8] = state.app_data[..].try_into().map_err(|_| {
            format!(
                "the {which} state's app data must be a u64 counter (8 bytes big-endian), it has \
                 {} bytes",
                state.app_data.len()
            )
        })?;
        Ok(u64::from_be_bytes(bytes))
    }
}

impl App for TurnCounter {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: usize,
    ) -> Result<(), String> {
        let parties = params.participants.len() as u64;
        let turn = from.version % parties;
        if actor as u64 != turn {
            return Err(format!(
                "at version {} it is participant {turn}'s turn, not participant {actor}'s",
                from.version
            ));
        }
        let (old, new) = (Self::counter(from, "old")?, Self::counter(to, "new")?);
        if old.checked_add(1) != Some(new) {
            return Err(format!(
                "the counter must go from {old} to {}, not to {new}",
                old.wrapping_add(1)
            ));
        }
        if to.allocation.balances != from.allocation.balances {
            return Err("a counter move must not change the balances".into());
        }
        Ok(())
    }
}

/// The registry: every built-in app with its address.
fn registry() -> &'static [(Address, &'static dyn App)] {
    static APPS: OnceLock<Vec<(Address, &'static dyn App)>> = OnceLock::new();
    APPS.get_or_init(|| vec![(TurnCounter::address(), &TurnCounter as &'static dyn App)])
}

/// The built-in app at `address`.
pub fn lookup(address: &Address) -> Option<&'static dyn App> {
    registry()
        .iter()
        .find(|(known, _)| known == address)
        .map(|(_, app)| *app)
}

/// "name at address" for every built-in app, for messages.
pub fn describe() -> String {
    registry()
        .iter()
        .map(|(address, app)| format!("{} at {address}", app.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the rules find an app by address: the built-in apps, then the node's through the
/// host, if there is one.
#[derive(Clone, Default)]
pub struct Apps {
    /// The host asked for the node's apps; `None`: only the built-ins.
    host: Option<Host>,
}

impl Apps {
    /// Only the built-in apps.
    pub fn built_in() -> Apps {
        Apps { host: None }
    }

    /// The built-in apps, then the apps the node offers through `host`.
    pub fn with_host(host: Host) -> Apps {
        Apps { host: Some(host) }
    }

    /// The app at `address`: a built-in one first (the node cannot replace it), else the
    /// node's. The node's is asked afresh on every lookup, since the node learns its apps after
    /// the chain is created.
    pub fn lookup(&self, address: &Address) -> Option<FoundApp> {
        if let Some(app) = lookup(address) {
            return Some(FoundApp::BuiltIn(app));
        }
        let rules = self.host.as_ref()?.app(address)?;
        Some(FoundApp::Node {
            address: address.clone(),
            rules,
        })
    }

    /// Why there is no app at `address`, for the refusal.
    pub fn missing(&self, address: &Address) -> String {
        format!(
            "no app at {address}: the sim chain's built-in apps are: {}, and the node has no app \
             there (an [[apps]] entry of node.toml with this address for this chain)",
            describe()
        )
    }
}

/// An app found by address.
pub enum FoundApp {
    /// One of the sim chain's own.
    BuiltIn(&'static dyn App),
    /// One of the node's, through the host.
    Node {
        /// Its contract's address.
        address: Address,
        /// Its rules (the node's copy).
        rules: LoadedApp,
    },
}

impl FoundApp {
    /// The app, for messages: "the counter app", "the node's app at 0x…".
    pub fn name(&self) -> String {
        match self {
            FoundApp::BuiltIn(app) => format!("the {} app", app.name()),
            FoundApp::Node { address, .. } => format!("the node's app at {address}"),
        }
    }

    /// Whether participant `actor` may move the channel from `from` to `to`; `Err` says why
    /// not. The node's app refuses with its own reason; any other failure of it (it panicked,
    /// the state is malformed for it) is a refusal too, as a revert is on chain.
    pub fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> Result<(), String> {
        match self {
            FoundApp::BuiltIn(app) => app.valid_transition(params, from, to, usize::from(actor)),
            FoundApp::Node { rules, .. } => rules
                .valid_transition(params, from, to, actor)
                .map_err(|error| match error.kind {
                    ErrorKind::Rejected => error.message().to_string(),
                    _ => error.to_string(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_app_has_its_documented_address() {
        // The first 20 bytes of keccak256("parley-sim-app:counter"); node configs and tests
        // name the app by this address.
        assert_eq!(
            TurnCounter::address().to_string(),
            "0xb753bb3061a04d6361149e84288179fca69afebe"
        );
        assert!(lookup(&TurnCounter::address()).is_some());
        assert!(lookup(&app_address("chess")).is_none());
    }
}
