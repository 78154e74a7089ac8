//! The apps this node can run channels of (`[[apps]]` in `node.toml`): by the name users give
//! (`--app tictactoe`) and by the address an app channel's parameters name it with on this
//! node's chain. An app without an address on this chain is known by name but cannot be used
//! here: no channel can name it. Fixed at start; no lock.

use super::error::Error;
use crate::protocol::AppLookup;
use parley_plugin_api::model::Address;
use parley_plugin_api::App;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One app, as this node knows it.
#[derive(Clone)]
pub struct KnownApp {
    /// What users call it.
    pub name: String,
    /// Its contract's address on this node's chain, if it has one there.
    pub address: Option<Address>,
    /// Its rules.
    pub app: Arc<dyn App>,
}

impl std::fmt::Debug for KnownApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownApp")
            .field("name", &self.name)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The node's apps.
#[derive(Debug, Default)]
pub struct Apps {
    apps: Vec<KnownApp>,
}

impl Apps {
    /// The apps of `[[apps]]` (name, contract address per chain id, rules) on the chain
    /// `chain_id`.
    pub fn new(
        apps: impl IntoIterator<Item = (String, BTreeMap<u64, Address>, Arc<dyn App>)>,
        chain_id: u64,
    ) -> Apps {
        let apps = apps
            .into_iter()
            .map(|(name, addresses, app)| {
                let address = addresses.get(&chain_id).cloned();
                if address.is_none() {
                    tracing::warn!(
                        app = %name,
                        chain_id,
                        "the app has no address for this chain in [[apps]] `addresses`, so no \
                         channel on this chain can use it"
                    );
                }
                KnownApp { name, address, app }
            })
            .collect();
        Apps { apps }
    }

    /// Every app, in `node.toml` order.
    pub fn all(&self) -> &[KnownApp] {
        &self.apps
    }

    /// The app users call `name`, usable on this chain.
    pub fn by_name(&self, name: &str) -> Result<&KnownApp, Error> {
        let Some(app) = self.apps.iter().find(|app| app.name == name) else {
            let known: Vec<&str> = self.apps.iter().map(|app| app.name.as_str()).collect();
            return Err(Error::invalid(
                "app",
                if known.is_empty() {
                    format!("unknown app `{name}`: this node has no apps (add one under [[apps]] in node.toml)")
                } else {
                    format!(
                        "unknown app `{name}`; this node has {} ([[apps]] in node.toml)",
                        known.join(", ")
                    )
                },
            ));
        };
        if app.address.is_none() {
            return Err(Error::invalid(
                "app",
                format!(
                    "the app `{name}` has no address on this chain; add it under \
                     [apps.addresses] in node.toml"
                ),
            ));
        }
        Ok(app)
    }

    /// The app whose contract is at `address` on this chain, if this node has it.
    pub fn by_address(&self, address: &Address) -> Option<&KnownApp> {
        self.apps
            .iter()
            .find(|app| app.address.as_ref() == Some(address))
    }
}

impl AppLookup for Apps {
    fn rules(&self, address: &Address) -> Option<Arc<dyn App>> {
        self.by_address(address).map(|known| known.app.clone())
    }
}
