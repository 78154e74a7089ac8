//! The binary interface between the node and a plugin library (DESIGN §3).
//!
//! A plugin library exports two symbols, both written by [`export_plugin!`](crate::export_plugin):
//!
//! 1. [`PluginDescriptor`] under [`DESCRIPTOR_SYMBOL`]: a plain C struct whose layout never
//!    changes, so that any node can read any plugin's kind, name and ABI version before anything
//!    else, and refuse a mismatch in one sentence.
//! 2. abi_stable's root module ([`PluginModule`]), whose layout abi_stable checks in full; it holds
//!    the constructor that turns the plugin's TOML table into an instance.
//!
//! The instance is one of the FFI trait objects of [`ffi`]; the node never sees plugin types.
//! Composite values cross as the canonical encoding of [`crate::codec`], which is why the ABI
//! needs so few types.
//!
//! # Versions and growth
//! [`PLUGIN_ABI_VERSION`] names a generation of the ABI: a node loads only plugins of its own
//! generation. Within a generation the ABI grows without breaking built plugins, in both
//! directions, and [`ABI_REVISION`] counts the additions:
//! - **Methods** are appended to the FFI trait objects after their fixed prefix, with defaults
//!   ([`ffi`]); **host capabilities** likewise on [`HostContext`].
//! - **Root module fields** are appended to [`PluginModule`]: a node reads them as `Option`,
//!   `None` for a plugin built before them. A **new plugin kind** is a new constructor field
//!   there, never a new variant of [`PluginInstance`].
//! - **A nested table grows only with every table around it.** abi_stable merges the layout
//!   of each prefix table across all libraries loaded into the process, and checks the tables
//!   nested in it through the merged layout; where an outer table has the same length in an
//!   older plugin as in the node, the older plugin's nested tables can win the merge, and
//!   every up-to-date plugin loaded after it is refused. So a revision that appends to a
//!   table also appends to each table on the way to it from the root module: revision 3 adds
//!   [`ffi::FfiChain::registered_state`] to the instance table (not to the ledger table
//!   inside it) and [`PluginModule::grown_at`] to the root module; revision 4 adds
//!   [`host::FfiHost::log_fields`] to the host's table, which the constructors take, and
//!   [`PluginModule::host_grown_at`] to the root module.
//! - **Enums that cross the boundary** have an unknown-variant path: error kinds and log levels
//!   are numbers with a defined reading for unknown values ([`crate::ErrorKind`],
//!   [`LogLevel`]); an event whose variant the node does not know is skipped with a warning;
//!   a request with a variant an older plugin does not know is refused with
//!   `InvalidArgument` by the codec.
//! - abi_stable's own version check compares [`ABI_VERSION_STRINGS`], which changes with the
//!   generation only, never with this crate's semver: a plugin is not refused for having been
//!   built against another release of the crate when its ABI did not change.
//! - abi_stable also records this crate's version in every type layout and refuses layouts
//!   of semver-incompatible releases (for a `0.x` crate, another minor version). So the
//!   crate's minor version is tied to the generation: every revision of generation 3 is a
//!   `0.2.x` release (revision 2 is 0.2.1, revision 3 is 0.2.2, revision 4 is 0.2.3), and only
//!   a new generation may move to `0.3`.

pub mod ffi;
pub mod host;

use crate::error::PluginError;
use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr},
    StableAbi,
};
use std::ffi::{c_char, CStr};
use std::fmt;

pub use host::{HostContext, LogLevel};

/// The generation of the plugin ABI this crate defines. A node loads only plugins built
/// against the same number; it changes only for an incompatible change (a method's signature or
/// contract, the encoding of a value, a moved prefix). 3: growable tables and host, the chain
/// split into signer, ledger and test clock.
pub const PLUGIN_ABI_VERSION: u32 = 3;

