//! `parley demo`: two nodes as separate processes on one simulated chain open a channel, pay
//! each other both ways, settle, and the chain's balances are checked against the channel's.
//!
//! The demo itself is [`crate::lab::demo`], on a [`crate::lab::Processes`] lab; this command
//! adds its arguments, the signals that end it, and what it prints:
//!
//! - [`narrator`]: the story on stdout, as the demo reports its steps.
//! - [`progress`]: the progress bar of the payments on stderr.
//!
//! Every way out stops the nodes and removes the directory (unless `--keep`): the normal end,
//! an error, SIGINT (Ctrl-C), SIGTERM or SIGHUP racing the demo, and a panic (the processes
//! are killed when their owner is dropped). Only SIGKILL of the demo itself leaves them behind.

mod narrator;
mod progress;

use super::{CliError, CliResult};
use crate::lab::{Processes, Workspace};
use clap::Args;
use narrator::Narrator;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// How long a node has to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Arguments of `parley demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
The demo needs nothing but this binary and the built-in plugins next to it. It writes two
node configs (alice, bob) and a shared sim-chain ledger into a temporary directory, starts
`parley run` twice, and drives both nodes through their JSON-RPC APIs. The nodes' logs are
<dir>/alice.log and <dir>/bob.log; the directory is removed at the end, also on Ctrl-C and
on errors, unless --keep is given.

Exit status: 0 when the chain paid out exactly the final channel balances; 1 on any error or
mismatch; 130 when interrupted with Ctrl-C (143 on SIGTERM, 129 on SIGHUP).

Examples:
  parley demo
  parley demo --payments 10000 --in-flight 4
  parley demo --keep --json > demo.json")]
pub struct DemoArgs {
    /// Payments in each direction (alice -> bob and bob -> alice, at the same time).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    payments: u64,
    /// Payment calls kept outstanding per direction; 1 (the default) pays one after another.
    ///
    /// A channel signs one update at a time, so more calls in flight only wait in the node's
    /// queue, and they make the two directions' updates collide more often.
    // Measured (release build, 2-core VM, 1,000 payments each way): 1 in flight reached
    // 836-904 updates/s in total (p50 2.1 ms, p99 3.8-4.0 ms); 2, 4 and 8 reached 646-684,
    // with p50 latency growing with the window and every second payment of bob's losing a race.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    in_flight: u16,
    /// Keep the temporary directory (configs, data, logs) for inspection; prints its path.
    #[arg(long)]
    keep: bool,
    /// Print the figures and checks as one JSON document on stdout instead of the story.
    #[arg(long)]
    json: bool,
}

/// Runs `parley demo`.
pub fn run(args: DemoArgs) -> CliResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("parley-demo")
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(demo(args))
}

/// How the demo's main part ended.
enum Ending {
    Finished(Result<crate::lab::demo::Summary, CliError>),
    Interrupted(&'static str),
}

async fn demo(args: DemoArgs) -> CliResult {
    // Listening before the first node starts: a Ctrl-C at any moment is ours to handle.
    let mut signals = StopSignals::register()?;
    let mut narrator = Narrator { quiet: args.json };
    let mut lab = create_lab()?;
    narrator.line(&format!(
        "parley demo: workspace {} (logs alice.log, bob.log; {})",
        lab.path().display(),
        if args.keep {
            "kept at the end"
        } else {
            "removed at the end unless --keep"
        }
    ));
    let ending = tokio::select! {
        result = crate::lab::demo::run(
            &mut lab,
            args.payments,
            usize::from(args.in_flight),
            &mut narrator,
        ) => Ending::Finished(result.map_err(CliError::from)),
        name = signals.received() => Ending::Interrupted(name),
    };
    if let Ending::Interrupted(name) = ending {
        let files = if args.keep {
            ""
        } else {
            " and removing the demo's files"
        };
        eprintln!("{name} received: stopping the nodes{files}");
    }

    // A second signal while the nodes stop means "now": they are killed at once.
    let warnings = tokio::select! {
        warnings = lab.stop(STOP_GRACE) => warnings,
        _ = signals.received() => {
            lab.kill_all();
            vec!["stopping was interrupted; the nodes were killed".to_owned()]
        }
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let workspace = lab.path().display().to_string();
    // A directory that cannot be removed is worth a warning, not the demo's outcome.
    let kept = match lab.finish(args.keep) {
        Ok(Some(path)) => {
            eprintln!("kept the demo's directory: {}", path.display());
            true
        }
        Ok(None) => false,
        Err(error) => {
            eprintln!(
                "warning: cannot remove the demo's directory {workspace}: {error}; remove it by hand"
            );
            false
        }
    };

    match ending {
        // The shell's convention: 128 + the signal's number.
        Ending::Interrupted(name) => Ok(ExitCode::from(match name {
            "SIGHUP" => 129,
            "SIGTERM" => 143,
            _ => 130,
        })),
        Ending::Finished(Err(error)) => Err(error),
        Ending::Finished(Ok(mut summary)) => {
            summary.workspace = workspace;
            summary.kept = kept;
            if args.json {
                let text = serde_json::to_string_pretty(&summary)
                    .map_err(|e| CliError::new(format!("cannot encode the summary: {e}")))?;
                writeln!(std::io::stdout(), "{text}")
                    .map_err(|e| CliError::new(format!("cannot write the summary: {e}")))?;
            }
            if summary.balance_check_ok {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(CliError::new(format!(
                    "the balance check failed: {}",
                    summary.mismatches.join("; ")
                )))
            }
        }
    }
}

/// The demo's lab: a fresh temporary directory, nodes that run this binary with the built-in
/// plugins next to it.
fn create_lab() -> Result<Processes, CliError> {
    let workspace = Workspace::create("parley-demo-").map_err(|e| {
        CliError::new(format!(
            "cannot create a temporary directory for the demo in {}: {e}; set TMPDIR to a \
             writable directory",
            std::env::temp_dir().display()
        ))
    })?;
    let parley = std::env::current_exe().map_err(|e| {
        CliError::new(format!(
            "cannot find the parley binary to start the nodes with: {e}"
        ))
    })?;
    let base = crate::lab::config::built_in_plugins(&workspace.path().join("base.toml"), "info")?;
    Ok(Processes::new(base, workspace, parley)?)
}

/// SIGINT, SIGTERM and SIGHUP: each ends the demo the same orderly way.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    fn register() -> Result<StopSignals, CliError> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| CliError::new(format!("cannot listen for {name}: {e}")))
        };
        Ok(StopSignals {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// Completes with the name of the next signal received.
    async fn received(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}
