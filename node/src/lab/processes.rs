//! Lab nodes as `parley run` child processes, each logging to `<dir>/<name>.log` and driven
//! through its JSON-RPC API, as a user's program would: what the demo uses.
//!
//! The processes are fields of [`Processes`] declared before the workspace, so on every way out
//! (including a panic) they are killed before their files are removed.

use super::child::{describe_exit, ChildProcess, Stopped};
use super::{LabError, NodeSettings, Workspace};
use crate::api::client::ApiClient;
use crate::api::types::NodeInfo;
use crate::config::NodeConfig;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a node may take from spawn to answering its API (a debug build loading three
/// plugins and creating its keys takes about a second).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How many log lines an error shows.
const TAIL_LINES: usize = 15;

/// How often the watchdog and the start-up wait look at the processes.
const POLL: Duration = Duration::from_millis(25);

/// A node that answers its API.
#[derive(Debug, Clone)]
pub struct StartedNode {
    /// Its name in the lab (`alice`).
    pub name: &'static str,
    /// Its API client (shared by the payment tasks).
    pub client: Arc<ApiClient>,
    /// What `node_info` said.
    pub info: NodeInfo,
    /// The process id.
    pub pid: u32,
}

/// The nodes of one lab, each a child process.
pub struct Processes {
    /// Declared before `workspace`: dropped (killed) first.
    nodes: Vec<ChildProcess>,
    workspace: Workspace,
    base: NodeConfig,
    /// The `parley` binary the nodes run.
    parley: PathBuf,
}

impl Processes {
    /// A lab in `workspace` whose nodes run `parley run` of the binary `parley`, with the
    /// plugins of `base` (its chain must be the sim chain).
    pub fn new(
        base: NodeConfig,
        workspace: Workspace,
        parley: PathBuf,
    ) -> Result<Processes, LabError> {
        super::config::require_sim_chain(&base)?;
        Ok(Processes {
            nodes: Vec::new(),
            workspace,
            base,
            parley,
        })
    }

    /// The lab's directory.
    pub fn path(&self) -> &Path {
        self.workspace.path()
    }

    /// Writes the config of node `name` with `settings`, starts `parley run` on it and waits
    /// until its API answers. An exit or a timeout on the way is an error showing the end of
    /// its log.
    pub async fn start(
        &mut self,
        name: &'static str,
        settings: &NodeSettings,
    ) -> Result<StartedNode, LabError> {
        let config = self.workspace.write_config(name, &self.base, settings)?;
        let mut command = Command::new(&self.parley);
        command.arg("run").arg("--config").arg(&config.file);
        // A process group of its own: Ctrl-C in the terminal reaches only the lab's owner,
        // which then stops the nodes in order instead of racing their own shutdown.
        command.process_group(0);
        let log = self.workspace.log_path(name);
        let mut child = ChildProcess::spawn(name, command, &log).map_err(|e| {
            LabError::failed(format!(
                "cannot start {name} ({}): {e}",
                self.parley.display()
            ))
        })?;
        let pid = child.pid();
        // Kept even when it failed to start: `stop` and `finish` account for every process.
        let answered = await_api(&mut child, &config).await;
        self.nodes.push(child);
        let (client, info) = answered?;
        Ok(StartedNode {
            name,
            client: Arc::new(client),
            info,
            pid,
        })
    }

    /// Completes, with the error to report, as soon as any node exits on its own.
    pub async fn watch(&mut self) -> LabError {
        loop {
            if let Some(error) = self.death_report() {
                return error;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The error for a node that has exited, if one has.
    fn death_report(&mut self) -> Option<LabError> {
        self.nodes.iter_mut().find_map(|node| {
            node.exited().map(|status| {
                LabError::failed(format!(
                    "{} (pid {}) stopped unexpectedly: it {}; the last lines of its log {}:\n{}",
                    node.name(),
                    node.pid(),
                    describe_exit(status),
                    node.log().display(),
                    node.log_tail(TAIL_LINES)
                ))
            })
        })
    }

    /// The death of a node, if one dies within `patience`: a failed call may come a few
    /// milliseconds before the exit can be seen.
    pub async fn death_within(&mut self, patience: Duration) -> Option<LabError> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(death) = self.death_report() {
                return Some(death);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops every node (SIGTERM to all, then up to `grace` each, then SIGKILL). Returns a
    /// warning per node that did not stop cleanly.
    pub async fn stop(&mut self, grace: Duration) -> Vec<String> {
        // Signal all first, so they shut down in parallel.
        for node in &mut self.nodes {
            node.terminate();
        }
        let mut warnings = Vec::new();
        for node in &mut self.nodes {
            match node.stop(grace).await {
                // A node that had died already was reported as the lab's error.
                Stopped::Terminated(status) if !status.success() => warnings.push(format!(
                    "{} {} on shutdown; see {}",
                    node.name(),
                    describe_exit(status),
                    node.log().display()
                )),
                Stopped::Killed => warnings.push(format!(
                    "{} did not stop within {} s of SIGTERM and was killed",
                    node.name(),
                    grace.as_secs()
                )),
                _ => {}
            }
        }
        warnings
    }

    /// Kills every node at once (a second Ctrl-C while stopping).
    pub fn kill_all(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Kills what still runs, then removes the directory, or keeps it (`keep`) and returns
    /// its path.
    pub fn finish(mut self, keep: bool) -> std::io::Result<Option<PathBuf>> {
        self.kill_all();
        let Processes {
            nodes, workspace, ..
        } = self;
        drop(nodes);
        workspace.finish(keep)
    }
}

/// Waits for `node`'s API: its address file, then an answer to `node_info`.
async fn await_api(
    node: &mut ChildProcess,
    config: &NodeConfig,
) -> Result<(ApiClient, NodeInfo), LabError> {
    let started = Instant::now();
    loop {
        if let Some(status) = node.exited() {
            return Err(LabError::failed(format!(
                "{} {} while starting; the last lines of its log {}:\n{}",
                node.name(),
                describe_exit(status),
                node.log().display(),
                node.log_tail(TAIL_LINES)
            )));
        }
        // The address file may be half-written or the server not yet accepting: both
        // clear up within moments, so any failure here just means "not yet".
        let problem = match ApiClient::from_config(config) {
            Ok(client) => match client.call::<NodeInfo>("node_info", Value::Null).await {
                Ok(info) => return Ok((client, info)),
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        if started.elapsed() > START_TIMEOUT {
            return Err(LabError::failed(format!(
                "{} did not answer on its API within {} s ({problem}); the last lines \
                 of its log {}:\n{}",
                node.name(),
                START_TIMEOUT.as_secs(),
                node.log().display(),
                node.log_tail(TAIL_LINES)
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}
