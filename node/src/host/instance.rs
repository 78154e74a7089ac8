//! Creating plugin instances from loaded libraries.

use super::library::PluginLibrary;
use super::load_error::{LoadError, LoadFailure};
use abi_stable::std_types::RStr;
use parley_plugin_api::abi::{HostContext, PluginInstance, PluginKind};
use parley_plugin_api::{LoadedApp, LoadedChain, LoadedStore, LoadedTransport};
use std::sync::Arc;

/// A live plugin instance, ready to use through its trait.
#[derive(Clone)]
pub enum PluginHandle {
    /// A chain backend.
    Chain(Arc<LoadedChain>),
    /// A transport.
    Transport(Arc<LoadedTransport>),
    /// A store.
    Store(Arc<LoadedStore>),
    /// An app's rules.
    App(Arc<LoadedApp>),
}

/// Creates an instance of `library` for `section`, which needs a plugin of kind `expected`,
/// configured with `table` (TOML text).
pub fn instantiate(
    library: &PluginLibrary,
    section: &str,
    expected: PluginKind,
    table: &str,
    context: HostContext,
) -> Result<PluginHandle, LoadError> {
    let fail = |reason| LoadError {
        path: library.path.clone(),
        reason: Box::new(reason),
        details: None,
    };
    if library.kind != expected {
        return Err(fail(LoadFailure::WrongKind {
            section: section.to_string(),
            name: library.name.clone(),
            expected,
            found: library.kind,
        }));
    }
    let failed = |error| {
        fail(LoadFailure::Instantiate {
            section: section.to_string(),
            name: library.name.clone(),
            error,
        })
    };
    if expected == PluginKind::App {
        // Revision 2 on; the library's kind says it is an app, so it has the constructor.
        let Some(instantiate_app) = library.module().instantiate_app() else {
            return Err(failed(parley_plugin_api::PluginError::unsupported(
                "the library says it is an app but has no app constructor (built before ABI \
                 revision 2?); rebuild it against parley-plugin-api 0.2.1 or later",
            )));
        };
        let app = instantiate_app(RStr::from_str(table), context)
            .into_result()
            .map_err(failed)?;
        return Ok(PluginHandle::App(Arc::new(LoadedApp::new(app))));
    }
    let instance = (library.module().instantiate())(RStr::from_str(table), context)
        .into_result()
        .map_err(failed)?;
    Ok(match instance {
        PluginInstance::Chain(inner) => PluginHandle::Chain(Arc::new(LoadedChain::new(inner))),
        PluginInstance::Transport(inner) => {
            PluginHandle::Transport(Arc::new(LoadedTransport::new(inner)))
        }
        PluginInstance::Store(inner) => PluginHandle::Store(Arc::new(LoadedStore::new(inner))),
    })
}
