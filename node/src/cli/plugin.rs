//! `parley plugin check|info`: load any plugin library and check it against its contracts.

use super::{CliError, CliResult};
use crate::host::{instantiate, LoadFailure, PluginHandle, PluginLibrary};
use clap::Subcommand;
use parley_plugin_api::abi::{HostContext, PluginKind};
use parley_plugin_api::conformance::{self, Report};
use parley_plugin_api::{
    App, ChainBackend, Durability, PluginError, PluginResult, Store, Transport,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// `parley plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Load a plugin library and run the conformance suite of its kind against it, one line per
    /// contract; exits non-zero if any contract fails.
    Check {
        /// The plugin library (a .so file).
        file: PathBuf,
        /// A TOML file with the plugin's table for the checks (default: the table the plugin
        /// itself suggests, which needs no outside services).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print what a plugin library says about itself.
    Info {
        /// The plugin library (a .so file).
        file: PathBuf,
    },
}

pub fn run(command: PluginCommand, verbose: bool) -> CliResult {
    match command {
        PluginCommand::Check { file, config } => check(&file, config.as_deref(), verbose),
        PluginCommand::Info { file } => {
            let library =
                PluginLibrary::open(&file, None).map_err(|e| CliError::load(e, verbose))?;
            print_library(&library);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_library(library: &PluginLibrary) {
    println!("plugin       {} {}", library.name, library.version);
    println!("kind         {}", library.kind);
    println!("file         {}", library.path.display());
    println!("about        {}", library.description);
    println!(
        "built with   parley-plugin-api {} (ABI {} revision {}; this node: revision {})",
        library.api_crate_version,
        parley_plugin_api::PLUGIN_ABI_VERSION,
        library.abi_revision,
        parley_plugin_api::ABI_REVISION
    );
}

/// What a store says of its commits, for `plugin check`.
fn print_durability(store: &dyn Store) {
    let said = match store.durability() {
        Durability::Durable => "durable commits",
        Durability::NotDurable => "commits NOT durable (a crash may lose the last ones)",
        Durability::Unknown => {
            "not stated (built before ABI revision 1; the contract promises durable commits)"
        }
    };
    println!("durability   {said}");
}

fn check(file: &std::path::Path, config: Option<&std::path::Path>, verbose: bool) -> CliResult {
    let library = PluginLibrary::open(file, None).map_err(|e| CliError::load(e, verbose))?;
    let table = match config {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?,
        None => library.check_config.clone(),
    };
    print_library(&library);
    println!();
    let report = run_suite(&library, &table);
    print_report(&report);
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the suite for the library's kind, creating instances with `table`.
pub fn run_suite(library: &PluginLibrary, table: &str) -> Report {
    let make = |context: HostContext| -> PluginResult<PluginHandle> {
        instantiate(library, "check", library.kind, table, context).map_err(|e| match *e.reason {
            LoadFailure::Instantiate { error, .. } => error,
            _ => PluginError::internal(e.to_string()),
        })
    };
    match library.kind {
        PluginKind::Store => {
            let said = std::sync::Once::new();
            conformance::store::run(&|context| match make(context)? {
                PluginHandle::Store(store) => {
                    let store = unique(store)?;
                    said.call_once(|| print_durability(&store));
                    Ok(Box::new(store) as Box<dyn Store>)
                }
                _ => Err(PluginError::internal("not a store")),
            })
        }
        PluginKind::Transport => conformance::transport::run(&|context| match make(context)? {
            PluginHandle::Transport(t) => Ok(Box::new(unique(t)?) as Box<dyn Transport>),
            _ => Err(PluginError::internal("not a transport")),
        }),
        PluginKind::Chain => conformance::chain::run(&|context| match make(context)? {
            PluginHandle::Chain(c) => Ok(Box::new(unique(c)?) as Box<dyn ChainBackend>),
            _ => Err(PluginError::internal("not a chain backend")),
        }),
        PluginKind::App => conformance::app::run(&|context| match make(context)? {
            PluginHandle::App(a) => Ok(Box::new(unique(a)?) as Box<dyn App>),
            _ => Err(PluginError::internal("not an app")),
        }),
    }
}

/// A freshly created instance is not shared yet; take it out of its `Arc`.
fn unique<T>(instance: std::sync::Arc<T>) -> PluginResult<T> {
    std::sync::Arc::try_unwrap(instance)
        .map_err(|_| PluginError::internal("instance already shared"))
}

fn print_report(report: &Report) {
    for outcome in &report.checks {
        let ms = outcome.elapsed.as_millis();
        match &outcome.result {
            Ok(()) => println!("ok    {}  ({ms} ms)", outcome.contract),
            Err(why) => println!("FAIL  {}  ({ms} ms)\n      {why}", outcome.contract),
        }
    }
    let failed = report.checks.iter().filter(|c| c.result.is_err()).count();
    println!();
    println!(
        "conformance: {} passed, {} failed",
        report.checks.len() - failed,
        failed
    );
}
