//! Files that hold secrets (the node key, the API token): created owner-only (0600), never
//! overwritten, and refused when group or others can read them.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// The permission bits of `path` if group or others have any access to it, else `None`.
pub fn exposed_mode(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        fs::metadata(path).map(|_| None)
    }
}

/// Creates `path` (and its parent directories) with mode 0600 holding `contents`, synced to
/// disk. Returns `Ok(false)` without touching anything if the file already exists, for example
/// because another process created it first: the caller then reads that one.
pub fn create_private(path: &Path, contents: &[u8]) -> io::Result<bool> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(contents)?;
            file.sync_all()?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_owner_only_once_and_reports_exposure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret");
        assert!(create_private(&path, b"one").unwrap());
        assert!(
            !create_private(&path, b"two").unwrap(),
            "an existing file is never replaced"
        );
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(exposed_mode(&path).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
            assert_eq!(exposed_mode(&path).unwrap(), Some(0o640));
        }
    }
}
