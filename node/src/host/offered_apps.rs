//! The node's apps as its plugins see them: the host capability `app_rules`, which hands a
//! plugin (the chain backend) the rules of the app whose contract is at an address on the
//! node's chain, so that the chain enforces an app by the same plugin the node runs.

use parley_plugin_api::model::Address;
use parley_plugin_api::App;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The apps the node offers its plugins, by contract address on its chain. Shared by every
/// host context and filled once, later: the chain is loaded before the apps, and an app's
/// address is known only with the chain's id, so a context created earlier reads whatever was
/// filled at the time it is asked, and until then offers none. Clones share the registry.
#[derive(Clone, Default)]
pub struct OfferedApps {
    apps: Arc<OnceLock<BTreeMap<Address, Arc<dyn App>>>>,
}

impl OfferedApps {
    /// A registry that offers nothing until [`OfferedApps::fill`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers `apps` (contract address on this chain, rules) from now on. Only the first call
    /// counts (the node's apps are fixed at start); it answers whether this was it. Of two
    /// apps at one address the first is offered.
    pub fn fill(&self, apps: impl IntoIterator<Item = (Address, Arc<dyn App>)>) -> bool {
        let mut by_address = BTreeMap::new();
        for (address, app) in apps {
            by_address.entry(address).or_insert(app);
        }
        self.apps.set(by_address).is_ok()
    }

    /// The rules of the app at `address`, if offered.
    pub fn get(&self, address: &Address) -> Option<Arc<dyn App>> {
        self.apps.get()?.get(address).cloned()
    }
}

impl std::fmt::Debug for OfferedApps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addresses: Option<Vec<&Address>> = self.apps.get().map(|apps| apps.keys().collect());
        f.debug_struct("OfferedApps")
            .field("addresses", &addresses)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{node_host_context_with_apps, DiscardEvents};
    use parley_plugin_api::model::{Params, State};
    use parley_plugin_api::{AppSamples, Host, PluginError, PluginResult};

    /// Refuses every move, saying so.
    struct Stubborn;

    impl App for Stubborn {
        fn init(&self, _: &Params, _: &str) -> PluginResult<Vec<u8>> {
            Ok(Vec::new())
        }
        fn valid_init(&self, _: &Params, _: &State) -> PluginResult<()> {
            Ok(())
        }
        fn valid_transition(&self, _: &Params, _: &State, _: &State, _: u16) -> PluginResult<()> {
            Err(PluginError::rejected("the stubborn app refuses every move"))
        }
        fn describe(&self, _: &Params, _: &State) -> PluginResult<String> {
            Ok("{}".into())
        }
        fn apply(&self, _: &Params, _: &State, _: &str, _: u16) -> PluginResult<State> {
            Err(PluginError::rejected("the stubborn app refuses every move"))
        }
        fn samples(&self) -> PluginResult<AppSamples> {
            Err(PluginError::unsupported("no samples"))
        }
    }

    #[test]
    fn a_context_offers_the_apps_filled_after_it_was_made() {
        let dir = std::env::temp_dir();
        let offered = OfferedApps::new();
        let host = Host::new(node_host_context_with_apps(
            "chain",
            &dir,
            &dir,
            DiscardEvents,
            offered.clone(),
        ));
        let (at, elsewhere) = (Address(vec![0xaa; 20]), Address(vec![0xbb; 20]));
        assert!(
            host.app(&at).is_none(),
            "nothing is offered before the fill"
        );

        assert!(offered.fill([(at.clone(), Arc::new(Stubborn) as Arc<dyn App>)]));
        let app = host.app(&at).expect("the filled app is offered");
        let error = app.samples().unwrap_err();
        assert_eq!(error.message(), "no samples");
        assert!(host.app(&elsewhere).is_none());

        // The apps are fixed at start: a second fill changes nothing.
        assert!(!offered.fill([(elsewhere.clone(), Arc::new(Stubborn) as Arc<dyn App>)]));
        assert!(host.app(&elsewhere).is_none());
    }
}
