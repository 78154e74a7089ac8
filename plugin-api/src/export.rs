//! `export_plugin!`: what turns a crate into a loadable Parley plugin.

use crate::abi::ffi::FfiAppBox;
use crate::abi::host::Host;
use crate::abi::{
    HostContext, Instantiate, InstantiateApp, PluginInstance, PluginKind, PluginModule,
    PluginModuleRef, ABI_REVISION,
};
use crate::error::{PluginError, PluginResult};
use crate::panic::{catch, route_panics_to_host};
use crate::ChainBackend;
use abi_stable::prefix_type::PrefixTypeTrait;

/// Exports a plugin from a `cdylib` crate.
///
/// ```ignore
/// parley_plugin_api::export_plugin! {
///     kind: Store,                       // Chain, Transport, Store or App
///     name: "memory",                    // what `node.toml` and logs call it
///     description: "An in-memory store",
///     check_config: "",                  // optional: the table `parley plugin check` uses
///     new: MemoryStore::new,             // fn(&str, Host) -> PluginResult<MemoryStore>
/// }
/// ```
///
/// `new` receives the plugin's TOML table from `node.toml` as text (parse it with
/// [`crate::config::parse_table`] for exact error messages) and a [`Host`] for logging, events
/// and paths. It is called once per configured instance. Panics inside `new` and inside every
/// interface method are caught and returned as errors, and reported (with a backtrace when
/// `RUST_BACKTRACE` asks) through the node's log rather than on stderr.
///
/// The macro writes the two exported symbols of [`crate::abi`], with fixed names: call it once,
/// in the `cdylib` crate that becomes the plugin, never in a library crate that others link.
/// A plugin's code can live in an ordinary library crate that several plugin crates share
/// (each a few lines: `export_plugin!` naming the shared constructor); see
/// `tests/external-plugins` in the Parley repository for two stores built that way.
#[macro_export]
macro_rules! export_plugin {
    (kind: $kind:ident, name: $name:literal, description: $description:literal,
     $(check_config: $check:literal,)? new: $new:path $(,)?) => {
        $crate::export_plugin! {
            @with_abi_version $crate::abi::PLUGIN_ABI_VERSION;
            kind: $kind, name: $name, description: $description,
            $(check_config: $check,)? new: $new
        }
    };
    // Hidden form that lets the test suite build a plugin that claims another ABI version.
    (@with_abi_version $abi:expr; kind: $kind:ident, name: $name:literal,
     description: $description:literal, $(check_config: $check:literal,)? new: $new:path $(,)?) => {
        #[unsafe(no_mangle)]
        #[used]
        pub static PARLEY_PLUGIN_DESCRIPTOR: $crate::abi::PluginDescriptor =
            $crate::abi::PluginDescriptor {
                magic: $crate::abi::DESCRIPTOR_MAGIC,
                descriptor_version: 1,
                abi_version: $abi,
                kind: $crate::abi::PluginKind::$kind as u32,
                name: concat!($name, "\0").as_ptr() as *const ::std::ffi::c_char,
                version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const ::std::ffi::c_char,
                api_crate_version: $crate::API_CRATE_VERSION_NUL.as_ptr() as *const ::std::ffi::c_char,
            };

        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        #[used]
        pub static PARLEY_PLUGIN_ROOT_MODULE: $crate::__private::LibHeader = {
            extern "C" fn instantiate(
                config: $crate::__private::RStr<'_>,
                host: $crate::abi::HostContext,
            ) -> $crate::__private::RResult<$crate::abi::PluginInstance, $crate::PluginError> {
                $crate::__private::$kind::instance(config, host, $new)
            }
            extern "C" fn instantiate_app(
                config: $crate::__private::RStr<'_>,
                host: $crate::abi::HostContext,
            ) -> $crate::__private::RResult<$crate::abi::ffi::FfiAppBox, $crate::PluginError> {
                $crate::__private::$kind::app(config, host, $new)
            }
            fn root_module() -> $crate::abi::PluginModuleRef {
                $crate::__private::root_module(
                    $abi,
                    $crate::abi::PluginKind::$kind,
                    $name,
                    env!("CARGO_PKG_VERSION"),
                    $description,
                    concat!("" $(, $check)?),
                    instantiate,
                    instantiate_app,
                )
            }
            extern "C" fn erased() -> $crate::__private::RootModuleResult {
                $crate::__private::call_root_module_loader(root_module)
            }
            // SAFETY: `erased` returns the `PluginModuleRef` built by `root_module`.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::abi::PluginModuleRef>(
                    erased,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

/// Support for `export_plugin!`; not part of the stable API.
#[doc(hidden)]
pub mod __private {
    use super::*;
    pub use abi_stable::library::{
        __call_root_module_loader as call_root_module_loader, CheckTypeLayout, LibHeader,
        RootModuleResult,
    };
    pub use abi_stable::std_types::{RResult, RStr};

    /// Builds the root module (leaked once per library, as abi_stable expects). Called only by
    /// the macro, which names every argument.
    #[allow(clippy::too_many_arguments)]
    pub fn root_module(
        abi_version: u32,
        kind: PluginKind,
        name: &'static str,
        version: &'static str,
        description: &'static str,
        check_config: &'static str,
        instantiate: Instantiate,
        instantiate_app: InstantiateApp,
    ) -> PluginModuleRef {
        PluginModule {
            abi_version,
            kind: kind as u32,
            name: RStr::from_str(name),
            version: RStr::from_str(version),
            description: RStr::from_str(description),
            check_config: RStr::from_str(check_config),
            instantiate,
            abi_revision: ABI_REVISION,
            instantiate_app,
            grown_at: ABI_REVISION,
            host_grown_at: ABI_REVISION,
        }
        .leak_into_prefix()
    }

    fn construct<T, I>(
        config: RStr<'_>,
        host: HostContext,
        new: fn(&str, Host) -> PluginResult<T>,
        wrap: impl FnOnce(T, Host) -> I,
    ) -> RResult<I, PluginError> {
        let host = Host::new(host);
        // Before the constructor runs, so that its panics are logged through the host too.
        route_panics_to_host();
        host.scope(|| {
            catch("the plugin's constructor", || {
                new(config.as_str(), host.clone()).map(|instance| wrap(instance, host.clone()))
            })
        })
        .into()
    }

    /// What a constructor of the wrong kind answers.
    fn wrong_kind<I>(asked: PluginKind, actual: PluginKind) -> RResult<I, PluginError> {
        RResult::RErr(PluginError::unsupported(format!(
            "this plugin is a {actual} plugin, not a{} {asked} plugin",
            if asked == PluginKind::App { "n" } else { "" }
        )))
    }

    /// The constructors of a chain backend.
    #[allow(non_snake_case)]
    pub mod Chain {
        use super::*;

        /// Instantiates a chain backend.
        pub fn instance<C: ChainBackend>(
            config: RStr<'_>,
            host: HostContext,
            new: fn(&str, Host) -> PluginResult<C>,
        ) -> RResult<PluginInstance, PluginError> {
            construct(config, host, new, |c, host| {
                PluginInstance::Chain(crate::chain::export_chain(c, host))
            })
        }

        /// A chain backend is not an app.
        pub fn app<C>(
            _: RStr<'_>,
            _: HostContext,
            _: fn(&str, Host) -> PluginResult<C>,
        ) -> RResult<FfiAppBox, PluginError> {
            wrong_kind(PluginKind::App, PluginKind::Chain)
        }
    }

    /// The constructors of a transport.
    #[allow(non_snake_case)]
    pub mod Transport {
        use super::*;

        /// Instantiates a transport.
        pub fn instance<T: crate::Transport>(
            config: RStr<'_>,
            host: HostContext,
            new: fn(&str, Host) -> PluginResult<T>,
        ) -> RResult<PluginInstance, PluginError> {
            construct(config, host, new, |t, host| {
                PluginInstance::Transport(crate::transport::export_transport(t, host))
            })
        }

        /// A transport is not an app.
        pub fn app<T>(
            _: RStr<'_>,
            _: HostContext,
            _: fn(&str, Host) -> PluginResult<T>,
        ) -> RResult<FfiAppBox, PluginError> {
            wrong_kind(PluginKind::App, PluginKind::Transport)
        }
    }

    /// The constructors of a store.
    #[allow(non_snake_case)]
    pub mod Store {
        use super::*;

        /// Instantiates a store.
        pub fn instance<S: crate::Store>(
            config: RStr<'_>,
            host: HostContext,
            new: fn(&str, Host) -> PluginResult<S>,
        ) -> RResult<PluginInstance, PluginError> {
            construct(config, host, new, |s, host| {
                PluginInstance::Store(crate::store::export_store(s, host))
            })
        }

        /// A store is not an app.
        pub fn app<S>(
            _: RStr<'_>,
            _: HostContext,
            _: fn(&str, Host) -> PluginResult<S>,
        ) -> RResult<FfiAppBox, PluginError> {
            wrong_kind(PluginKind::App, PluginKind::Store)
        }
    }

    /// The constructors of an app.
    #[allow(non_snake_case)]
    pub mod App {
        use super::*;

        /// An app is made by [`app`], never as a [`PluginInstance`] (that enum is frozen for
        /// the generation).
        pub fn instance<A>(
            _: RStr<'_>,
            _: HostContext,
            _: fn(&str, Host) -> PluginResult<A>,
        ) -> RResult<PluginInstance, PluginError> {
            RResult::RErr(PluginError::unsupported(
                "this plugin is an app plugin: instantiate it through the root module's \
                 `instantiate_app` (a node of ABI revision 2 or later does)",
            ))
        }

        /// Instantiates an app.
        pub fn app<A: crate::App>(
            config: RStr<'_>,
            host: HostContext,
            new: fn(&str, Host) -> PluginResult<A>,
        ) -> RResult<FfiAppBox, PluginError> {
            construct(config, host, new, crate::app::export_app)
        }
    }
}
