//! `parley stop`: stops the node that runs on a config's data directory, the way SIGTERM does
//! (an orderly shutdown: channels persisted, the API address removed), and waits until it
//! has exited.

use super::NodeOptions;
use crate::cli::{CliError, CliResult};
use crate::config::NodeConfig;
use crate::data_dir_lock::holder;
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long `parley stop` waits for the node to exit.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

/// `parley stop`.
#[derive(Debug, Args)]
#[command(after_help = "\
The node is found through the data directory of its config (the process holding its lock); it \
gets SIGTERM, finishes what it is writing and exits. Stopping a node that is not running is no \
error.

Example:
  parley stop --config alice/node.toml")]
pub struct StopArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
}

const SIGTERM: i32 = 15;

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

impl StopArgs {
    /// Stops the node and waits for it to exit.
    pub fn run(self) -> CliResult {
        let config = NodeConfig::load(&self.options.config)?;
        let dir = &config.node.data_dir;
        let read = || {
            holder(dir).map_err(|e| {
                CliError::new(format!(
                    "cannot read the lock of the data directory {}: {e}",
                    dir.display()
                ))
            })
        };
        let Some(pid) = read()? else {
            report(self.options.json, "not running", None);
            return Ok(ExitCode::SUCCESS);
        };
        let pid = pid.ok_or_else(|| {
            CliError::new(format!(
                "a process holds the data directory {} but its pid cannot be read from {}",
                dir.display(),
                crate::data_dir_lock::LOCK_FILE
            ))
        })?;
        let signed = i32::try_from(pid)
            .map_err(|_| CliError::new(format!("the lock names pid {pid}, which is no pid")))?;
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        if unsafe { kill(signed, SIGTERM) } != 0 {
            let error = std::io::Error::last_os_error();
            return Err(CliError::new(format!(
                "cannot send SIGTERM to the node (pid {pid}): {error}"
            )));
        }
        let deadline = Instant::now() + EXIT_WITHIN;
        while read()?.is_some() {
            if Instant::now() >= deadline {
                return Err(CliError::new(format!(
                    "the node (pid {pid}) got SIGTERM but has not exited after {} s; its log \
                     says what it is waiting for",
                    EXIT_WITHIN.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        report(self.options.json, "stopped", Some(pid));
        Ok(ExitCode::SUCCESS)
    }
}

fn report(json: bool, outcome: &str, pid: Option<u32>) {
    if json {
        println!("{}", serde_json::json!({ "outcome": outcome, "pid": pid }));
    } else {
        match pid {
            Some(pid) => println!("{outcome} (pid {pid})"),
            None => println!("{outcome}"),
        }
    }
}
