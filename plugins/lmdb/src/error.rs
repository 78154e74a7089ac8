//! Turns heed and LMDB failures into [`PluginError`]s that say what failed, where, and how to
//! fix it, with the [`ErrorKind`] the node acts on.

use crate::config::Settings;
use heed::MdbError;
use parley_plugin_api::{ErrorKind, PluginError};
use std::io;
use std::path::Path;

/// A failure while creating or opening the environment at `path` (the constructor).
pub fn open_error(settings: &Settings, path: &Path, error: heed::Error) -> PluginError {
    let section = &settings.section;
    let shown = path.display();
    match error {
        heed::Error::Io(io) => match io.kind() {
            io::ErrorKind::OutOfMemory => PluginError::config(format!(
                "cannot map the LMDB store at {shown}: map_size_mib = {} is more address space \
                 than this system grants; lower map_size_mib in [{section}]",
                settings.map_size_mib()
            )),
            kind => PluginError::new(
                io_kind(kind),
                format!(
                    "cannot open the LMDB store at {shown}: {io}{}",
                    path_hint(kind, section)
                ),
            ),
        },
        heed::Error::Mdb(MdbError::Invalid) => PluginError::config(format!(
            "{shown} holds a data.mdb that is not an LMDB environment; point path in [{section}] \
             at another directory"
        )),
        heed::Error::Mdb(MdbError::VersionMismatch) => PluginError::config(format!(
            "the LMDB store at {shown} was written by an incompatible LMDB version"
        )),
        heed::Error::EnvAlreadyOpened => PluginError::config(format!(
            "the LMDB store at {shown} is already open in this process with other options; \
             give each store instance its own path in [{section}]"
        )),
        other => PluginError::new(
            mdb_kind(&other),
            format!("cannot open the LMDB store at {shown}: {other}"),
        ),
    }
}

/// A failure of `what` ("commit", "get", "scan") on the open store.
pub fn store_error(
    settings: &Settings,
    path: &Path,
    what: &str,
    error: heed::Error,
) -> PluginError {
    let shown = path.display();
    let section = &settings.section;
    let message = match &error {
        heed::Error::Mdb(MdbError::MapFull) => format!(
            "store {what} failed: the LMDB store at {shown} is full (map_size_mib = {}); raise \
             map_size_mib in [{section}] and restart",
            settings.map_size_mib()
        ),
        heed::Error::Mdb(MdbError::ReadersFull) => format!(
            "store {what} failed: too many concurrent readers of the LMDB store at {shown}; raise \
             max_readers in [{section}]"
        ),
        heed::Error::Mdb(MdbError::TxnFull) => format!(
            "store {what} failed: the batch is too large for one LMDB transaction; commit it in \
             smaller batches"
        ),
        heed::Error::Mdb(MdbError::MapResized) => format!(
            "store {what} failed: another process grew the LMDB store at {shown}; restart to \
             map the new size"
        ),
        // A full disk fails the page writes of a commit (ENOSPC): LMDB aborts that transaction
        // and the environment stays usable, so the next commit works once there is space
        // (`tests/scenarios/disk_full.sh`). Only a failed write of the meta page poisons it.
        heed::Error::Mdb(MdbError::Panic) => format!(
            "store {what} failed: LMDB stopped the store at {shown} after a write to it failed \
             (MDB_PANIC); nothing since the last successful commit was written, and LMDB \
             accepts no more writes in this process: free the disk or fix it, then restart the \
             node to reopen the store"
        ),
        heed::Error::Mdb(MdbError::Corrupted | MdbError::PageNotFound | MdbError::Invalid) => {
            format!(
                "store {what} failed: LMDB reports the store at {shown} as damaged ({error}); \
             restore it from a backup"
            )
        }
        heed::Error::Io(io) => format!("store {what} failed: disk error at {shown}: {io}"),
        other => format!("store {what} failed on the LMDB store at {shown}: {other}"),
    };
    PluginError::new(mdb_kind(&error), message)
}

/// The kind for an LMDB failure on an open store.
fn mdb_kind(error: &heed::Error) -> ErrorKind {
    match error {
        heed::Error::Io(io) => io_kind(io.kind()),
        heed::Error::Mdb(MdbError::BadValSize | MdbError::TxnFull) => ErrorKind::InvalidArgument,
        heed::Error::Mdb(
            MdbError::MapFull
            | MdbError::ReadersFull
            | MdbError::MapResized
            | MdbError::Corrupted
            | MdbError::PageNotFound
            | MdbError::Panic
            | MdbError::Invalid,
        ) => ErrorKind::Unavailable,
        heed::Error::EnvAlreadyOpened => ErrorKind::InvalidConfig,
        _ => ErrorKind::Internal,
    }
}

/// File-system failures the operator fixes in `node.toml` are configuration errors; the rest
/// (a full or failing disk) are the resource being unavailable.
pub fn io_kind(kind: io::ErrorKind) -> ErrorKind {
    match kind {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::NotADirectory
        | io::ErrorKind::AlreadyExists
        | io::ErrorKind::ReadOnlyFilesystem
        | io::ErrorKind::InvalidInput
        | io::ErrorKind::NotFound => ErrorKind::InvalidConfig,
        _ => ErrorKind::Unavailable,
    }
}

/// A hint appended to file-system errors that the operator fixes by choosing another path.
pub fn path_hint(kind: io::ErrorKind, section: &str) -> String {
    if io_kind(kind) == ErrorKind::InvalidConfig {
        format!("; set path in [{section}] to a writable directory")
    } else {
        String::new()
    }
}