/// How many compatible additions this crate has made to generation [`PLUGIN_ABI_VERSION`].
/// Plugins and nodes of any revision of one generation work together; each side sees the
/// other's additions only if it knows them. Revision 1: the store's durability answer and this
/// number in the root module. Revision 2: the app kind ([`PluginKind::App`], constructed by
/// [`PluginModule::instantiate_app`]), and the host's capability to hand a plugin the rules of
/// one of the node's apps ([`host::FfiHost::app_rules`], used through
/// [`Host::app`](crate::Host::app)). Revision 3: the chain ledger reads the state on record
/// ([`ChainLedger::registered_state`](crate::ChainLedger::registered_state), appended to
/// [`ffi::FfiChain`], see there why not to the ledger's table), so that a node can follow an
/// app channel's force execution. Revision 4: the host takes log lines with their fields
/// apart ([`host::FfiHost::log_fields`], used by the `tracing` forwarder), so that a node
/// logging JSON keeps a plugin's fields as fields; and [`PluginModule::host_grown_at`].
pub const ABI_REVISION: u32 = 4;

/// What abi_stable's version check compares: `<generation>.0.0`, the same for every revision
/// and every release of this crate within a generation.
pub const ABI_VERSION_STRINGS: VersionStrings = VersionStrings::new("3.0.0");

/// The exported symbol that holds a library's [`PluginDescriptor`].
pub const DESCRIPTOR_SYMBOL: &str = "PARLEY_PLUGIN_DESCRIPTOR";

/// The first bytes of every [`PluginDescriptor`], so that a symbol of the right name from some
/// other library is not mistaken for one.
pub const DESCRIPTOR_MAGIC: [u8; 16] = *b"parley-plugin\0\0\0";

/// The name abi_stable gives the root module's static; [`export_plugin!`](crate::export_plugin)
/// writes it out literally (a unit test keeps the two in step).
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Which of the interfaces a plugin implements. Crosses the boundary as its number (the
/// descriptor's and root module's `kind`), so a node reads a kind it does not know as `None`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PluginKind {
    /// A ledger: [`ChainBackend`](crate::ChainBackend).
    Chain = 1,
    /// A network transport: [`Transport`](crate::Transport).
    Transport = 2,
    /// A key-value store: [`Store`](crate::Store).
    Store = 3,
    /// An app's rules: [`App`](crate::App) (revision 2).
    App = 4,
}

impl PluginKind {
    /// The kind for a descriptor's `kind` field, if it names one.
    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(PluginKind::Chain),
            2 => Some(PluginKind::Transport),
            3 => Some(PluginKind::Store),
            4 => Some(PluginKind::App),
            _ => None,
        }
    }

    /// The name used in `node.toml` sections and messages: `chain`, `transport`, `store`,
    /// `app`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Chain => "chain",
            PluginKind::Transport => "transport",
            PluginKind::Store => "store",
            PluginKind::App => "app",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fixed-layout header every plugin library exports under [`DESCRIPTOR_SYMBOL`].
///
/// This layout is frozen for all ABI versions: fields may never be reordered, resized or
/// removed, so that a node can always read it, whatever the plugin was built against.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDescriptor {
    /// Always [`DESCRIPTOR_MAGIC`].
    pub magic: [u8; 16],
    /// The layout version of this struct itself; 1.
    pub descriptor_version: u32,
    /// The [`PLUGIN_ABI_VERSION`] the plugin was built against.
    pub abi_version: u32,
    /// The [`PluginKind`] as a number.
    pub kind: u32,
    /// The plugin's name, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// The plugin's own version, NUL-terminated UTF-8.
    pub version: *const c_char,
    /// The version of the `parley-plugin-api` crate it was built with, NUL-terminated UTF-8.
    pub api_crate_version: *const c_char,
}

// SAFETY: the pointers point at `'static` string literals and are never written through.
unsafe impl Sync for PluginDescriptor {}

