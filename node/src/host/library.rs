//! Opening a plugin library: the plain descriptor first, then abi_stable's checked root module.

use super::load_error::{first_line, LoadError, LoadFailure};
use abi_stable::abi_stability::abi_checking::check_layout_compatibility;
use abi_stable::library::{lib_header_from_path, LibHeader, LibraryError};
use abi_stable::StableAbi;
use parley_plugin_api::abi::{
    PluginDescriptor, PluginKind, PluginModuleRef, DESCRIPTOR_MAGIC, DESCRIPTOR_SYMBOL,
    PLUGIN_ABI_VERSION,
};
use std::path::{Path, PathBuf};

/// An opened and checked plugin library. Libraries are never unloaded (abi_stable leaks them),
/// so values built from one stay valid for the life of the process.
#[derive(Clone)]
pub struct PluginLibrary {
    /// The file.
    pub path: PathBuf,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Its kind.
    pub kind: PluginKind,
    /// One line about it.
    pub description: String,
    /// The table `parley plugin check` uses by default.
    pub check_config: String,
    /// The parley-plugin-api version it was built with.
    pub api_crate_version: String,
    /// The ABI revision it was built at (0 for plugins built before revisions were recorded).
    pub abi_revision: u32,
    module: PluginModuleRef,
}

impl std::fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .finish()
    }
}

/// What the descriptor says, read before abi_stable touches the library.
struct DescriptorInfo {
    name: String,
    version: String,
    kind: PluginKind,
    api_crate_version: String,
}

impl PluginLibrary {
    /// Opens `path`, checks that it is a Parley plugin of this node's ABI version and loads its
    /// root module. `bare_name` is the `plugin` value when it was a name, for the message.
    pub fn open(path: &Path, bare_name: Option<&str>) -> Result<PluginLibrary, LoadError> {
        let fail = |reason, details| LoadError {
            path: path.to_path_buf(),
            reason: Box::new(reason),
            details,
        };
        if !path.exists() {
            return Err(fail(
                LoadFailure::Missing {
                    bare_name: bare_name.map(str::to_string),
                },
                None,
            ));
        }
        let info = read_descriptor(path).map_err(|reason| fail(reason, None))?;

        let header = lib_header_from_path(path).map_err(|e| {
            let details = e.to_string();
            fail(
                LoadFailure::Layout {
                    name: info.name.clone(),
                    summary: first_line(&details),
                },
                Some(details),
            )
        })?;
        check_layout(header).map_err(|details| {
            fail(
                LoadFailure::Layout {
                    name: info.name.clone(),
                    summary: "the type layouts differ".to_string(),
                },
                Some(details),
            )
        })?;
        // SAFETY: `check_layout` found the library's root module compatible with
        // `PluginModuleRef` in the direction of its revision.
        let module = unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }
            .map_err(|e| {
                let details = e.to_string();
                let summary = match &e {
                    LibraryError::IncompatibleVersionNumber {
                        expected_version,
                        actual_version,
                        ..
                    } => format!(
                        "parley-plugin-api {actual_version} is not compatible with {expected_version}"
                    ),
                    _ => first_line(&details),
                };
                fail(
                    LoadFailure::Layout {
                        name: info.name.clone(),
                        summary,
                    },
                    Some(details),
                )
            })?;
        // The root module repeats the descriptor; a disagreement means a hand-made export.
        if module.abi_version() != PLUGIN_ABI_VERSION || module.kind() != info.kind as u32 {
            return Err(fail(
                LoadFailure::BadDescriptor(
                    "the root module disagrees with the descriptor about ABI version or kind"
                        .into(),
                ),
                None,
            ));
        }
        Ok(PluginLibrary {
            path: path.to_path_buf(),
            name: info.name,
            version: info.version,
            kind: info.kind,
            description: module.description().to_string(),
            check_config: module.check_config().to_string(),
            api_crate_version: info.api_crate_version,
            abi_revision: module.abi_revision().unwrap_or(0),
            module,
        })
    }

    /// The root module, to instantiate from.
    pub(crate) fn module(&self) -> PluginModuleRef {
        self.module
    }
}

/// Checks the library's root module against this node's, in the direction its revision needs.
///
/// abi_stable's own check (`init_root_module`) lets the expected side have no more methods or
/// fields than the library's, so it loads plugins as new as the node or newer, but refuses one
/// built at an older revision of the same generation for lacking the methods added since. A
/// plugin may be either, so the node compares both ways: the node's tables a prefix of the
/// plugin's (the plugin is as new or newer), or the plugin's a prefix of the node's (older).
/// Everything else (every non-extensible type, every method both know) must match exactly
/// either way. An older plugin's missing methods then answer their defaults, and a newer
/// plugin's additions go unused. The error is the first direction's report.
fn check_layout(header: &LibHeader) -> Result<(), String> {
    let Some(library) = header.layout() else {
        return Err("the plugin was exported without its type layout".to_string());
    };
    let node = <PluginModuleRef as StableAbi>::LAYOUT;
    match check_layout_compatibility(node, library) {
        Ok(()) => Ok(()),
        Err(newer) => check_layout_compatibility(library, node).map_err(|_| newer.to_string()),
    }
}

fn read_descriptor(path: &Path) -> Result<DescriptorInfo, LoadFailure> {
    // SAFETY: loading a library runs its initialisers; that is the point of a plugin, and the
    // user named this file in their config.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| LoadFailure::NotALibrary(e.to_string()))?;
    // SAFETY: the symbol, if present, is a `PluginDescriptor` static (checked by the magic).
    let descriptor: *const PluginDescriptor = unsafe {
        match library.get::<*const PluginDescriptor>(DESCRIPTOR_SYMBOL.as_bytes()) {
            Ok(symbol) => *symbol,
            Err(_) => return Err(LoadFailure::NotAPlugin),
        }
    };
    // Plugins are never unloaded: keep the library mapped so the descriptor stays valid.
    std::mem::forget(library);
    // SAFETY: the symbol points at a static that lives as long as the (never unloaded) library.
    let descriptor = unsafe { &*descriptor };
    if descriptor.magic != DESCRIPTOR_MAGIC {
        return Err(LoadFailure::BadDescriptor("wrong magic bytes".into()));
    }
    if descriptor.descriptor_version != 1 {
        return Err(LoadFailure::BadDescriptor(format!(
            "descriptor layout {} (this node reads 1)",
            descriptor.descriptor_version
        )));
    }
    // SAFETY: magic and layout version match what export_plugin! writes.
    let (name, version, api_crate_version) = unsafe { descriptor.strings() };
    if descriptor.abi_version != PLUGIN_ABI_VERSION {
        return Err(LoadFailure::AbiVersion {
            name,
            version,
            found: descriptor.abi_version,
            api_crate_version,
        });
    }
    let kind = PluginKind::from_u32(descriptor.kind).ok_or_else(|| {
        LoadFailure::BadDescriptor(format!("unknown plugin kind {}", descriptor.kind))
    })?;
    Ok(DescriptorInfo {
        name,
        version,
        kind,
        api_crate_version,
    })
}
