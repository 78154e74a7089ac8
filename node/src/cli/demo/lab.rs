//! The demo's workspace: a temporary directory holding one directory per node (its `node.toml`
//! and data), the shared sim-chain ledger and the nodes' logs, and the `parley run` processes
//! started from it.
//!
//! The processes are fields of [`Lab`] declared before the directory, so on every way out
//! (including a panic) they are killed before their files are removed.

use super::process::{describe_exit, ChildProcess, Stopped};
use crate::api::client::ApiClient;
use crate::api::types::NodeInfo;
use crate::cli::CliError;
use crate::config::NodeConfig;
use parley_plugin_api::model::Amount;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a node may take from spawn to answering its API (a debug build loading three
/// plugins and creating its keys takes about a second).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How many log lines an error shows.
const TAIL_LINES: usize = 15;

/// How often the watchdog and the start-up wait look at the processes.
const POLL: Duration = Duration::from_millis(25);

/// Which peer a node accepts channel proposals from on its own, and up to what deposit.
#[derive(Debug, Clone)]
pub struct AutoAccept {
    /// The proposer's node id.
    pub from: String,
    /// The most this node deposits into such a channel.
    pub max_deposit: Amount,
}

/// A node that answers its API.
#[derive(Debug, Clone)]
pub struct StartedNode {
    /// `alice` or `bob`.
    pub name: &'static str,
    /// Its API client (shared by the payment tasks).
    pub client: Arc<ApiClient>,
    /// What `node_info` said.
    pub info: NodeInfo,
    /// The process id.
    pub pid: u32,
}

/// The temporary directory and the nodes running from it.
pub struct Lab {
    /// Declared before `dir`: dropped (killed) first.
    nodes: Vec<ChildProcess>,
    dir: TempDir,
}

impl Lab {
    /// A fresh temporary directory for the demo.
    pub fn create() -> Result<Lab, CliError> {
        let dir = tempfile::Builder::new()
            .prefix("parley-demo-")
            .tempdir()
            .map_err(|e| {
                CliError::new(format!(
                    "cannot create a temporary directory for the demo in {}: {e}; set TMPDIR \
                     to a writable directory",
                    std::env::temp_dir().display()
                ))
            })?;
        Ok(Lab {
            nodes: Vec::new(),
            dir,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where the node `name` logs.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.path().join(format!("{name}.log"))
    }

    /// Writes the config of node `name`, starts `parley run` on it and waits until its API
    /// answers. An exit or a timeout on the way is an error showing the end of its log.
    pub async fn start(
        &mut self,
        name: &'static str,
        accept: Option<&AutoAccept>,
    ) -> Result<StartedNode, CliError> {
        let config = self.write_config(name, accept)?;
        let exe = std::env::current_exe().map_err(|e| {
            CliError::new(format!(
                "cannot find the parley binary to start the nodes with: {e}"
            ))
        })?;
        let mut command = Command::new(&exe);
        command.arg("run").arg("--config").arg(&config.file);
        // A process group of its own: Ctrl-C in the terminal reaches only the demo, which then
        // stops the nodes in order instead of racing their own shutdown.
        command.process_group(0);
        let log = self.log_path(name);
        let mut child = ChildProcess::spawn(name, command, &log)
            .map_err(|e| CliError::new(format!("cannot start {name} ({}): {e}", exe.display())))?;
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

    /// `<dir>/<name>/node.toml`, checked by the node's own parser before it is written.
    fn write_config(
        &self,
        name: &str,
        accept: Option<&AutoAccept>,
    ) -> Result<NodeConfig, CliError> {
        let dir = self.path().join(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
        let file = dir.join("node.toml");
        let text = config_text(&self.path().join("ledger"), accept);
        let config = NodeConfig::parse(&text, &file)?;
        std::fs::write(&file, text)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())))?;
        Ok(config)
    }

    /// Completes, with the error to report, as soon as any node exits on its own.
    pub async fn watch(&mut self) -> CliError {
        loop {
            if let Some(error) = self.death_report() {
                return error;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The error for a node that has exited, if one has.
    fn death_report(&mut self) -> Option<CliError> {
        self.nodes.iter_mut().find_map(|node| {
            node.exited().map(|status| {
                CliError::new(format!(
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

    /// `error`, explained by a node's death if one died: the failed call may come a few
    /// milliseconds before the exit can be seen, so this waits briefly for one.
    pub async fn explain(&mut self, error: CliError) -> CliError {
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            if let Some(death) = self.death_report() {
                return CliError::new(format!("{death}\n(the demo was at: {error})"));
            }
            if Instant::now() >= deadline {
                return error;
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
                // A node that had died already was reported as the demo's error.
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

    /// Kills what still runs, then removes the directory, or keeps it and returns its path.
    pub fn finish(mut self, keep: bool) -> Result<Option<PathBuf>, CliError> {
        self.kill_all();
        let Lab { nodes, dir } = self;
        drop(nodes);
        if keep {
            return Ok(Some(dir.keep()));
        }
        let path = dir.path().to_path_buf();
        dir.close().map_err(|e| {
            CliError::new(format!(
                "cannot remove the demo's directory {}: {e}; remove it by hand",
                path.display()
            ))
        })?;
        Ok(None)
    }
}

/// Waits for `node`'s API: its address file, then an answer to `node_info`.
async fn await_api(
    node: &mut ChildProcess,
    config: &NodeConfig,
) -> Result<(ApiClient, NodeInfo), CliError> {
    let started = Instant::now();
    loop {
        if let Some(status) = node.exited() {
            return Err(CliError::new(format!(
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
            return Err(CliError::new(format!(
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

/// A TOML string literal (quoted and escaped).
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// A demo node's config: the built-in plugins, every port picked by the OS, the shared
/// ledger, and for the accepting side a policy naming the proposer.
fn config_text(ledger: &Path, accept: Option<&AutoAccept>) -> String {
    let policy = match accept {
        Some(accept) => format!(
            "\n[policy]\n# Accept channels from the demo's other node, up to this deposit.\n\
             auto_accept_from = [{}]\nmax_auto_deposit = {}\n",
            quoted(&accept.from),
            quoted(&accept.max_deposit.to_string())
        ),
        None => String::new(),
    };
    format!(
        r#"# A node of `parley demo`, written for one run. Relative paths are relative to this file.

[node]
data_dir = "data"
log_level = "info"
log_format = "text"

[api]
listen = "127.0.0.1:0"
{policy}
[chain]
plugin = "sim-chain"
ledger = {ledger}  # shared by both nodes of the demo

[wire]
plugin = "quic"
listen = "127.0.0.1:0"

[store]
plugin = "lmdb"
"#,
        ledger = quoted(&ledger.display().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configs_load_and_only_the_accepting_side_has_a_policy() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("led\"ger");
        let plain = NodeConfig::parse(&config_text(&ledger, None), &dir.path().join("a/node.toml"))
            .unwrap();
        assert!(plain.policy.auto_accept_from.is_empty());
        assert_eq!(plain.node.data_dir, dir.path().join("a/data"));
        let table: toml::Table = toml::from_str(&plain.chain.table).unwrap();
        assert_eq!(
            table["ledger"].as_str().unwrap(),
            ledger.display().to_string()
        );

        let accept = AutoAccept {
            from: "0x02ab".into(),
            max_deposit: Amount::from_u128(10u128.pow(21)),
        };
        let bob = NodeConfig::parse(
            &config_text(&ledger, Some(&accept)),
            &dir.path().join("b/node.toml"),
        )
        .unwrap();
        assert!(bob.policy.auto_accepts(None, "0x02ab"));
        assert!(!bob.policy.auto_accepts(Some("mallory"), "0x03cd"));
        assert_eq!(bob.policy.max_auto_deposit, accept.max_deposit);
    }

    #[tokio::test]
    async fn finish_removes_the_directory_or_keeps_it() {
        let lab = Lab::create().unwrap();
        let path = lab.path().to_path_buf();
        std::fs::write(lab.log_path("alice"), "x").unwrap();
        assert_eq!(lab.finish(false).unwrap(), None);
        assert!(!path.exists());

        let lab = Lab::create().unwrap();
        let kept = lab.finish(true).unwrap().unwrap();
        assert!(kept.is_dir());
        std::fs::remove_dir_all(kept).unwrap();
    }
}
