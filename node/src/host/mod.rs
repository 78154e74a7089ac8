//! The plugin host: finds the libraries named in `node.toml`, checks kind and ABI version,
//! instantiates them with their tables, and hands the node ready trait objects.
//!
//! Several plugins of one kind can be loaded at once: each library is opened through its own
//! abi_stable header (abi_stable's `RootModule::load_from_file` caches one module per type and
//! would silently hand back the first library), and every `instantiate` call makes a separate
//! instance.

mod instance;
mod library;
mod load_error;
mod offered_apps;
mod sinks;
pub mod worker;

pub use instance::{instantiate, PluginHandle};
pub use library::PluginLibrary;
pub use load_error::{LoadError, LoadFailure};
pub use offered_apps::OfferedApps;
pub use sinks::{
    node_host_context, node_host_context_with_apps, DiscardEvents, EventRoute, SectionEvent,
};

use crate::config::{AppSection, NodeConfig, PluginRef, PluginSection};
use parley_plugin_api::abi::PluginKind;
use parley_plugin_api::model::Address;
use parley_plugin_api::{App, LoadedChain, Store, Transport};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Opens the library a section names.
pub fn open(plugin: &PluginRef) -> Result<PluginLibrary, LoadError> {
    let bare = match plugin {
        PluginRef::Name(name) => Some(name.as_str()),
        PluginRef::Path(_) => None,
    };
    PluginLibrary::open(&plugin.resolve(), bare)
}

/// An app plugin of `[[apps]]`, instantiated.
#[derive(Clone)]
pub struct NodeApp {
    /// What users call it: the entry's `name`, or the plugin's own.
    pub name: String,
    /// Its entry in `node.toml` (`apps[0]`).
    pub section: String,
    /// The app contract's address per chain id.
    pub addresses: BTreeMap<u64, Address>,
    /// The rules.
    pub app: Arc<dyn App>,
}

/// The node's three plugins and its apps, instantiated.
pub struct NodePlugins {
    /// The chain backend from `[chain]`; the node hands out its halves separately.
    pub chain: Arc<LoadedChain>,
    /// The transport from `[wire]`.
    pub transport: Arc<dyn Transport>,
    /// The store from `[store]`.
    pub store: Arc<dyn Store>,
    /// The apps of `[[apps]]`, in order.
    pub apps: Vec<NodeApp>,
    /// The libraries, in load order, with their sections.
    pub libraries: Vec<(String, PluginLibrary)>,
    /// The apps every instance's host offers (the chain backend enforces them); empty until
    /// the node fills it with the apps' addresses on its chain, once the chain is known.
    pub offered_apps: OfferedApps,
}

impl NodePlugins {
    /// Loads and instantiates the plugins of `config`, in the order store, chain, wire, then
    /// the apps; the events of all go to `events`. Every instance's host offers the apps of
    /// [`NodePlugins::offered_apps`], once the caller fills it.
    pub fn load(
        config: &NodeConfig,
        events: Arc<dyn EventRoute>,
    ) -> Result<NodePlugins, LoadError> {
        let offered_apps = OfferedApps::new();
        let mut libraries = Vec::new();
        let mut handles = Vec::new();
        for section in config.plugin_sections() {
            let (library, handle) =
                load_section_offering(config, section, events.clone(), offered_apps.clone())?;
            libraries.push((section.section.to_string(), library));
            handles.push(handle);
        }
        let mut apps = Vec::new();
        for section in &config.apps {
            let (library, app) =
                load_app_offering(config, section, events.clone(), offered_apps.clone())?;
            apps.push(NodeApp {
                name: section.name.clone().unwrap_or_else(|| library.name.clone()),
                section: section.section.clone(),
                addresses: section.addresses.clone(),
                app,
            });
            libraries.push((section.section.clone(), library));
        }
        let mut chain = None;
        let mut transport = None;
        let mut store = None;
        for handle in handles {
            match handle {
                PluginHandle::Chain(c) => chain = Some(c),
                PluginHandle::Transport(t) => transport = Some(t as Arc<dyn Transport>),
                PluginHandle::Store(s) => store = Some(s as Arc<dyn Store>),
                // `instantiate` checked each section's kind: none of the three is an app.
                PluginHandle::App(_) => {}
            }
        }
        Ok(NodePlugins {
            chain: chain.expect("[chain] is checked to be a chain plugin"),
            transport: transport.expect("[wire] is checked to be a transport plugin"),
            store: store.expect("[store] is checked to be a store plugin"),
            apps,
            libraries,
            offered_apps,
        })
    }
}

/// Opens and instantiates an `[[apps]]` entry's plugin; its host offers no apps.
pub fn load_app(
    config: &NodeConfig,
    section: &AppSection,
    events: impl EventRoute,
) -> Result<(PluginLibrary, Arc<dyn App>), LoadError> {
    load_app_offering(config, section, events, OfferedApps::new())
}

/// Like [`load_app`], with a host that offers `apps`.
pub fn load_app_offering(
    config: &NodeConfig,
    section: &AppSection,
    events: impl EventRoute,
    apps: OfferedApps,
) -> Result<(PluginLibrary, Arc<dyn App>), LoadError> {
    let library = open(&section.plugin)?;
    let context = node_host_context_with_apps(
        &section.section,
        &config.node.data_dir,
        &config.dir(),
        events,
        apps,
    );
    match instantiate(
        &library,
        &section.section,
        PluginKind::App,
        &section.table,
        context,
    )? {
        PluginHandle::App(app) => Ok((library, app as Arc<dyn App>)),
        _ => unreachable!("instantiate checked the kind"),
    }
}

/// Opens and instantiates one section's plugin; its host offers no apps.
pub fn load_section(
    config: &NodeConfig,
    section: &PluginSection,
    events: impl EventRoute,
) -> Result<(PluginLibrary, PluginHandle), LoadError> {
    load_section_offering(config, section, events, OfferedApps::new())
}

/// Like [`load_section`], with a host that offers `apps`.
pub fn load_section_offering(
    config: &NodeConfig,
    section: &PluginSection,
    events: impl EventRoute,
    apps: OfferedApps,
) -> Result<(PluginLibrary, PluginHandle), LoadError> {
    let library = open(&section.plugin)?;
    let context = node_host_context_with_apps(
        section.section,
        &config.node.data_dir,
        &config.dir(),
        events,
        apps,
    );
    let handle = instantiate(
        &library,
        section.section,
        section.kind,
        &section.table,
        context,
    )?;
    Ok((library, handle))
}
