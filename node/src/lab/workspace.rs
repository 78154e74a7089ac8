//! A lab's temporary directory: `<dir>/<name>/node.toml` and `<dir>/<name>/data` per node,
//! `<dir>/<name>.log` for a node that runs as a child process, and the sim-chain ledger every
//! node shares, `<dir>/ledger`. Removed when dropped, or kept for inspection by [`finish`].
//!
//! [`finish`]: Workspace::finish

use super::config::{node_config_text, NodeSettings};
use super::LabError;
use crate::config::NodeConfig;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The directory of one lab.
#[derive(Debug)]
pub struct Workspace {
    dir: TempDir,
}

impl Workspace {
    /// A fresh directory under the system's temporary directory (`$TMPDIR`), its name starting
    /// with `prefix`.
    pub fn create(prefix: &str) -> std::io::Result<Workspace> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        Ok(Workspace { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory of node `name`: its `node.toml` and its data directory, `data`.
    pub fn node_dir(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// The sim-chain ledger every node of the lab shares.
    pub fn ledger(&self) -> PathBuf {
        self.path().join("ledger")
    }

    /// Where node `name` logs when it runs as a child process.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.path().join(format!("{name}.log"))
    }

    /// Writes `<dir>/<name>/node.toml` for a node with the plugins of `base` and `settings`,
    /// checked by the node's own parser before it is written, and returns it parsed. The node
    /// directory is owner-only: the node key will be in it.
    pub fn write_config(
        &self,
        name: &str,
        base: &NodeConfig,
        settings: &NodeSettings,
    ) -> Result<NodeConfig, LabError> {
        let dir = self.node_dir(name);
        crate::data_dir_lock::create_private_dir(&dir)
            .map_err(|e| LabError::failed(format!("cannot create {}: {e}", dir.display())))?;
        let file = dir.join("node.toml");
        let text = node_config_text(base, &dir.join("data"), &self.ledger(), settings)?;
        let config = NodeConfig::parse(&text, &file).map_err(|e| {
            LabError::failed(format!(
                "the lab's config for node {name}, built from {}, is refused: {e}",
                base.file.display()
            ))
        })?;
        std::fs::write(&file, text)
            .map_err(|e| LabError::failed(format!("cannot write {}: {e}", file.display())))?;
        Ok(config)
    }

    /// Removes the directory, or keeps it (`keep`) and returns its path. Whatever ran from it
    /// must have stopped.
    pub fn finish(self, keep: bool) -> std::io::Result<Option<PathBuf>> {
        if keep {
            return Ok(Some(self.dir.keep()));
        }
        self.dir.close()?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_removes_the_directory_or_keeps_it() {
        let workspace = Workspace::create("parley-lab-test-").unwrap();
        let path = workspace.path().to_path_buf();
        std::fs::write(workspace.log_path("alice"), "x").unwrap();
        assert_eq!(workspace.finish(false).unwrap(), None);
        assert!(!path.exists());

        let workspace = Workspace::create("parley-lab-test-").unwrap();
        let kept = workspace.finish(true).unwrap().unwrap();
        assert!(kept.is_dir());
        std::fs::remove_dir_all(kept).unwrap();
    }
}