impl PluginDescriptor {
    /// Reads the descriptor's strings.
    ///
    /// # Safety
    /// `self` must be a descriptor exported by a loaded library that stays loaded, with valid
    /// NUL-terminated strings (as written by `export_plugin!`).
    pub unsafe fn strings(&self) -> (String, String, String) {
        let read = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: guaranteed by the caller.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        (
            read(self.name),
            read(self.version),
            read(self.api_crate_version),
        )
    }
}

/// The constructor of a plugin instance: the plugin's TOML table from `node.toml` (as text,
/// without the `plugin` key) and the host context.
pub type Instantiate =
    extern "C" fn(config: RStr<'_>, host: HostContext) -> RResult<PluginInstance, PluginError>;

/// The root module of a plugin library, checked by abi_stable on load. A prefix type: fields
/// after `instantiate` are later revisions' and read as `Option` (see the module docs).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
pub struct PluginModule {
    /// Same as the descriptor's.
    pub abi_version: u32,
    /// Same as the descriptor's: a [`PluginKind`] number.
    pub kind: u32,
    /// The plugin's name.
    pub name: RStr<'static>,
    /// The plugin's version.
    pub version: RStr<'static>,
    /// One line saying what the plugin does.
    pub description: RStr<'static>,
    /// The TOML table `parley plugin check` gives the plugin when the user names none: settings
    /// under which the conformance suite can run on this machine without outside services
    /// (for example two funded accounts on a simulated ledger). May be empty.
    pub check_config: RStr<'static>,
    /// Creates an instance of one of the first three kinds (an app plugin answers
    /// `Unsupported`: apps are made by `instantiate_app`). May be called several times (two
    /// instances of one library, each with its own table); instances must not share mutable
    /// state through statics.
    #[sabi(last_prefix_field)]
    pub instantiate:
        extern "C" fn(config: RStr<'_>, host: HostContext) -> RResult<PluginInstance, PluginError>,
    /// The [`ABI_REVISION`] the plugin was built at (revision 1 on; absent means 0).
    pub abi_revision: u32,
    /// Creates an app instance (revision 2 on; absent on older plugins, which are never
    /// apps). A plugin of another kind answers `Unsupported`; an app plugin's `instantiate`
    /// does.
    pub instantiate_app:
        extern "C" fn(config: RStr<'_>, host: HostContext) -> RResult<ffi::FfiAppBox, PluginError>,
    /// Revision 3 on: the revision again (as `abi_revision`). It carries nothing new; it is
    /// there so that the root module grows with every revision that grows a table reached
    /// from it (see the module docs on growth).
    pub grown_at: u32,
    /// Revision 4 on: the revision again, for the same reason as `grown_at`: revision 4 grows
    /// the host's table ([`host::FfiHost::log_fields`]), which every constructor above takes.
    pub host_grown_at: u32,
}

/// The constructor of an app instance: like [`Instantiate`], for [`PluginKind::App`].
pub type InstantiateApp =
    extern "C" fn(config: RStr<'_>, host: HostContext) -> RResult<ffi::FfiAppBox, PluginError>;

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "parley_plugin";
    const NAME: &'static str = "parley plugin";
    const VERSION_STRINGS: VersionStrings = ABI_VERSION_STRINGS;
}

/// A plugin instance as it crosses the boundary. Frozen for the generation: a new kind of
/// plugin gets its own constructor field in [`PluginModule`], not a variant here.
#[repr(u8)]
#[derive(StableAbi)]
pub enum PluginInstance {
    /// A chain backend.
    Chain(ffi::FfiChainBox),
    /// A transport.
    Transport(ffi::FfiTransportBox),
    /// A store.
    Store(ffi::FfiStoreBox),
}

impl PluginInstance {
    /// Which kind of instance this is.
    pub fn kind(&self) -> PluginKind {
        match self {
            PluginInstance::Chain(_) => PluginKind::Chain,
            PluginInstance::Transport(_) => PluginKind::Transport,
            PluginInstance::Store(_) => PluginKind::Store,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            super::ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
