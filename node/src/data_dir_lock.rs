//! One node process per data directory.
//!
//! Two nodes on one data directory would share a key, a store and `api.addr`: they fight over
//! the same peers and each would sign states the other does not know. A node therefore holds an
//! exclusive advisory lock (`flock(2)`) on `<data_dir>/node.lock` for as long as it runs, taken
//! before it writes anything. The operating system releases the lock when the process ends,
//! however it ends (`kill -9` included), so a crash never leaves a stale lock behind; the file
//! itself stays and only says which process last held it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "node.lock";

/// The exclusive lock on a data directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    // Holding the open file is holding the lock: flock belongs to the open file description.
    _file: File,
    path: PathBuf,
}

/// Why the data directory could not be locked.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "another parley node is already running ({holder}) on the data directory {dir}; stop \
         it first, or give this node its own `data_dir` in [node]",
        holder = match .pid { Some(pid) => format!("pid {pid}"), None => "pid unknown".into() },
        dir = .dir.display()
    )]
    AlreadyRunning {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, as it wrote it into the lock file.
        pid: Option<u32>,
    },
    /// The directory or the lock file could not be created or locked.
    #[error("cannot lock the data directory {dir}: {source}", dir = .dir.display())]
    Io {
        /// The data directory.
        dir: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl DataDirLock {
    /// Creates `dir` (owner-only) if it is missing and takes its lock without waiting, writing
    /// this process's id into the lock file. Fails with [`LockError::AlreadyRunning`] while
    /// another open of the lock file (in this process or another) holds it; nothing in `dir`
    /// is changed then.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let io_error = |source| LockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        create_private_dir(dir).map_err(io_error)?;
        let path = dir.join(LOCK_FILE);
        // No truncation on open: the holder's pid stays readable until we hold the lock.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        if !try_lock_exclusive(&file).map_err(io_error)? {
            return Err(LockError::AlreadyRunning {
                dir: dir.to_path_buf(),
                pid: holder_pid(&mut file),
            });
        }
        write_pid(&mut file).map_err(io_error)?;
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds the lock of data directory `dir`, without taking it for more than a moment and
/// without writing anything: `None` if no process holds it (no node runs there), else
/// `Some(pid)` with the pid the holder wrote (`None` inside if it could not be read).
pub fn holder(dir: &Path) -> io::Result<Option<Option<u32>>> {
    let path = dir.join(LOCK_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    if try_lock_exclusive(&file)? {
        // Free: nobody runs here. Closing the file releases the lock at once.
        return Ok(None);
    }
    Ok(Some(holder_pid(&mut file)))
}

/// Creates `dir` (and its parents) readable by the owner only, as a directory that will hold
/// keys must be; an existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn write_pid(file: &mut File) -> io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

/// The pid the holder wrote. It writes it right after taking the lock, so a loser that reads
/// in between sees an empty file: a few short retries cover that window.
fn holder_pid(file: &mut File) -> Option<u32> {
    for _ in 0..10 {
        let mut text = String::new();
        if file.rewind().is_ok() && file.read_to_string(&mut text).is_ok() {
            if let Ok(pid) = text.trim().parse() {
                return Some(pid);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// `flock(2)`'s operations, the same numbers on Linux and the BSDs.
const LOCK_EX: i32 = 2;
const LOCK_NB: i32 = 4;

extern "C" {
    /// `flock(2)`, from the C library the standard library links anyway. (`File::try_lock`
    /// does the same from Rust 1.89; the workspace's minimum is 1.85.)
    fn flock(fd: i32, operation: i32) -> i32;
}

/// Takes an exclusive lock without waiting: `Ok(false)` if someone else holds it.
fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    // SAFETY: flock(2) takes a descriptor we own for the duration of the call and an integer;
    // it touches no memory of ours.
    let result = unsafe { flock(file.as_raw_fd(), LOCK_EX | LOCK_NB) };
    if result == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_pid_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DataDirLock::acquire(&data).unwrap();
        assert_eq!(
            std::fs::read_to_string(first.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
        let error = DataDirLock::acquire(&data).unwrap_err();
        match &error {
            LockError::AlreadyRunning { dir, pid } => {
                assert_eq!(dir, &data);
                assert_eq!(*pid, Some(std::process::id()));
            }
            other => panic!("expected AlreadyRunning, got {other}"),
        }
        let text = error.to_string();
        assert!(text.contains("already running"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains(&data.display().to_string()), "{text}");
        drop(first);
        DataDirLock::acquire(&data).expect("the lock is free once its holder is gone");
    }

    #[test]
    fn the_holder_is_read_without_taking_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            holder(dir.path()).unwrap(),
            None,
            "no lock file: nobody runs"
        );
        let lock = DataDirLock::acquire(dir.path()).unwrap();
        assert_eq!(holder(dir.path()).unwrap(), Some(Some(std::process::id())));
        drop(lock);
        assert_eq!(holder(dir.path()).unwrap(), None, "released: nobody runs");
        // Looking did not take it: a node can start.
        DataDirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn the_directory_is_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/b");
        let _lock = DataDirLock::acquire(&data).unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
