//! Which library a `plugin = "..."` key names.

use std::path::{Path, PathBuf};

/// The environment variable that overrides where bare plugin names are looked up.
pub const PLUGIN_DIR_ENV: &str = "PARLEY_PLUGIN_DIR";

/// A `plugin` value: a bare name resolved next to the `parley` binary, or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef {
    /// A bare name like `lmdb`: the library `libparley_lmdb.so` in the plugin directory.
    Name(String),
    /// A path to a library file, absolute (relative values are taken from node.toml's dir).
    Path(PathBuf),
}

impl PluginRef {
    /// Parses a `plugin` value. A value with a `/` or a file extension is a path.
    pub fn parse(value: &str, base: &Path) -> Result<PluginRef, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err(
                "is empty; expected a plugin name like \"lmdb\" or a path to a plugin library"
                    .into(),
            );
        }
        let looks_like_path = value.contains('/') || value.contains('.');
        if looks_like_path {
            let path = Path::new(value);
            Ok(PluginRef::Path(if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            }))
        } else if value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            Ok(PluginRef::Name(value.to_string()))
        } else {
            Err(format!(
                "`{value}` is neither a plugin name (letters, digits, - and _) nor a path"
            ))
        }
    }

    /// The file this reference names. Bare names are looked up in `$PARLEY_PLUGIN_DIR`, else in
    /// the directory of the running executable (and its parent, for test binaries that cargo
    /// puts in `deps/`).
    pub fn resolve(&self) -> PathBuf {
        match self {
            PluginRef::Path(path) => path.clone(),
            PluginRef::Name(name) => {
                let file = library_file_name(name);
                let candidates = plugin_dirs();
                candidates
                    .iter()
                    .map(|dir| dir.join(&file))
                    .find(|p| p.exists())
                    .unwrap_or_else(|| candidates.first().cloned().unwrap_or_default().join(&file))
            }
        }
    }
}

/// `lmdb` → `libparley_lmdb.so` (the file cargo builds for the crate `parley-plugin-lmdb`).
pub fn library_file_name(name: &str) -> String {
    format!(
        "{}parley_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

fn plugin_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(PLUGIN_DIR_ENV) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        if exe_dir.file_name().is_some_and(|n| n == "deps") {
            if let Some(parent) = exe_dir.parent() {
                dirs.push(parent.to_path_buf());
            }
        }
        dirs.push(exe_dir);
    }
    dirs
}
